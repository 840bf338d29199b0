/**
 * bench/fleet: a fleet of 500 sites × 2 environments mirrored by 8 shard processes at once (as a
 * Kubernetes Indexed Job runs them: `--shard K/8`, K = JOB_COMPLETION_INDEX + 1), against one process
 * with the same total concurrency, on one sandbox and one s3rver. Run by hand, never in tests:
 *
 *   node --import tsx bench/fleet.ts [--sites 500] [--shards 8] [--latency 300] [--concurrency 32] [--terminus-concurrency 32]
 *   node --import tsx bench/fleet.ts --quick          # 50 sites: a smoke run of the bench itself
 *
 * Tiny archives (code 2048, files 2048, database 1024 bytes; one backup each): the work is Terminus
 * calls, not bytes. Each shard gets --concurrency C/N and --terminus-concurrency T/N (so the totals
 * match the single process's C and T); the sites go in PBM_SITES, as a Job's environment would.
 * Phases, each with the sandbox's call log reset: N shards into bucket `shards`, one process into
 * `single`, then a no-op re-run of both. Every terminus call goes through a small per-process wrapper
 * that notes its pid (exec keeps it), so the sandbox's call log says which process made each call.
 *
 * Checked, and printed: every archive exactly once in each bucket (keys `<site>/<env>/<file>` against
 * the sandbox's archives, bytes by MD5); shards disjoint, whole (a site's environments together) and
 * covering every site.env, and their sizes (min/max/mean); Terminus calls per site.env and per process
 * (bound: ≤ 4 per site.env + a constant per process; no-op re-run: ≤ 1 per site.env + a constant);
 * wall times, N shards against one process. Exits 1 when a check fails.
 */
import {execa} from 'execa'
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {chmod, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {cpus, freemem, loadavg, tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {createSandbox, type SandboxArchive, type SandboxCall} from '../sandbox/index.js'
import {S3RVER_ENV, startS3rver} from '../test/helpers/s3.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const {values} = parseArgs({
  options: {
    concurrency: {default: '32', type: 'string'},
    latency: {default: '300', type: 'string'},
    quick: {default: false, type: 'boolean'},
    shards: {default: '8', type: 'string'},
    sites: {default: '500', type: 'string'},
    'terminus-concurrency': {default: '32', type: 'string'},
  },
})

/** The bound of the issue: a run costs at most 4 calls per site.env, a no-op re-run 1, plus a constant per process. */
const PER_TARGET = {noop: 1, run: 4}
const CONSTANT_PER_PROCESS = 2
const SIZES = {code: 2048, database: 1024, files: 2048}

interface MirrorJson {
  archives: Array<{env: string; error?: {code?: string; message?: string}; file: string; site: string; status: string}>
  shard?: string
  summary: {failed: number; skipped: number; transferred: number}
  targets: Array<{env: string; site: string; status: string}>
}

interface ProcessRun {
  calls: SandboxCall[]
  exitCode: number | undefined
  label: string
  out?: MirrorJson
  rssMb?: number
  seconds: number
  stderr: string
}

const siteCount = values.quick ? 50 : Number(values.sites)
const shardCount = Number(values.shards)
const latencyMs = Number(values.latency)
const concurrency = Number(values.concurrency)
const terminusConcurrency = Number(values['terminus-concurrency'])
const sites = Array.from({length: siteCount}, (_, i) => `site-${String(i + 1).padStart(3, '0')}`)
const envs = ['dev', 'live']
const targetCount = sites.length * envs.length
const problems: string[] = []

const build = await execa('npx', ['tsc', '-b'], {cwd: ROOT, reject: false, stdio: 'inherit'})
if (build.exitCode !== 0) {
  console.error(`bench/fleet: the build (npx tsc -b) failed with exit ${build.exitCode}; nothing was measured.`)
  process.exit(1)
}

const yesterday = new Date(Date.now() - 86_400_000).toISOString()
const sandbox = await createSandbox({
  latencyMs,
  sites: sites.map((name) => ({
    envs: envs.map((env) => ({backups: [{date: yesterday, sizes: SIZES}], name: env})),
    name,
  })),
})
const s3 = await startS3rver()
const work = await mkdtemp(path.join(tmpdir(), 'pbm-bench-fleet-'))
const pidLabels = path.join(work, 'pids.log')
const rows: string[][] = [
  ['phase', 'wall time', 'vs 1 process', 'calls', 'per site.env', 'constant', 'peak RSS', 'result'],
]

