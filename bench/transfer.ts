/**
 * bench/transfer: pbm's transfer of one archive into S3 (s3rver) against the limit of the same servers,
 * and pbm's peak memory. Run by hand, never in tests:
 *
 *   node --import tsx bench/transfer.ts [--sizes 1e9,4e9] [--part-size 8] [--queue 4]
 *
 * One sandbox archive server (in this process) and one s3rver (a child). Each measured run is its own
 * child process (bundled with esbuild when available, so the tsx loader does not count in its RSS):
 *   download-only  GET the URL, discard;  upload-only  lib-storage Upload of the same bytes from a file;
 *   pbm            transferArchive() to S3 with full verification (MD5, CRC32C, inflate, length).
 * The limit is min(download-only, upload-only); the target is pbm >= 0.9 of it and peak RSS <= 128 MB.
 */
import {spawn} from 'node:child_process'
import {createWriteStream} from 'node:fs'
import {mkdir, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {createSandbox} from '../sandbox/index.js'
import {startS3rver} from '../test/helpers/s3.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const {values} = parseArgs({
  options: {
    sizes: {type: 'string', default: '1e9,4e9'},
    'part-size': {type: 'string', default: '8'},
    'node-options': {type: 'string', default: ''},
    queue: {type: 'string', default: '4'},
  },
})
const sizes = values.sizes.split(',').map(Number)
const partSize = Number(values['part-size']) * 1024 * 1024
const queueSize = Number(values.queue)
const MB = 1e6

async function childCommand(): Promise<string[]> {
  const out = path.join(here, '..', 'node_modules', '.cache', 'pbm-bench', 'transfer-child.mjs')
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
}

function run(cmd: string[], config: object): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cmd, {
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
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Measured)
      else reject(new Error(`${(config as {mode: string}).mode} child exited ${code}: ${out}`))
    })
  })
}

const mbps = (m: Measured) => m.bytes / MB / (m.ms / 1000)
const cpu = (m: Measured) => `${m.cpuSec.toFixed(1)}`

const sandbox = await createSandbox({
  sites: [
    {
      name: 'bench',
      envs: [
        {
          name: 'live',
          backups: sizes.map((size, i) => ({date: `2024-05-0${i + 1}T03:12:44Z`, elements: ['code' as const], sizes: {code: size}})),
        },
      ],
    },
  ],
})
const s3 = await startS3rver()
await s3.createBucket('bench')
const tmp = await mkdtemp(path.join(tmpdir(), 'pbm-bench-'))
const cmd = await childCommand()
const rows: string[][] = []
let first: {limit: number; pbm: number} | undefined
try {
  for (const [i, archive] of sandbox.archives().entries()) {
    const base = {
      endpoint: s3.endpoint,
      bucket: 'bench',
      partSize,
      queueSize,
      archive: {site: archive.site, env: archive.env, element: archive.element, folder: archive.folder, file: archive.file},
    }
    const label = `${(archive.size / 1e9).toFixed(0)} GB`
    console.error(`[${label}] hashing the archive in the sandbox (first access)...`)
    if (!archive.md5) throw new Error('no md5')
    if (i === 0) {
      // Limits, measured on the first archive only.
      const file = path.join(tmp, 'source.bin')
      await new Promise<void>((resolve, reject) => {
        const ws = createWriteStream(file)
        ws.on('error', reject)
        ws.on('finish', () => resolve())
        ;(async () => {
          for (const chunk of sandbox.bytes(archive.file)) {
            if (!ws.write(chunk)) {
              await new Promise<void>((r) => {
                ws.once('drain', () => r())
              })
            }
          }

          ws.end()
        })().catch(reject)
      })
      console.error(`[${label}] download-only...`)
      const down = await run(cmd, {...base, mode: 'download', url: sandbox.url(archive.file), key: 'x'})
      console.error(`[${label}] upload-only...`)
      const up = await run(cmd, {...base, mode: 'upload', file, key: `upload-only/${archive.file}`})
      await rm(file)
      console.error(`[${label}] pbm...`)
      const pbm = await run(cmd, {...base, mode: 'pbm', url: sandbox.url(archive.file), key: `pbm/${archive.file}`})
      const limit = Math.min(mbps(down), mbps(up))
      first = {limit, pbm: mbps(pbm)}
      rows.push(
        [label, 'download-only (limit part)', (down.ms / 1000).toFixed(2), mbps(down).toFixed(1), '', down.maxRssMB.toFixed(0), cpu(down)],
        [label, 'upload-only (limit part)', (up.ms / 1000).toFixed(2), mbps(up).toFixed(1), '', up.maxRssMB.toFixed(0), cpu(up)],
        [label, 'pbm (verified)', (pbm.ms / 1000).toFixed(2), mbps(pbm).toFixed(1), (mbps(pbm) / limit).toFixed(3), pbm.maxRssMB.toFixed(0), cpu(pbm)],
      )
    } else {
      console.error(`[${label}] pbm...`)
      const pbm = await run(cmd, {...base, mode: 'pbm', url: sandbox.url(archive.file), key: `pbm/${archive.file}`})
      rows.push([label, 'pbm (verified)', (pbm.ms / 1000).toFixed(2), mbps(pbm).toFixed(1), first ? (mbps(pbm) / first.limit).toFixed(3) : '', pbm.maxRssMB.toFixed(0), cpu(pbm)])
    }

    const stored = await s3.headObject('bench', `pbm/${archive.file}`)
    if (stored?.size !== archive.size || stored.metadata['pbm-md5'] !== archive.md5) throw new Error(`pbm stored a wrong object for ${label}`)
  }
} finally {
  await s3.stop()
  await sandbox.close()
  await rm(tmp, {recursive: true, force: true})
}

const header = ['archive', 'run', 'seconds', 'MB/s', 'ratio to limit', 'peak RSS MB', 'CPU s']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ')
console.log(`part size ${partSize / 1024 / 1024} MiB, queue ${queueSize}, node ${process.version}`)
console.log(line(header))
for (const r of rows) console.log(line(r))
if (first) console.log(`limit ${first.limit.toFixed(1)} MB/s; pbm ${(first.pbm / first.limit).toFixed(3)} of it (target >= 0.9); RSS target <= 128 MB`)
