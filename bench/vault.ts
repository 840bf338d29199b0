/**
 * bench/vault: N nights of one site mirrored into a plain folder (`--to DIR`, the baseline) and into a
 * vault (`--restic REPO`), on the sandbox's evolving nights (sandbox/lib/evolving.js: ~1 GB of media, 1-3 %
 * of the files changed or added a night; a ~100 MB SQL dump with a few rows rewritten and rows appended).
 * Run by hand, never in tests:
 *
 *   node --import tsx bench/vault.ts [--nights 30] [--restore-night 17] [--files-mb 1000] [--db-mb 100]
 *   node --import tsx bench/vault.ts --quick      # 4 nights of 40 MB + 4 MB: a short run of the bench itself
 *
 * Each night: the sandbox moves to that night (its archives hashed first, untimed), then the built pbm runs
 * `backup:mirror --site shop --env live` into the folder and into the vault (which one goes first
 * alternates), each timed, with its CPU (pbm and its children, /usr/bin/time); pbm's peak RSS is its own
 * process' VmHWM (read from /proc while it runs), restic's peak RSS and CPU come from `/usr/bin/time`
 * around every restic pbm starts (a --restic-bin wrapper). After
 * the last night: bytes stored (`du -sb` of the folder and of the repository), then the restore of
 * one night: `restic dump` of its data snapshots, whose SHA-256 must equal the sandbox's content and
 * pbm's completion record, and `pbm backup:restore --restic --output`, whose archives gunzip to it. Goals: the vault stores >= 10x less; a night takes <= 1.5x the folder's.
 * Exits 1 if a run failed, an archive is missing, or the restored content differs.
 */