try {
  const archives = sandbox.archives()
  console.log(
    `bench/fleet: ${sites.length} sites × ${envs.length} envs = ${targetCount} site.envs, ${archives.length} archives ` +
      `(${SIZES.code}/${SIZES.files}/${SIZES.database} bytes); Terminus latency ${latencyMs} ms a call; ` +
      `${shardCount} shards with --concurrency ${concurrency / shardCount} --terminus-concurrency ${terminusConcurrency / shardCount} ` +
      `each, vs 1 process with ${concurrency} and ${terminusConcurrency}`,
  )
  console.log(`machine: ${machineState()}`)
  await s3.createBucket('shards')
  await s3.createBucket('single')

  const shards = await phase('shards', 'run', () => runShards('shards'))
  const single = await phase('single', 'run', () => runProcesses('single', [{label: 'single', shard: undefined}]))
  checkShards(shards.runs)
  await checkBucket('shards', archives)
  await checkBucket('single', archives)
  const noopShards = await phase('no-op shards', 'noop', () => runShards('shards'))
  const noopSingle = await phase('no-op single', 'noop', () =>
    runProcesses('single', [{label: 'single', shard: undefined}]),
  )
  for (const [many, one] of [
    [shards, single],
    [noopShards, noopSingle],
  ]) {
    many.row[2] = `${(one.seconds / many.seconds).toFixed(2)}x faster`
    one.row[2] = '1.00'
  }

  console.log('')
  console.log(table(rows))
  console.log(`machine after: ${machineState()}`)
  if (problems.length > 0) {
    console.log(`\n${problems.length} problem(s):`)
    for (const p of problems.slice(0, 20)) console.log(`  ! ${p}`)
    process.exitCode = 1
  } else {
    console.log('\nall checks passed: every archive exactly once, shards disjoint and whole, calls within the bound')
  }
} finally {
  await Promise.allSettled([sandbox.close(), s3.stop()])
  if (process.env.PBM_BENCH_KEEP === '1') console.log(`kept ${work}`)
  else await rm(work, {force: true, recursive: true})
}

/** The N shards at once, as an Indexed Job's pods. */
function runShards(bucket: string): Promise<{runs: ProcessRun[]; seconds: number}> {
  return runProcesses(
    bucket,
    Array.from({length: shardCount}, (_, i) => ({
      label: `shard ${i + 1}/${shardCount}`,
      shard: `${i + 1}/${shardCount}`,
    })),
  )
}

/**
 * One phase: run it with a fresh call log, check each process's result and calls, and add its rows.
 * KIND says which bound applies (a run or a no-op re-run).
 */
async function phase(name: string, kind: 'noop' | 'run', go: () => Promise<{runs: ProcessRun[]; seconds: number}>) {
  console.log(`${name} ...`)
  sandbox.resetCalls()
  const result = await go()
  const all = sandbox.calls()
  const perTarget = countBy(all.filter((c) => c.target?.includes('.')).map((c) => c.target!))
  const maxPerTarget = Math.max(0, ...perTarget.values())
  const untargeted = all.filter((c) => !c.target?.includes('.'))
  const unattributed = all.length - result.runs.reduce((n, r) => n + r.calls.length, 0)
  if (unattributed !== 0) problems.push(`${name}: ${unattributed} Terminus calls not attributed to a process`)
  if (maxPerTarget > PER_TARGET[kind])
    problems.push(
      `${name}: up to ${maxPerTarget} Terminus calls for one site.env (bound ${PER_TARGET[kind]}): ` +
        [...perTarget]
          .filter(([, n]) => n > PER_TARGET[kind])
          .slice(0, 3)
          .map(([t, n]) => `${t} ${n}`)
          .join(', '),
    )

  for (const run of result.runs) {
    const targets = run.out?.targets.length ?? 0
    const constant = run.calls.filter((c) => !c.target?.includes('.')).length
    if (run.exitCode !== 0)
      problems.push(
        `${name}: ${run.label} exited ${run.exitCode}: ${tail(run.stderr.replaceAll(/^.*\[WARN\].*\n/gm, ''))}`,
      )
    if (run.out) {
      const {failed, skipped, transferred} = run.out.summary
      if (failed > 0) {
        // What failed, in a few distinct words: the first of each error code.
        const errors = countBy(
          run.out.archives
            .filter((a) => a.status === 'failed')
            .map((a) => `${a.error?.code ?? '?'}: ${(a.error?.message ?? '').slice(0, 160)}`),
        )
        problems.push(
          `${name}: ${run.label}: ${failed} failed; ${[...errors]
            .slice(0, 3)
            .map(([e, n]) => `${n}× ${e}`)
            .join(' | ')}`,
        )
      }

      if (kind === 'noop' && transferred > 0) problems.push(`${name}: ${run.label} transferred ${transferred} again`)
      if (kind === 'run' && transferred !== targets * 3)
        problems.push(`${name}: ${run.label} transferred ${transferred} (${skipped} skipped) of ${targets * 3}`)
    } else problems.push(`${name}: ${run.label} printed no JSON result`)

    if (run.calls.length > PER_TARGET[kind] * targets + CONSTANT_PER_PROCESS)
      problems.push(
        `${name}: ${run.label} made ${run.calls.length} Terminus calls for ${targets} site.envs ` +
          `(bound ${PER_TARGET[kind]} × ${targets} + ${CONSTANT_PER_PROCESS}): ${JSON.stringify(countBy(run.calls.map((c) => c.command)))}`,
      )
    if (result.runs.length > 1)
      rows.push([
        `  ${run.label}`,
        `${run.seconds.toFixed(1)} s`,
        '',
        String(run.calls.length),
        targets ? ((run.calls.length - constant) / targets).toFixed(2) : '-',
        String(constant),
        run.rssMb ? `${run.rssMb.toFixed(0)} MB` : '?',
        `${targets} site.envs; ${summaryOf(run.out)}`,
      ])
  }

  const commands = countBy(all.map((c) => c.command))
  const row = [
    name,
    `${result.seconds.toFixed(1)} s`,
    '',
    String(all.length),
    `${((all.length - untargeted.length) / targetCount).toFixed(2)} (max ${maxPerTarget})`,
    `${untargeted.length} (${result.runs.length} processes)`,
    result.runs.length > 1
      ? `max ${Math.max(...result.runs.map((r) => r.rssMb ?? 0)).toFixed(0)} MB`
      : `${result.runs[0].rssMb?.toFixed(0) ?? '?'} MB`,
    Object.entries(Object.fromEntries(commands))
      .map(([c, n]) => `${c} ${n}`)
      .join(', '),
  ]
  // The per-process rows were pushed first: the phase's row goes above them.
  rows.splice(rows.length - (result.runs.length > 1 ? result.runs.length : 0), 0, row)
  return {...result, row}
}

