/**
 * bench/memory: peak RSS of the built CLI as a user runs it, under `/usr/bin/time -v` (Maximum resident
 * set size: the largest of pbm and its waited-for children, which are the sandbox's terminus and smaller).
 * Run by hand, never in tests:
 *
 *   node --import tsx bench/memory.ts                       # every scenario once, ~5-8 minutes
 *   node --import tsx bench/memory.ts --scenarios pick-s3,mirror-4 --runs 2
 *   node --import tsx bench/memory.ts --quick               # small archives: a smoke run of the bench itself
 *
 * Scenarios: `pick-s3` / `pick-local`: `pbm backup:pick big.dev --element db --latest` of one archive of
 * --size bytes (1e9) into a bucket (s3rver) or a folder; `mirror-N`: `pbm backup:mirror` of 4 sites ×
 * dev, live × code, files, db = 24 archives of 30-60 MB (~1.1 GB in all) into a bucket at --concurrency N.
 * Each scenario gets a fresh s3rver (a child of this process) or folder; the sandbox (terminus stand-in
 * and archive server) lives in this process, with no added latency. MB/s is the archive bytes over the
 * command's wall time (start-up and Terminus calls included). `--node-args` replaces bin/run.js's own
 * node flags (it runs `node FLAGS bin/run.js`); without it, bin/run.js runs as its shebang says.
 *
 * As installed: each measured package is staged in a temporary folder (bin/, dist/, package.json,
 * node_modules linked) with its `oclif.manifest.json` generated, as in the npm tarball; without a
 * manifest oclif imports every command at start (~18 MB more RSS). `--no-manifest` runs without one.
 * `--pbm DIR[,DIR...]` measures other package roots (e.g. a copy of the build before a change), not
 * built by the bench, interleaved per scenario: compare builds in one run of the machine.
 */
import {execa} from 'execa'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {createSandbox} from '../sandbox/index.js'
import {S3RVER_ENV, startS3rver} from '../test/helpers/s3.js'
import {installedCopy} from './installed.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const MB = 1e6

const {values} = parseArgs({
  options: {
    'no-manifest': {default: false, type: 'boolean'},
    'node-args': {type: 'string'},
    pbm: {type: 'string'},
    'no-build': {default: false, type: 'boolean'},
    quick: {default: false, type: 'boolean'},
    runs: {default: '1', type: 'string'},
    scenarios: {default: 'pick-s3,pick-local,mirror-1,mirror-2,mirror-4,mirror-8', type: 'string'},
    size: {default: '1e9', type: 'string'},
  },
})

/** The package roots whose bin/run.js is measured (e.g. a copy of an older build, for before/after). */
const roots = (values.pbm ?? ROOT).split(',').map((r) => path.resolve(r))
const runs = Number(values.runs)
const scenarios = values.scenarios.split(',').filter(Boolean)
const bigSize = values.quick ? 20 * MB : Number(values.size)
const sites = ['site-1', 'site-2', 'site-3', 'site-4']
const envs = ['dev', 'live']
/** 24 archive sizes from 30 to 60 MB (deterministic), ~1.1 GB in all; 1/20 of that with --quick. */
const mirrorSizes = Array.from({length: 24}, (_, i) =>
  Math.round((30 + ((i * 17) % 31)) * MB * (values.quick ? 0.05 : 1)),
)

interface Measured {
  root: string
  scenario: string
  bytes: number
  peakMb: number
  seconds: number
  exitCode: number
}

if (!values['no-build'] && !values.pbm) {
  const build = await execa('npm', ['run', 'build'], {cwd: ROOT, reject: false, stdio: 'inherit'})
  if (build.exitCode !== 0) throw new Error(`bench/memory: the build failed (exit ${build.exitCode})`)
}

const staged = await Promise.all(roots.map((r) => stage(r)))
const yesterday = new Date(Date.now() - 86_400_000).toISOString()
let k = 0
const sandbox = await createSandbox({
  latencyMs: 0,
  sites: [
    {name: 'big', envs: [{name: 'dev', backups: [{date: yesterday, sizes: {database: bigSize}}]}]},
    ...sites.map((name) => ({
      envs: envs.map((env) => ({
        backups: [
          {date: yesterday, sizes: {code: mirrorSizes[k++], files: mirrorSizes[k++], database: mirrorSizes[k++]}},
        ],
        name: env,
      })),
      name,
    })),
  ],
  user: {email: 'bench@example.com'},
})

