/**
 * bench/transfer: pbm's transfer of one archive into S3 (s3rver) against the limit of the same servers,
 * and pbm's peak memory. Run by hand, never in tests:
 *
 *   node --import tsx bench/transfer.ts [--sizes 1e9,4e9] [--part-size 5] [--queue 2]
 *
 * One sandbox archive server (in this process) and one s3rver (a child). Each measured run is its own
 * child process (bundled with esbuild when available, so the tsx loader does not count in its RSS):
 *   download-only  GET the URL, discard;
 *   upload-only    the same bytes from a file, twice: with lib-storage (the SDK's way: SHA-256 of every
 *                  part for SigV4) and with pbm's own S3 sink (no download, no verification);
 *   pbm            transferArchive() to S3 with full verification (MD5, CRC32C, inflate, length).
 * The limit is min(download-only, the faster upload-only); the target is pbm >= 0.9 of it and peak
 * RSS <= 128 MB. `--runs N` repeats everything N times (the ratio is always against the limit measured
 * in the same run) and prints the spread; the machine is shared, so one run proves little.
 */
import {spawn} from 'node:child_process'
import {createWriteStream, readdirSync, readFileSync} from 'node:fs'
import {mkdir, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {createSandbox} from '../sandbox/index.js'
import {startS3rver} from '../test/helpers/s3.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
const here = path.dirname(fileURLToPath(import.meta.url))
const {values} = parseArgs({
  options: {
    sizes: {type: 'string', default: '1e9,4e9'},
    // The S3 sink's defaults (src/destination/s3.ts).
    'part-size': {type: 'string', default: '5'},
    'node-options': {type: 'string', default: ''},
    queue: {type: 'string', default: '2'},
    runs: {type: 'string', default: '1'},
    // For profiling: only these child modes (download,upload,upload-pbm,pbm); no ratio without all.
    modes: {type: 'string', default: 'download,upload,upload-pbm,pbm'},
    'cpu-prof': {type: 'string'},
    // Node flags for the measured children; the default is what bin/run.js gives pbm. Pass
    // `--child-args=` (empty) for plain node, or e.g. `--child-args=--trace-gc`.
    'child-args': {type: 'string', default: '--max-semi-space-size=1 --expose-gc'},
  },
})
const sizes = values.sizes.split(',').map(Number)
const partSize = Number(values['part-size']) * 1024 * 1024
const queueSize = Number(values.queue)
const MB = 1e6

async function childCommand(): Promise<string[]> {
  // One bundle per bench process: a second bench started meanwhile must not replace this one's.
  const out = path.join(here, '..', 'node_modules', '.cache', 'pbm-bench', `transfer-child-${process.pid}.mjs`)
  try {
    // esbuild comes with tsx (a dev dependency); the bench falls back to tsx without it.
    // eslint-disable-next-line n/no-extraneous-import
    const esbuild = await import('esbuild')
    await mkdir(path.dirname(out), {recursive: true})
    await esbuild.build({
      entryPoints: [path.join(here, 'transfer-child.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: out,
      logLevel: 'warning',
    })
    return [out]
  } catch (error) {
    console.error(`(esbuild unavailable, measuring under tsx: RSS includes its loader) ${(error as Error).message}`)
    return ['--import', 'tsx', path.join(here, 'transfer-child.ts')]
  }
}

interface Measured {
  ms: number
  bytes: number
  maxRssMB: number
  cpuSec: number
  /** CPU seconds of s3rver and of this process (the sandbox archive server) during the run. */
  s3rverCpuSec?: number
  sandboxCpuSec?: number
}

/** CPU seconds used so far by a process (Linux /proc; undefined elsewhere). */
function cpuOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {}
}

/** s3rver runs as a child of this process. */
function findS3rver(): number | undefined {
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')
        if (Number(stat[1]) === process.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('s3rver'))
          return Number(d)
      } catch {}
    }
  } catch {}
}