/** Start every process at once; wait for all. Each gets its own terminus wrapper so its calls can be told apart. */
async function runProcesses(
  bucket: string,
  procs: Array<{label: string; shard: string | undefined}>,
): Promise<{runs: ProcessRun[]; seconds: number}> {
  const share = procs.length
  const t0 = performance.now()
  const started = await Promise.all(
    procs.map(async ({label, shard}, i) => {
      const wrapper = path.join(work, `terminus-${Date.now()}-${i}`)
      await writeFile(
        wrapper,
        // The pid and the time the call starts: pids are reused over thousands of calls (pid_max is often
        // 32768), so a call belongs to the latest process that started with its pid before it ended.
        `#!/bin/bash\necho "$$ $EPOCHREALTIME ${wrapper}" >> '${pidLabels}'\nexec '${sandbox.terminusPath}' "$@"\n`,
      )
      await chmod(wrapper, 0o755)
      const rssFile = `${wrapper}.rss`
      const args = [
        'backup:mirror',
        ...envs.flatMap((e) => ['--env', e]),
        '--concurrency',
        String(Math.max(1, Math.round(concurrency / share))),
        '--terminus-concurrency',
        String(Math.max(1, Math.round(terminusConcurrency / share))),
        '--bucket',
        bucket,
        '--yes',
        '--json',
        ...(shard ? ['--shard', shard] : []),
      ]
      const node = [process.execPath, '--max-semi-space-size=1', path.join(ROOT, 'bin', 'run.js'), ...args]
      const timed = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', '%M', '-o', rssFile, ...node] : node
      const t1 = performance.now()
      const child = execa(timed[0], timed.slice(1), {
        env: {
          ...S3RVER_ENV,
          ...sandbox.env,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          CI: 'true',
          NO_COLOR: '1',
          PBM_ENDPOINT: s3.endpoint,
          PBM_SITES: sites.join(' '),
          PBM_TERMINUS: wrapper,
        },
        reject: false,
      })
      const done = await child
      const seconds = (performance.now() - t1) / 1000
      const rssKb = existsSync(rssFile) ? Number((await readFile(rssFile, 'utf8')).trim().split('\n').at(-1)) : 0
      let out: MirrorJson | undefined
      try {
        out = JSON.parse(String(done.stdout)) as MirrorJson
      } catch {}

      return {
        exitCode: done.exitCode,
        label,
        out,
        rssMb: rssKb ? rssKb / 1024 : undefined,
        seconds,
        stderr: String(done.stderr),
        wrapper,
      }
    }),
  )
  const seconds = (performance.now() - t0) / 1000
  /** Per pid, the processes that had it: [start time in ms, wrapper], in the order they started. */
  const owners = new Map<number, Array<[number, string]>>()
  for (const line of (await readFile(pidLabels, 'utf8').catch(() => '')).split('\n').filter(Boolean)) {
    const [pid, started, wrapper] = line.split(' ')
    const list = owners.get(Number(pid)) ?? []
    list.push([Number(started.replace(',', '.')) * 1000, wrapper])
    owners.set(Number(pid), list)
  }

  const ownerOf = (call: SandboxCall): string | undefined =>
    owners
      .get(call.pid)
      ?.filter(([started]) => started <= call.time)
      .at(-1)?.[1]
  const calls = sandbox.calls()
  const runs = started.map(({wrapper, ...run}) => ({...run, calls: calls.filter((c) => ownerOf(c) === wrapper)}))
  return {runs, seconds}
}

