/**
 * bench/mirror: `pbm backup:mirror --create` against a faithful re-enactment of the seed script
 * (pantheon-backup-to-s3.sh, see bench/seed-script.sh), both on the sandbox with realistic Terminus
 * latency, for 4 sites × dev, live × code, files, db. Run by hand, never in tests:
 *
 *   npx tsc -b && node --import tsx bench/mirror.ts [--sites 4] [--latency 1000] [--create-ms 20000] [--mb 2,4,1]
 *   node --import tsx bench/mirror.ts --quick          # a short smoke run of the bench itself
 *   node --import tsx bench/mirror.ts --no-aws         # baseline uploads with the PutObject loop even if aws is installed
 *   node --import tsx bench/mirror.ts --variant big [--before /tmp/pbm-before] [--runs 2]
 *                                                      # ~1 GB of 28-56 MB archives: transfer time matters
 *
 * One sandbox (terminus stand-in + archive server, in this process) and one s3rver (a child), two
 * buckets. baseline: bash bench/seed-script.sh with the sandbox's terminus first on PATH, uploading its
 * folder with `aws s3 sync` if an aws CLI is installed, else a serial PutObject loop (this file with
 * --upload-folder). pbm: the built CLI (bin/run.js over dist/). Both results are checked: all archives,
 * exact bytes (MD5 against the sandbox), and for pbm the right keys and only the backups it created.
 * Target: pbm at least 5x faster.
 *
 * Also measured in the same run: the upload limit (the baseline's folder, the same bytes, uploaded again by
 * a child through pbm's own S3 sink with pbm's --concurrency), and from it pbm's limit: one create, one
 * backup:list and one backup:get in a row (latency each) and then every byte at the upload limit. pbm's
 * peak RSS comes from /usr/bin/time (the child's and its waited-for descendants' maxrss). `--before DIR`
 * runs another build of pbm (DIR/bin/run.js over DIR/dist) the same way, alternating with this one.
 */