function runChild(cmd: string[], config: object): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const {mode} = config as {mode: string}
    const prof = values['cpu-prof']
      ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`, `--cpu-prof-name=${mode}-${Date.now()}.cpuprofile`]
      : []
    const extra = values['child-args'].split(' ').filter(Boolean)
    const s3Before = cpuOf(s3rverPid)
    const selfBefore = process.cpuUsage()
    const child = spawn(process.execPath, [...prof, ...extra, ...cmd], {
      env: {
        ...process.env,
        NODE_OPTIONS: values['node-options'],
        PBM_BENCH_CONFIG: JSON.stringify(config),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.on('exit', (code) => {
      const lines = out.trim().split('\n')
      if (lines.length > 1) console.error(lines.slice(0, -1).join('\n'))
      const s3After = cpuOf(s3rverPid)
      const self = process.cpuUsage(selfBefore)
      if (code === 0) {
        resolve({
          ...(JSON.parse(lines.at(-1)!) as Measured),
          s3rverCpuSec: s3After === undefined || s3Before === undefined ? undefined : s3After - s3Before,
          sandboxCpuSec: (self.user + self.system) / 1e6,
        })
      } else reject(new Error(`${(config as {mode: string}).mode} child exited ${code}: ${out}`))
    })
  })
}

async function writeSource(archiveFile: string, file: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const ws = createWriteStream(file)
    ws.on('error', reject)
    ws.on('finish', () => resolve())
    ;(async () => {
      for (const chunk of sandbox.bytes(archiveFile)) {
        if (!ws.write(chunk)) {
          await new Promise<void>((r) => {
            ws.once('drain', () => r())
          })
        }
      }

      ws.end()
    })().catch(reject)
  })
}

function addRow(tag: string, name: string, m: Measured, ratio: string): void {
  rows.push([tag, name, (m.ms / 1000).toFixed(2), mbps(m).toFixed(1), ratio, m.maxRssMB.toFixed(0), cpu(m), others(m)])
}

const mbps = (m: Measured) => m.bytes / MB / (m.ms / 1000)
const cpu = (m: Measured) => `${m.cpuSec.toFixed(1)}`
const others = (m: Measured) => `${m.s3rverCpuSec?.toFixed(1) ?? '?'} / ${m.sandboxCpuSec?.toFixed(1) ?? '?'}`

const rows: string[][] = []
const sandbox = await createSandbox({
  sites: [
    {
      name: 'bench',
      envs: [
        {
          name: 'live',
          backups: sizes.map((size, i) => ({
            date: `2024-05-0${i + 1}T03:12:44Z`,
            elements: ['code' as const],
            sizes: {code: size},
          })),
        },
      ],
    },
  ],
})
const s3 = await startS3rver()
const s3rverPid = findS3rver()
await s3.createBucket('bench')
const tmp = await mkdtemp(path.join(tmpdir(), 'pbm-bench-'))
const cmd = await childCommand()
const ratios: number[] = []
const rss = new Map<string, number[]>()
const runs = Number(values.runs)
const modes = new Set(values.modes.split(','))
const skipped: Measured = {ms: Number.NaN, bytes: 0, maxRssMB: 0, cpuSec: 0}
const run1 = (cmd: string[], config: Record<string, unknown> & {mode: string}): Promise<Measured> =>
  modes.has(config.mode) ? runChild(cmd, config) : Promise.resolve(skipped)
try {
  for (let run = 1; run <= runs; run++) {
    let limit: number | undefined
    for (const [i, archive] of sandbox.archives().entries()) {
      const base = {
        endpoint: s3.endpoint,
        bucket: 'bench',
        partSize,
        queueSize,
        archive: {
          site: archive.site,
          env: archive.env,
          element: archive.element,
          folder: archive.folder,
          file: archive.file,
        },
      }
      const label = `${(archive.size / 1e9).toFixed(0)} GB`
      const tag = runs > 1 ? `${label} #${run}` : label
      console.error(`[${tag}] hashing the archive in the sandbox (first access)...`)
      if (!archive.md5) throw new Error('no md5')
      if (i === 0) {
        // Limits, measured on the first archive only.
        const file = path.join(tmp, 'source.bin')
        await writeSource(archive.file, file)
        console.error(`[${tag}] download-only...`)
        const down = await run1(cmd, {...base, mode: 'download', url: sandbox.url(archive.file), key: 'x'})
        console.error(`[${tag}] upload-only (lib-storage)...`)
        const up = await run1(cmd, {...base, mode: 'upload', file, key: `upload-only/${archive.file}`})
        console.error(`[${tag}] upload-only (pbm's S3 sink)...`)
        const upPbm = await run1(cmd, {...base, mode: 'upload-pbm', file, key: `upload-pbm/${archive.file}`})
        await rm(file)
        console.error(`[${tag}] pbm...`)
        const pbm = await run1(cmd, {...base, mode: 'pbm', url: sandbox.url(archive.file), key: `pbm/${archive.file}`})
        limit = Math.min(mbps(down), Math.max(mbps(up), mbps(upPbm)))
        if (Number.isFinite(mbps(pbm) / limit)) ratios.push(mbps(pbm) / limit)
        addRow(tag, 'download-only (limit part)', down, '')
        addRow(tag, 'upload-only, lib-storage', up, '')
        addRow(tag, 'upload-only, pbm sink', upPbm, '')
        addRow(tag, 'pbm (verified)', pbm, (mbps(pbm) / limit).toFixed(3))
        rss.set(label, [...(rss.get(label) ?? []), pbm.maxRssMB])
      } else {
        console.error(`[${tag}] pbm...`)
        const pbm = await run1(cmd, {...base, mode: 'pbm', url: sandbox.url(archive.file), key: `pbm/${archive.file}`})
        addRow(tag, 'pbm (verified)', pbm, limit ? (mbps(pbm) / limit).toFixed(3) : '')
        rss.set(label, [...(rss.get(label) ?? []), pbm.maxRssMB])
      }

      if (!modes.has('pbm')) continue
      const stored = await s3.headObject('bench', `pbm/${archive.file}`)
      if (stored?.size !== archive.size || stored.metadata['pbm-md5'] !== archive.md5)
        throw new Error(`pbm stored a wrong object for ${label}`)
    }
  }
} finally {
  if (cmd[0].endsWith('.mjs')) await rm(cmd[0], {force: true})
  await s3.stop()
  await sandbox.close()
  await rm(tmp, {recursive: true, force: true})
}

const header = ['archive', 'run', 'seconds', 'MB/s', 'ratio to limit', 'peak RSS MB', 'CPU s', 'CPU s3rver / sandbox']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ')
const spread = (xs: number[], digits: number) =>
  xs.length > 1
    ? `median ${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}, ${xs.length} runs)`
    : xs[0].toFixed(digits)
console.log(`part size ${partSize / 1024 / 1024} MiB, queue ${queueSize}, node ${process.version}`)
console.log(line(header))
for (const r of rows) console.log(line(r))
if (ratios.length > 0) console.log(`pbm / min(download-only, faster upload-only): ${spread(ratios, 3)} (target >= 0.9)`)
for (const [label, xs] of rss) console.log(`pbm peak RSS ${label}: ${spread(xs, 0)} MB (target <= 128)`)

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