import {execa} from 'execa'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {chmod, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {cpus, freemem, loadavg, tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {createSandbox, type SandboxArchive} from '../sandbox/index.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const MB = 1_000_000
const SITE = 'shop'
const ENV = 'live'

const {values} = parseArgs({
  options: {
    concurrency: {default: '4', type: 'string'},
    'db-mb': {type: 'string'},
    'files-mb': {type: 'string'},
    nights: {type: 'string'},
    quick: {default: false, type: 'boolean'},
    restic: {default: '/usr/bin/restic', type: 'string'},
    'restore-night': {type: 'string'},
    seed: {default: 'bench-vault', type: 'string'},
  },
})

interface Run {
  /** CPU seconds (user + system) of pbm and every process it started (restic included). */
  cpuSeconds?: number
  exitCode: number
  output: string
  pbmRssMb?: number
  /** CPU seconds of the restic processes of this run. */
  resticCpuSeconds: number
  seconds: number
}

await bench()

async function bench(): Promise<void> {
  const {quick} = values
  const nights = Number(values.nights ?? (quick ? 4 : 30))
  const restoreNight = Number(values['restore-night'] ?? Math.min(17, nights))
  const filesBytes = Number(values['files-mb'] ?? (quick ? 40 : 1000)) * MB
  const databaseBytes = Number(values['db-mb'] ?? (quick ? 4 : 100)) * MB
  const {concurrency} = values
  if (!(restoreNight >= 1 && restoreNight <= nights)) throw new Error('bench/vault: --restore-night must be 1..nights')

  const build = await execa('npx', ['tsc', '-b'], {cwd: ROOT, reject: false, stdio: 'inherit'})
  if (build.exitCode !== 0) {
    console.error(`bench/vault: the build (npx tsc -b) failed with exit ${build.exitCode}; nothing was measured.`)
    process.exitCode = 1
    return
  }

  const {restic} = values
  const version = await execa(restic, ['version'], {reject: false})
  if (version.exitCode !== 0) {
    console.error(`bench/vault: ${restic} does not run (${version.stderr || version.exitCode}); install restic.`)
    process.exitCode = 1
    return
  }

  const work = await mkdtemp(path.join(tmpdir(), 'pbm-bench-vault-'))
  const folder = path.join(work, 'mirror')
  const repo = path.join(work, 'vault')
  const passwordFile = path.join(work, 'password')
  const resticRss = path.join(work, 'restic.rss')
  const resticBin = path.join(work, 'restic-timed')
  await writeFile(passwordFile, 'bench-vault-password\n', {mode: 0o600})
  // Every restic pbm starts, under GNU time: its peak RSS appended to restic.rss.
  await writeFile(resticBin, `#!/bin/sh\nexec /usr/bin/time -a -f '%M %U %S' -o '${resticRss}' '${restic}' "$@"\n`)
  await chmod(resticBin, 0o755)
  const resticEnv = {RESTIC_PASSWORD_FILE: passwordFile}
  const sandbox = await createSandbox({
    sites: [{envs: [{evolving: {databaseBytes, filesBytes, seed: values.seed}, name: ENV}], name: SITE}],
  })
  let ok = true
  const problems: string[] = []
  try {
    await execa(restic, ['init', '--repo', repo], {env: resticEnv})
    console.log(
      `bench/vault: ${nights} nights of ${SITE}.${ENV} (media ~${filesBytes / MB} MB, 1-3 % of files changed or ` +
        `added a night; SQL dump ~${databaseBytes / MB} MB), pbm --concurrency ${concurrency}; ` +
        `${version.stdout.trim()}; restore of night ${restoreNight}`,
    )
    const loadBefore = machineState()
    console.log(`machine: ${loadBefore}\n`)
    const perNight: Array<{folder: Run; night: number; vault: Run}> = []
    const pbmArgs = ['backup:mirror', '--site', SITE, '--env', ENV, '--concurrency', concurrency]
    for (let night = 1; night <= nights; night++) {
      const listed = await sandbox.setNight(SITE, ENV, night)
      // Hashed now, untimed: past 64 MiB the sandbox would hash on the first full response instead.
      for (const a of listed) if (!a.md5) throw new Error(`bench/vault: no MD5 for ${a.file}`)
      const runFolder = () => runPbm([...pbmArgs, '--to', folder], `night${night}-folder`)
      const runVault = () =>
        runPbm([...pbmArgs, '--restic', repo, '--restic-bin', resticBin], `night${night}-vault`, resticEnv)
      let f: Run
      let v: Run
      if (night % 2 === 1) {
        f = await runFolder()
        v = await runVault()
      } else {
        v = await runVault()
        f = await runFolder()
      }

      for (const [label, r] of [
        ['folder', f],
        ['vault', v],
      ] as const) {
        if (r.exitCode !== 0) {
          ok = false
          problems.push(`night ${night} ${label}: pbm exited ${r.exitCode}: ${tail(r.output, 5)}`)
        }
      }

      perNight.push({folder: f, night, vault: v})
      console.log(
        `night ${String(night).padStart(2)}: folder ${f.seconds.toFixed(1)} s (CPU ${cpu(f)}), ` +
          `vault ${v.seconds.toFixed(1)} s (CPU ${cpu(v)}, restic ${v.resticCpuSeconds.toFixed(1)} s) ` +
          `(${(v.seconds / f.seconds).toFixed(2)}x); ${machineState()}`,
      )
    }

    const loadAfter = machineState()
    // What each holds: every night's three archives, in the folder byte for byte (size), in the vault as
    // snapshots with completion records.
    const archives = sandbox.archives()
    const folderFiles = await listFiles(folder)
    const missing = archives.filter((a) => folderFiles.get(a.file) !== a.size)
    if (missing.length > 0) {
      ok = false
      problems.push(`folder: ${missing.length} archives missing or of the wrong size (${missing[0].file} ...)`)
    }

    const snapshots = JSON.parse(
      (await execa(restic, ['snapshots', '--json', '--repo', repo], {env: resticEnv})).stdout,
    ) as Array<{id: string; paths: string[]; tags?: string[]}>
    const tag = (s: {tags?: string[]}, name: string) =>
      s.tags?.find((t) => t.startsWith(`${name}=`))?.slice(name.length + 1)
    const data = snapshots.filter((s) => s.tags?.includes('pbm') && !s.tags.includes('pbm-record'))
    const records = snapshots.filter((s) => s.tags?.includes('pbm-record'))
    const inVault = archives.filter(
      (a) =>
        data.some((s) => tag(s, 'file') === a.file) &&
        records.some((r) => tag(r, 'file') === a.file && tag(r, 'sha256')),
    )
    if (inVault.length !== archives.length) {
      ok = false
      problems.push(`vault: ${inVault.length} of ${archives.length} archives have a snapshot and a record`)
    }

    const folderBytes = await du(folder)
    const vaultBytes = await du(repo)

    // The restore: each data snapshot of the night, dumped, hashed, against the sandbox's content.
    const restored: string[] = []
    const restoreStart = performance.now()
    for (const a of archives.filter((x) => x.file.includes(nightStamp(restoreNight)) && x.element !== 'code')) {
      const snapshot = data.find((s) => tag(s, 'file') === a.file)
      const record = records.find((r) => tag(r, 'file') === a.file)
      if (!snapshot || !record) continue
      const dumped = await sha256Of(
        execa(restic, ['dump', '--repo', repo, snapshot.id, snapshot.paths[0]], {
          buffer: false,
          env: resticEnv,
        }),
      )
      const expected = contentSha256(sandbox, a)
      const same = dumped === expected && dumped === tag(record, 'sha256')
      restored.push(`${a.element} ${same ? 'equal' : 'DIFFERS'}`)
      if (!same) {
        ok = false
        problems.push(`restore of ${a.file}: sha256 ${dumped}, sandbox ${expected}, record ${tag(record, 'sha256')}`)
      }
    }

    const restoreSeconds = (performance.now() - restoreStart) / 1000
    // And through pbm: backup:restore --restic --output writes the night's archives (gzip made on the
    // fly), whose gunzipped content must be the sandbox's.
    const restoreDir = path.join(work, 'restored')
    const night17 = archives.filter((x) => x.file.includes(nightStamp(restoreNight)) && x.element !== 'code')
    const pbmRestore = await runPbm(
      [
        'backup:restore',
        '--from',
        `${SITE}.${ENV}`,
        ...night17.flatMap((a) => ['--file', a.file]),
        '--restic',
        repo,
        '--restic-bin',
        resticBin,
        '--output',
        restoreDir + '/',
      ],
      'restore',
      resticEnv,
    )
    for (const a of night17) {
      const out = path.join(restoreDir, a.file)
      const got = existsSync(out) ? await sha256Of(execa('gzip', ['-dc', out], {buffer: false})) : 'missing'
      const same = pbmRestore.exitCode === 0 && got === contentSha256(sandbox, a)
      restored.push(`pbm ${a.element} ${same ? 'equal' : 'DIFFERS'}`)
      if (!same) {
        ok = false
        problems.push(
          `backup:restore --output ${a.file}: exit ${pbmRestore.exitCode}, sha256 ${got}: ${tail(pbmRestore.output, 3)}`,
        )
      }
    }

    if (restored.length !== 4) {
      ok = false
      problems.push(
        `restore of night ${restoreNight}: ${restored.length} of 4 checks made (2 by restic dump, 2 by pbm)`,
      )
    }

    // The numbers.
    const later = perNight.filter((n) => n.night > 1)
    const ratios = later.map((n) => n.vault.seconds / n.folder.seconds)
    const resticPeaks = (await resticLines()).map((l) => l.rssKb)
    const mb = (kb: number | undefined) => (kb === undefined ? '?' : `${(kb / 1024).toFixed(0)} MB`)
    const peak = (runs: Run[]) => Math.max(...runs.map((r) => r.pbmRssMb ?? 0))
    const rows = [
      ['', 'plain mirror (--to)', 'vault (--restic)', 'vault/plain'],
      [
        `stored after ${nights} nights`,
        gb(folderBytes),
        gb(vaultBytes),
        `${(vaultBytes / folderBytes).toFixed(3)} (${(folderBytes / vaultBytes).toFixed(1)}x less)`,
      ],
      [
        'night 1 (full)',
        `${perNight[0].folder.seconds.toFixed(1)} s`,
        `${perNight[0].vault.seconds.toFixed(1)} s`,
        (perNight[0].vault.seconds / perNight[0].folder.seconds).toFixed(2),
      ],
      ...(later.length > 0
        ? [
            [
              `nights 2-${nights}, median`,
              `${median(later.map((n) => n.folder.seconds)).toFixed(1)} s`,
              `${median(later.map((n) => n.vault.seconds)).toFixed(1)} s`,
              `${median(ratios).toFixed(2)} (max ${Math.max(...ratios).toFixed(2)})`,
            ],
          ]
        : []),
      ...(later.length > 0
        ? [
            [
              `CPU a night, nights 2-${nights}, median`,
              `${median(later.map((n) => n.folder.cpuSeconds ?? Number.NaN)).toFixed(1)} s`,
              `${median(later.map((n) => n.vault.cpuSeconds ?? Number.NaN)).toFixed(1)} s (restic ${median(later.map((n) => n.vault.resticCpuSeconds)).toFixed(1)} s)`,
              median(
                later.map((n) => (n.vault.cpuSeconds ?? Number.NaN) / (n.folder.cpuSeconds ?? Number.NaN)),
              ).toFixed(2),
            ],
          ]
        : []),
      [
        'peak RSS of pbm',
        `${peak(perNight.map((n) => n.folder)).toFixed(0)} MB`,
        `${peak(perNight.map((n) => n.vault)).toFixed(0)} MB`,
        '',
      ],
      ['peak RSS of restic', '', resticPeaks.length > 0 ? mb(Math.max(...resticPeaks)) : '?', ''],
      [
        `restore night ${restoreNight}`,
        '',
        `${restored.join(', ')} (dump ${restoreSeconds.toFixed(1)} s, pbm ${pbmRestore.seconds.toFixed(1)} s)`,
        '',
      ],
    ]
    console.log('')
    console.log(table(rows))
    console.log(`machine before: ${loadBefore}\nmachine after: ${loadAfter}`)
    const storeRatio = folderBytes / vaultBytes
    const timeRatio = later.length > 0 ? median(ratios) : perNight[0].vault.seconds / perNight[0].folder.seconds
    console.log(
      `\ngoals: vault stores >= 10x less: ${storeRatio.toFixed(1)}x ${storeRatio >= 10 ? 'met' : 'NOT met'}; ` +
        `a night <= 1.5x the plain mirror's: ${timeRatio.toFixed(2)}x (median) ${timeRatio <= 1.5 ? 'met' : 'NOT met'}`,
    )
    for (const problem of problems.slice(0, 10)) console.log(`  ! ${problem}`)
    console.log(`logs: ${work} (removed at exit unless PBM_BENCH_KEEP=1)`)
    if (!ok) process.exitCode = 1
  } finally {
    await sandbox.close()
    if (process.env.PBM_BENCH_KEEP === '1') console.log(`kept ${work}`)
    else await rm(work, {force: true, recursive: true})
  }

  /** What the restic wrapper recorded, one line per restic process: peak RSS (KB), CPU seconds. */
  async function resticLines(): Promise<Array<{cpu: number; rssKb: number}>> {
    const text = existsSync(resticRss) ? await readFile(resticRss, 'utf8') : ''
    return text
      .split('\n')
      .map((line) => /^(\d+) ([\d.]+) ([\d.]+)$/.exec(line))
      .filter((m) => m !== null)
      .map((m) => ({cpu: Number(m[2]) + Number(m[3]), rssKb: Number(m[1])}))
  }

  /**
   * One run of the built pbm, under GNU time for the CPU of pbm and its children; pbm's peak RSS is its
   * own VmHWM (restic's, a child, is not in it), read from /proc while it runs.
   */
  async function runPbm(args: string[], label: string, env: Record<string, string> = {}): Promise<Run> {
    const resticBefore = await resticLines()
    const timeFile = path.join(work, `${label}.time`)
    const t0 = performance.now()
    const node = [process.execPath, '--max-semi-space-size=1', path.join(ROOT, 'bin', 'run.js'), ...args]
    const child = execa('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, ...node], {
      all: true,
      env: {
        ...env,
        CI: 'true',
        NO_COLOR: '1',
        PBM_TERMINUS: sandbox.terminusPath,
      },
      reject: false,
    })
    let hwmKb = 0
    let nodePid: string | undefined
    const poll = setInterval(() => {
      try {
        nodePid ??=
          readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0] || undefined
        if (!nodePid) return
        const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${nodePid}/status`, 'utf8'))?.[1])
        if (kb > hwmKb) hwmKb = kb
      } catch {}
    }, 50)
    const r = await child
    clearInterval(poll)
    const seconds = (performance.now() - t0) / 1000
    const output = String(r.all)
    await writeFile(path.join(work, `${label}.log`), output)
    const cpu = /^([\d.]+) ([\d.]+)$/m.exec(existsSync(timeFile) ? await readFile(timeFile, 'utf8') : '')
    const resticCpuSeconds = (await resticLines()).slice(resticBefore.length).reduce((sum, l) => sum + l.cpu, 0)
    return {
      cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : undefined,
      exitCode: r.exitCode ?? -1,
      output,
      pbmRssMb: hwmKb > 0 ? hwmKb / 1024 : undefined,
      resticCpuSeconds,
      seconds,
    }
  }
}

function cpu(r: Run): string {
  return r.cpuSeconds === undefined ? '?' : `${r.cpuSeconds.toFixed(1)} s`
}

/** `YYYY-MM-DDT03-00-00` of a night, as in its filenames. */
function nightStamp(night: number): string {
  return new Date(Date.parse('2026-11-01T03:00:00Z') + (night - 1) * 86_400_000)
    .toISOString()
    .slice(0, 19)
    .replaceAll(':', '-')
}

function contentSha256(sandbox: {content(file: string): Generator<Buffer>}, a: SandboxArchive): string {
  const h = createHash('sha256')
  for (const chunk of sandbox.content(a.file)) h.update(chunk)
  return h.digest('hex')
}

async function sha256Of(child: ReturnType<typeof execa>): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of child.stdout!) h.update(chunk as Buffer)
  await child
  return h.digest('hex')
}

/** Every file under DIR (any depth): name -> size. */
async function listFiles(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const {stat} = await import('node:fs/promises')
  for (const entry of await readdir(dir, {recursive: true, withFileTypes: true})) {
    if (entry.isFile()) out.set(entry.name, (await stat(path.join(entry.parentPath ?? entry.path, entry.name))).size)
  }

  return out
}

async function du(dir: string): Promise<number> {
  return Number((await execa('du', ['-sb', dir])).stdout.split('\t')[0])
}

function gb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** Load average and free memory: the machine is shared, so every result says what state it ran in. */
function machineState(): string {
  const [one, five] = loadavg()
  return `load ${one.toFixed(1)} (1 min), ${five.toFixed(1)} (5 min) on ${cpus().length} cores; ${(freemem() / 1e9).toFixed(1)} GB free`
}

function tail(text: string, lines = 15): string {
  return text.split('\n').slice(-lines).join('\n')
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ')).join('\n')
}