import {execa} from 'execa'
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm} from 'node:fs/promises'
import {cpus, freemem, loadavg, tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {createSandbox, type SandboxArchive} from '../sandbox/index.js'
import {S3RVER_CREDENTIALS, S3RVER_ENV, startS3rver} from '../test/helpers/s3.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const MB = 1024 * 1024

const {positionals, values} = parseArgs({
  allowPositionals: true,
  options: {
    'create-ms': {default: '20000', type: 'string'},
    latency: {default: '1000', type: 'string'},
    before: {type: 'string'},
    concurrency: {default: '4', type: 'string'},
    mb: {type: 'string'},
    'no-aws': {default: false, type: 'boolean'},
    quick: {default: false, type: 'boolean'},
    runs: {default: '1', type: 'string'},
    sites: {default: '4', type: 'string'},
    'upload-folder': {default: false, type: 'boolean'},
    'upload-limit': {default: false, type: 'boolean'},
    variant: {default: 'small', type: 'string'},
  },
})

/** Archive sizes in MB (code, files, db) of each variant; `big`: 4 sites × 2 envs × 120 MB = 960 MiB. */
const VARIANTS: Record<string, string> = {big: '36,56,28', small: '2,4,1'}

const main = values['upload-folder']
  ? () => uploadFolder(positionals[0], positionals[1])
  : values['upload-limit']
    ? () => uploadLimit(positionals[0], positionals[1], Number(values.concurrency))
    : bench
await main()

/**
 * The upload limit: every file of DIR into BUCKET through pbm's own S3 sink (the one pbm writes with),
 * CONCURRENCY files at a time, no download and no verification. Prints `{ms, bytes}`; only the uploads
 * are timed (modules loaded first).
 */
async function uploadLimit(dir: string, bucket: string, concurrency: number): Promise<void> {
  const {createReadStream} = await import('node:fs')
  const {stat} = await import('node:fs/promises')
  const {createS3Destination} = await import('../src/destination/index.js')
  await import('@aws-sdk/client-s3')
  const dest = createS3Destination({bucket, credentials: S3RVER_CREDENTIALS, endpoint: process.env.S3ENDPOINT})
  const names = (await readdir(dir)).sort()
  let bytes = 0
  const t0 = performance.now()
  const one = async (name: string, i: number) => {
    const file = path.join(dir, name)
    const {size} = await stat(file)
    const meta = {element: 'files' as const, env: 'dev', file: name, folder: `${i}_backup`, site: 'limit', size}
    const sink = await dest.open(name, meta, new AbortController().signal)
    for await (const chunk of createReadStream(file, {highWaterMark: 256 * 1024}) as AsyncIterable<Buffer>) {
      bytes += chunk.length
      const wait = sink.write(chunk)
      if (wait) await wait
    }

    await sink.commit()
  }

  let next = 0
  await Promise.all(
    Array.from({length: Math.min(concurrency, names.length)}, async () => {
      while (next < names.length) {
        const i = next++
        await one(names[i], i)
      }
    }),
  )
  process.stdout.write(JSON.stringify({bytes, ms: performance.now() - t0}) + '\n')
}

/** The baseline's fallback uploader: every file of DIR into BUCKET, one PutObject after the other. */
async function uploadFolder(dir: string, bucket: string): Promise<void> {
  const {PutObjectCommand, S3Client} = await import('@aws-sdk/client-s3')
  const client = new S3Client({
    credentials: S3RVER_CREDENTIALS,
    endpoint: process.env.S3ENDPOINT,
    forcePathStyle: true,
    region: 'us-east-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  for (const name of (await readdir(dir)).sort()) {
    await client.send(new PutObjectCommand({Body: await readFile(path.join(dir, name)), Bucket: bucket, Key: name}))
    console.log(`upload: ${name} to s3://${bucket}/${name}`)
  }
}

async function bench(): Promise<void> {
  const {quick} = values
  const siteCount = Number(values.sites)
  const latencyMs = quick ? 100 : Number(values.latency)
  const createMs = quick ? 1000 : Number(values['create-ms'])
  const concurrency = Number(values.concurrency)
  const runs = Number(values.runs)
  const mbSpec = values.mb ?? (quick ? '0.2,0.3,0.1' : VARIANTS[values.variant])
  if (!mbSpec)
    throw new Error(`bench/mirror: unknown --variant ${values.variant} (${Object.keys(VARIANTS).join(', ')})`)
  const [codeMb, filesMb, dbMb] = mbSpec.split(',').map(Number)
  const sizes = {code: Math.round(codeMb * MB), database: Math.round(dbMb * MB), files: Math.round(filesMb * MB)}
  const sites = Array.from({length: siteCount}, (_, i) => `site-${i + 1}`)
  const envs = ['dev', 'live']
  const archiveCount = sites.length * envs.length * 3
  const totalBytes = sites.length * envs.length * (sizes.code + sizes.files + sizes.database)
  const builds = [{label: 'pbm', root: ROOT}]
  if (values.before) builds.push({label: `before (${path.basename(values.before)})`, root: path.resolve(values.before)})

  // pbm runs from dist/, like an installed CLI: build it first (the --before tree is built by whoever made it).
  const build = await execa('npx', ['tsc', '-b'], {cwd: ROOT, reject: false, stdio: 'inherit'})
  if (build.exitCode !== 0) {
    console.error(`bench/mirror: the build (npx tsc -b) failed with exit ${build.exitCode}; nothing was measured.`)
    process.exitCode = 1
    return
  }

  const email = 'bench@example.com'
  const yesterday = new Date(Date.now() - 86_400_000).toISOString()
  const sandbox = await createSandbox({
    createMs,
    latencyMs,
    sites: sites.map((name) => ({envs: envs.map((env) => ({backups: [{date: yesterday, sizes}], name: env})), name})),
    user: {email},
  })
  const s3 = await startS3rver()
  const work = await mkdtemp(path.join(tmpdir(), 'pbm-bench-mirror-'))
  const s3Env = {
    ...S3RVER_ENV,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  }
  let ok = true
  try {
    await s3.createBucket('baseline')
    console.log(
      `bench/mirror: ${sites.length} sites × ${envs.length} envs × 3 elements = ${archiveCount} archives of ` +
        `${codeMb}/${filesMb}/${dbMb} MB (code/files/db), ${(totalBytes / 1e9).toFixed(2)} GB in all; ` +
        `Terminus latency ${latencyMs} ms a call, backup:create ${createMs / 1000} s; pbm --concurrency ${concurrency}`,
    )
    console.log(`machine: ${machineState()}`)

    // baseline: the seed script, with the sandbox's terminus first on PATH.
    const backupDir = path.join(work, 'backups') + '/'
    await execa('mkdir', ['-p', backupDir])
    const baselineLog = path.join(work, 'baseline.log')
    console.log('\nbaseline: bench/seed-script.sh (serial create, serial backup:get --to, then upload) ...')
    const t0 = performance.now()
    const baseline = await execa('bash', [path.join(ROOT, 'bench', 'seed-script.sh')], {
      all: true,
      env: {
        ...s3Env,
        ...sandbox.env,
        BACKUPDIR: backupDir,
        PATH: `${path.dirname(sandbox.terminusPath)}:${process.env.PATH}`,
        S3BUCKET: 'baseline',
        S3ENDPOINT: s3.endpoint,
        SITEENVS: envs.join(' '),
        SITENAMES: sites.join(' '),
        NO_AWS: values['no-aws'] ? '1' : '',
        TERMINUSUSER: email,
        UPLOADER: `${process.execPath} --import tsx ${path.join(ROOT, 'bench', 'mirror.ts')} --upload-folder`,
      },
      reject: false,
    })
    const baselineSeconds = (performance.now() - t0) / 1000
    await writeLog(baselineLog, String(baseline.all))
    const uploader =
      /^upload: (aws s3 sync \(.*\)|serial PutObject loop.*)$/m.exec(String(baseline.all))?.[1] ?? 'unknown'
    if (baseline.exitCode !== 0)
      console.log(`baseline exited ${baseline.exitCode}; log: ${baselineLog}\n${tail(String(baseline.all))}`)
    const baselineCheck = await checkBaseline(sandbox.archives(), sites, envs)
    if (!baselineCheck.exact || baselineCheck.found !== archiveCount) ok = false
    const serialFloor = (1 + sites.length * envs.length * (1 + 3)) * latencyMs + sites.length * envs.length * createMs
    const rows: string[][] = [
      ['run', 'wall time', 'seed/run', 'run/limit', 'peak RSS', 'archives', 'exact', 'exit', 'notes'],
      [
        'baseline (seed script)',
        `${baselineSeconds.toFixed(1)} s`,
        '1.0',
        '',
        '',
        `${baselineCheck.found}/${archiveCount}`,
        baselineCheck.exact ? 'yes' : 'NO',
        String(baseline.exitCode),
        `upload: ${uploader}; floor of its Terminus calls ${(serialFloor / 1000).toFixed(0)} s`,
      ],
    ]
    const problems = [...baselineCheck.problems]
    // Each row as it comes too: a long run on a busy machine should leave what it measured so far.
    const report = (row: string[]) => {
      rows.push(row)
      console.log(`  ${row.slice(0, 5).filter(Boolean).join(', ')}`)
    }

    report(rows.pop()!)

    // Then, `runs` times: the upload limit of this moment, and each pbm build (alternating which goes first).
    for (let run = 1; run <= runs; run++) {
      const limit = await measureUploadLimit(backupDir, `limit-${run}`)
      const limitSeconds = (latencyMs + createMs + 2 * latencyMs) / 1000 + limit.seconds
      report([
        `limit #${run}`,
        `${limitSeconds.toFixed(1)} s`,
        (baselineSeconds / limitSeconds).toFixed(1),
        '1.00',
        '',
        '',
        '',
        '',
        `create + list + get ${((latencyMs * 3 + createMs) / 1000).toFixed(0)} s + ${(limit.bytes / 1e9).toFixed(2)} GB ` +
          `at ${(limit.bytes / 1e6 / limit.seconds).toFixed(0)} MB/s (upload-only, pbm's S3 sink, ${concurrency} at a time: ${limit.seconds.toFixed(1)} s)`,
      ])
      const order = run % 2 === 1 ? builds : [...builds].reverse()
      for (const b of order) {
        const r = await runPbm(b.root, `${b.label === 'pbm' ? 'pbm' : 'before'}-${run}`)
        if (!r.check.exact || r.check.found !== archiveCount || r.exitCode !== 0) ok = false
        problems.push(...r.check.problems)
        report([
          `${b.label} #${run}`,
          `${r.seconds.toFixed(1)} s`,
          (baselineSeconds / r.seconds).toFixed(1),
          (r.seconds / limitSeconds).toFixed(2),
          r.rssMb ? `${r.rssMb.toFixed(0)} MB` : '?',
          `${r.check.found}/${archiveCount}`,
          r.check.exact ? 'yes' : 'NO',
          String(r.exitCode),
          pbmSummary(r.output),
        ])
      }
    }

    console.log('')
    console.log(table(rows))
    console.log(`machine after: ${machineState()}`)
    console.log(`\ntarget: pbm >= 5x faster than the seed script (seed/run)`)
    for (const problem of problems.slice(0, 10)) console.log(`  ! ${problem}`)
    console.log(`logs: ${work} (removed at exit unless PBM_BENCH_KEEP=1)`)
    if (!ok) process.exitCode = 1
  } finally {
    await Promise.allSettled([sandbox.close(), s3.stop()])
    if (process.env.PBM_BENCH_KEEP === '1') console.log(`kept ${work}`)
    else await rm(work, {force: true, recursive: true})
  }

  /** Upload the baseline's folder again (same bytes) through pbm's S3 sink, in a child, as pbm would. */
  async function measureUploadLimit(dir: string, bucket: string) {
    await s3.createBucket(bucket)
    console.log(`upload limit: ${dir} into ${bucket} through pbm's S3 sink, ${concurrency} at a time ...`)
    const child = await execa(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'bench', 'mirror.ts'),
        '--upload-limit',
        '--concurrency',
        String(concurrency),
        dir,
        bucket,
      ],
      {env: {...s3Env, S3ENDPOINT: s3.endpoint}},
    )
    const {bytes, ms} = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {bytes: number; ms: number}
    if (bytes !== totalBytes) throw new Error(`upload limit: uploaded ${bytes} bytes, expected ${totalBytes}`)
    return {bytes, seconds: ms / 1000}
  }

  /** One `pbm backup:mirror --create` of the build at ROOTDIR into a new BUCKET, under /usr/bin/time for its peak RSS. */
  async function runPbm(rootDir: string, bucket: string) {
    await s3.createBucket(bucket)
    const before = new Set(sandbox.archives().map((a) => a.file))
    const log = path.join(work, `${bucket}.log`)
    const rssFile = path.join(work, `${bucket}.rss`)
    const args = [
      'backup:mirror',
      ...sites.flatMap((s) => ['--site', s]),
      ...envs.flatMap((e) => ['--env', e]),
      '--create',
      '--concurrency',
      String(concurrency),
      '--bucket',
      bucket,
      '--yes',
    ]
    console.log(`${bucket}: pbm ${args.join(' ')} (${rootDir}) ...`)
    // As bin/run.js runs pbm (its shebang's node flag), under GNU time when there is one.
    const node = [process.execPath, '--max-semi-space-size=1', path.join(rootDir, 'bin', 'run.js'), ...args]
    const timed = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', '%M', '-o', rssFile, ...node] : node
    const t1 = performance.now()
    const pbm = await execa(timed[0], timed.slice(1), {
      all: true,
      env: {
        ...s3Env,
        ...sandbox.env,
        CI: 'true',
        NO_COLOR: '1',
        PBM_ENDPOINT: s3.endpoint,
        PBM_TERMINUS: sandbox.terminusPath,
      },
      reject: false,
    })
    const seconds = (performance.now() - t1) / 1000
    const output = String(pbm.all)
    await writeLog(log, output)
    if (pbm.exitCode !== 0) console.log(`${bucket} exited ${pbm.exitCode}; log: ${log}\n${tail(output)}`)
    const rssKb = existsSync(rssFile) ? Number((await readFile(rssFile, 'utf8')).trim().split('\n').at(-1)) : Number.NaN
    const made = sandbox.archives().filter((a) => !before.has(a.file))
    const check = await checkPbm(bucket, made, sites, envs)
    return {check, exitCode: pbm.exitCode, output, rssMb: Number.isFinite(rssKb) ? rssKb / 1024 : undefined, seconds}
  }

  /** Each baseline object `<site>.<env>.<element>.<date>.<ext>` holds the newest archive of its kind. */
  async function checkBaseline(archives: SandboxArchive[], siteNames: string[], envNames: string[]) {
    const problems: string[] = []
    let found = 0
    let exact = true
    const keys = await s3.listKeys('baseline')
    for (const site of siteNames) {
      for (const env of envNames) {
        for (const element of ['code', 'files', 'database'] as const) {
          const short = element === 'database' ? 'db' : element
          const ext = element === 'database' ? 'sql.gz' : 'tar.gz'
          const key = keys.find((k) => k.startsWith(`${site}.${env}.${short}.`) && k.endsWith(`.${ext}`))
          const source = newest(archives.filter((a) => a.site === site && a.env === env && a.element === element))
          if (!key || !source) {
            problems.push(`baseline: no ${site}.${env} ${short} object`)
            exact = false
            continue
          }

          found++
          const body = await s3.getObject('baseline', key)
          if (!body || md5(body) !== source.md5) {
            problems.push(`baseline: ${key} differs from ${source.file}`)
            exact = false
          }
        }
      }
    }

    return {exact, found, problems}
  }

  /** pbm's bucket holds exactly the archives its creates made, at `<site>/<env>/<file>`, byte for byte. */
  async function checkPbm(bucket: string, made: SandboxArchive[], siteNames: string[], envNames: string[]) {
    const problems: string[] = []
    let exact = true
    const keys = await s3.listKeys(bucket)
    const expected = made.map((a) => `${a.site}/${a.env}/${a.file}`).sort()
    const perTarget = siteNames.flatMap((site) =>
      envNames.map((env) => made.filter((a) => a.site === site && a.env === env).length),
    )
    if (perTarget.some((n) => n !== 3)) {
      problems.push(`pbm: the creates made ${perTarget.join('/')} archives per site.env, not 3 each`)
      exact = false
    }

    if (JSON.stringify(keys) !== JSON.stringify(expected)) {
      problems.push(
        `pbm: bucket keys differ from the created archives (${keys.length} keys, ${expected.length} created)`,
      )
      exact = false
    }

    let found = 0
    for (const archive of made) {
      const body = await s3.getObject(bucket, `${archive.site}/${archive.env}/${archive.file}`)
      if (!body) continue
      found++
      if (md5(body) !== archive.md5) {
        problems.push(`pbm: ${archive.file} differs`)
        exact = false
      }
    }

    return {exact, found, problems}
  }
}

/** Load average and free memory: the machine is shared, so every result says what state it ran in. */
function machineState(): string {
  const [one, five] = loadavg()
  return `load ${one.toFixed(1)} (1 min), ${five.toFixed(1)} (5 min) on ${cpus().length} cores; ${(freemem() / 1e9).toFixed(1)} GB free`
}

function newest(archives: SandboxArchive[]): SandboxArchive | undefined {
  return [...archives].sort((a, b) => b.date - a.date)[0]
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex')
}

function pbmSummary(output: string): string {
  return /\d+ transferred, \d+ skipped, \d+ failed[^\n]*/.exec(output)?.[0] ?? ''
}

function tail(text: string, lines = 15): string {
  return text.split('\n').slice(-lines).join('\n')
}

async function writeLog(file: string, text: string): Promise<void> {
  const {writeFile} = await import('node:fs/promises')
  await writeFile(file, text)
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n')
}