/** Shards: disjoint, whole (a site's environments together), covering every site.env; and how even they are. */
function checkShards(runs: ProcessRun[]): void {
  const shardOf = new Map<string, string>()
  for (const run of runs) {
    for (const t of run.out?.targets ?? []) {
      const id = `${t.site}.${t.env}`
      const other = shardOf.get(id)
      if (other) problems.push(`shards: ${id} in ${other} and ${run.label}`)
      shardOf.set(id, run.label)
    }
  }

  const missing = sites.flatMap((s) => envs.map((e) => `${s}.${e}`)).filter((id) => !shardOf.has(id))
  if (missing.length > 0)
    problems.push(`shards: ${missing.length} site.envs in no shard, e.g. ${missing.slice(0, 3).join(', ')}`)
  const split = sites.filter((s) => new Set(envs.map((e) => shardOf.get(`${s}.${e}`))).size > 1)
  if (split.length > 0) problems.push(`shards: ${split.length} sites split across shards, e.g. ${split[0]}`)
  const sizes = runs.map((r) => r.out?.targets.length ?? 0)
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length
  console.log(
    `shards: ${shardOf.size}/${targetCount} site.envs, ${missing.length} missing, ${split.length} sites split; ` +
      `site.envs per shard ${sizes.join(' ')} (min ${Math.min(...sizes)}, max ${Math.max(...sizes)}, mean ${mean.toFixed(1)}, ` +
      `max/mean ${(Math.max(...sizes) / mean).toFixed(2)})`,
  )
}

/** The bucket holds every archive exactly once, at `<site>/<env>/<file>`, byte for byte, and nothing else. */
async function checkBucket(bucket: string, archives: SandboxArchive[]): Promise<void> {
  const keys = await s3.listKeys(bucket)
  const expected = new Map(archives.map((a) => [`${a.site}/${a.env}/${a.file}`, a]))
  const extra = keys.filter((k) => !expected.has(k))
  const missing = [...expected.keys()].filter((k) => !keys.includes(k))
  // A key is unique in S3; "twice" would be the same archive under another key (counted by file name).
  const byFile = countBy(keys.map((k) => k.split('/').at(-1)!))
  const twice = [...byFile].filter(([, n]) => n > 1)
  let differ = 0
  const queue = keys.filter((k) => expected.has(k))
  await Promise.all(
    Array.from({length: 16}, async () => {
      for (let key = queue.pop(); key; key = queue.pop()) {
        const body = await s3.getObject(bucket, key)
        if (!body || createHash('md5').update(body).digest('hex') !== expected.get(key)!.md5) differ++
      }
    }),
  )
  console.log(
    `bucket ${bucket}: ${keys.length} objects for ${archives.length} archives; ${missing.length} missing, ` +
      `${extra.length} extra, ${twice.length} archives twice, ${differ} with other bytes`,
  )
  if (missing.length > 0) problems.push(`${bucket}: ${missing.length} archives missing, e.g. ${missing[0]}`)
  if (extra.length > 0) problems.push(`${bucket}: ${extra.length} unexpected objects, e.g. ${extra[0]}`)
  if (twice.length > 0) problems.push(`${bucket}: ${twice.length} archives stored twice, e.g. ${twice[0][0]}`)
  if (differ > 0) problems.push(`${bucket}: ${differ} objects differ from the sandbox's bytes (MD5)`)
}

function countBy(items: string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1)
  return counts
}

function summaryOf(out: MirrorJson | undefined): string {
  if (!out) return 'no JSON result'
  const {failed, skipped, transferred} = out.summary
  return `${transferred} transferred, ${skipped} skipped, ${failed} failed`
}

function machineState(): string {
  const [one, five] = loadavg()
  return `load ${one.toFixed(1)} (1 min), ${five.toFixed(1)} (5 min) on ${cpus().length} cores; ${(freemem() / 1e9).toFixed(1)} GB free`
}

function tail(text: string, lines = 5): string {
  return text.split('\n').slice(-lines).join('\n')
}

function table(cells: string[][]): string {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ')).join('\n')
}