const results: Measured[] = []
try {
  console.log(
    `bench/memory: pick of ${(bigSize / MB).toFixed(0)} MB; mirror of 24 archives, ` +
      `${(mirrorSizes.reduce((a, b) => a + b, 0) / MB).toFixed(0)} MB; node ${process.version}; ` +
      `pbm flags: ${values['node-args'] === undefined ? "bin/run.js's shebang" : `node ${values['node-args']}`}; ` +
      `${values['no-manifest'] ? 'no oclif manifest' : 'with its oclif manifest (as installed)'}`,
  )
  for (let run = 1; run <= runs; run++) {
    for (const scenario of scenarios) {
      for (const [i, root] of staged.entries()) {
        const m = await measure(scenario, root, roots[i])
        results.push(m)
        console.log(
          `  run ${run} ${scenario} ${roots[i]}: peak ${m.peakMb.toFixed(0)} MiB, ` +
            `${(m.bytes / MB / m.seconds).toFixed(1)} MB/s${m.exitCode === 0 ? '' : `, EXIT ${m.exitCode}`}`,
        )
      }
    }
  }
} finally {
  await sandbox.close()
  await Promise.all(staged.map((dir) => (dir === ROOT ? undefined : rm(dir, {force: true, recursive: true}))))
}

const head = ['scenario', 'archive MB', ...roots.flatMap((r, i) => [`peak RSS MiB ${name(i)}`, `MB/s ${name(i)}`])]
if (roots.length > 1) head.push(...roots.slice(1).map((_, i) => `RSS ${name(i + 1)}/${name(0)}`))
const rows = [head]
for (const scenario of scenarios) {
  const mine = results.filter((r) => r.scenario === scenario)
  rows.push([
    scenario,
    (mine[0].bytes / MB).toFixed(0),
    ...roots.flatMap((r) => [
      `${peakOf(mine, r).toFixed(0)}${
        runs > 1
          ? ` (${mine
              .filter((m) => m.root === r)
              .map((m) => m.peakMb.toFixed(0))
              .join(', ')})`
          : ''
      }`,
      median(of(mine, r).map((m) => m.bytes / MB / m.seconds)).toFixed(1),
    ]),
    ...roots.slice(1).map((r) => (peakOf(mine, r) / peakOf(mine, roots[0])).toFixed(2)),
  ])
}

console.log('')
if (roots.length > 1) for (const [i, r] of roots.entries()) console.log(`${name(i)}: ${r}`)

console.log('')
console.log(table(rows))
if (results.some((r) => r.exitCode !== 0)) process.exitCode = 1

function peakOf(measured: Measured[], root: string): number {
  return median(of(measured, root).map((r) => r.peakMb))
}

function of(measured: Measured[], root: string): Measured[] {
  return measured.filter((r) => r.root === root)
}

/** Column name of the i-th package root. */
function name(i: number): string {
  return roots.length === 1 ? '' : String.fromCodePoint(65 + i)
}

/** The package as installed (bench/installed.ts), or the root itself with --no-manifest. */
async function stage(root: string): Promise<string> {
  return values['no-manifest'] ? root : installedCopy(root, 'pbm-bench-memory-pkg-')
}

async function measure(scenario: string, pkg: string, root: string): Promise<Measured> {
  const s3 = scenario === 'pick-local' ? undefined : await startS3rver()
  const dir = await mkdtemp(path.join(tmpdir(), 'pbm-bench-memory-'))
  try {
    let args: string[]
    let bytes: number
    const destination = s3 ? ['--bucket', 'pbm', '--endpoint', s3.endpoint] : ['--to', dir]
    if (s3) await s3.createBucket('pbm')
    if (scenario.startsWith('pick-')) {
      args = ['backup:pick', 'big.dev', '--element', 'db', '--latest', ...destination, '--yes']
      bytes = bigSize
    } else if (scenario.startsWith('mirror-')) {
      const concurrency = scenario.slice('mirror-'.length)
      args = [
        'backup:mirror',
        ...sites.flatMap((s) => ['--site', s]),
        ...envs.flatMap((e) => ['--env', e]),
        ...destination,
        '--concurrency',
        concurrency,
        '--yes',
      ]
      bytes = mirrorSizes.reduce((a, b) => a + b, 0)
    } else throw new Error(`bench/memory: unknown scenario ${scenario}`)

    const runJs = path.join(pkg, 'bin', 'run.js')
    const command =
      values['node-args'] === undefined
        ? [runJs]
        : [process.execPath, ...values['node-args'].split(' ').filter(Boolean), runJs]
    const t0 = performance.now()
    const child = await execa('/usr/bin/time', ['-v', ...command, ...args], {
      all: true,
      env: {
        ...S3RVER_ENV,
        ...sandbox.env,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        CI: 'true',
        NO_COLOR: '1',
        PBM_TERMINUS: sandbox.terminusPath,
      },
      reject: false,
    })
    const seconds = (performance.now() - t0) / 1000
    const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(String(child.all))?.[1]
    if (child.exitCode !== 0) console.log(String(child.all).split('\n').slice(-30).join('\n'))
    return {root, scenario, bytes, peakMb: Number(kb) / 1024, seconds, exitCode: child.exitCode ?? 1}
  } finally {
    await s3?.stop()
    await rm(dir, {force: true, recursive: true})
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n')
}
