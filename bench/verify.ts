/**
 * bench/verify: `pbm backup:verify --deep` reading one archive back, against a plain download-only read
 * of the same object from the same server, and pbm's peak memory. Run by hand, never in tests:
 *
 *   npm run build && node --import tsx bench/verify.ts [--size 1e9] [--runs 3]
 *
 * One sandbox (in this process) and one s3rver (a child). The archive is mirrored once with the built
 * CLI (`backup:mirror --bucket --to`), so it carries pbm's record. Then, per run, interleaved, each as
 * its own process under /usr/bin/time (wall time and peak RSS):
 *   s3 download-only    node: GetObject with the SDK, iterate the body, discard;
 *   s3 pbm --deep       node bin/run.js backup:verify --bucket --deep --offline (MD5, CRC32C, inflate);
 *   local read-only     node: createReadStream (1 MiB reads), discard;
 *   local pbm --deep    node bin/run.js backup:verify --to --deep --offline.
 * The ratio is download-only time / pbm time from the same run (target >= 0.9); pbm's time includes
 * its start-up (oclif, the SDK), as a user sees it: pbm runs as installed, with its oclif manifest
 * (bench/installed.ts; built first with `npm run build`).
 *
 * With `--link MB/s` (e.g. 125 for 1 Gbit/s), each run also measures the S3 pair through a link of
 * that speed (bench/link.ts): on loopback s3rver serves faster than any network and takes a core of the
 * same machine, so the plain pair answers "how fast can pbm verify here" and the linked pair "does pbm
 * keep up with a download of a real speed".
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
import {type Link, startLink} from './link.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const {values} = parseArgs({
  options: {
    link: {type: 'string'},
    runs: {default: '3', type: 'string'},
    size: {default: '1e9', type: 'string'},
  },
})
const size = Number(values.size)
const runs = Number(values.runs)
const MB = 1e6
const linkMBps = values.link === undefined ? undefined : Number(values.link)
if (linkMBps !== undefined && !(linkMBps > 0)) throw new Error(`--link: a speed in MB/s, not ${values.link}`)

const sandbox = await createSandbox({
  latencyMs: 0,
  sites: [
    {
      envs: [
        {
          backups: [{date: new Date(Date.now() - 3_600_000).toISOString(), elements: ['code'], sizes: {code: size}}],
          name: 'live',
        },
      ],
      name: 'bench',
    },
  ],
})
const s3 = await startS3rver()
await s3.createBucket('bench')
const tmp = await mkdtemp(path.join(tmpdir(), 'pbm-bench-verify-'))
const folder = path.join(tmp, 'mirror')
const env = {
  ...process.env,
  ...S3RVER_ENV,
  ...sandbox.env,
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  NO_COLOR: '1',
  PBM_ENDPOINT: s3.endpoint,
  PBM_TERMINUS: sandbox.terminusPath,
}
const pkg = await installedCopy(ROOT, 'pbm-bench-verify-pkg-')
const PBM = path.join(pkg, 'bin', 'run.js')
const [archive] = sandbox.archives()
const key = `bench/live/${archive.file}`

interface Measured {
  seconds: number
  maxRssMB: number
}

/** One process under /usr/bin/time: wall seconds and peak RSS (KB, of it and its children). */
async function measure(
  command: string[],
  check?: (stdout: string) => void,
  endpoint = env.PBM_ENDPOINT,
): Promise<Measured> {
  const result = await execa('/usr/bin/time', ['-f', 'PBM_TIME %e %M', ...command], {
    cwd: ROOT,
    env: {...env, PBM_ENDPOINT: endpoint},
    extendEnv: false,
    reject: false,
  })
  const m = /PBM_TIME ([\d.]+) (\d+)/.exec(String(result.stderr))
  if (!m) throw new Error(`${command.join(' ')}: exit ${result.exitCode}\n${result.stderr}`)
  check?.(String(result.stdout))
  return {maxRssMB: Number(m[2]) / 1024, seconds: Number(m[1])}
}

const DOWNLOAD_ONLY = `
import {GetObjectCommand, S3Client} from '@aws-sdk/client-s3'
const s3 = new S3Client({endpoint: process.env.PBM_ENDPOINT, forcePathStyle: true, region: 'us-east-1',
  requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED'})
const got = await s3.send(new GetObjectCommand({Bucket: 'bench', Key: process.argv[1]}))
let n = 0
for await (const chunk of got.Body) n += chunk.length
if (n !== ${size}) throw new Error('read ' + n)
`
const READ_ONLY = `
import {createReadStream} from 'node:fs'
let n = 0
for await (const chunk of createReadStream(process.argv[1], {highWaterMark: 1 << 20})) n += chunk.length
if (n !== ${size}) throw new Error('read ' + n)
`
const deepOk = (stdout: string) => {
  const doc = JSON.parse(stdout) as {summary: {bytesRead: number; problems: number}}
  if (doc.summary.problems !== 0 || doc.summary.bytesRead !== size) throw new Error(`pbm: ${stdout}`)
}

let link: Link | undefined
try {
  console.error(`mirroring a ${(size / MB).toFixed(0)} MB archive into s3rver and ${folder} ...`)
  const mirrored = await execa(
    process.execPath,
    [PBM, 'backup:mirror', 'bench.live', '--element', 'code', '--bucket', 'bench', '--to', folder],
    {cwd: ROOT, env, extendEnv: false, reject: false},
  )
  if (mirrored.exitCode !== 0) throw new Error(`mirror failed:\n${mirrored.stdout}\n${mirrored.stderr}`)

  const rows: string[][] = []
  const ratios = {link: [] as number[], local: [] as number[], s3: [] as number[]}
  link = linkMBps === undefined ? undefined : await startLink(s3.endpoint, linkMBps * MB)
  const pbmRss: number[] = []
  for (let run = 1; run <= runs; run++) {
    const download = await measure([process.execPath, '--input-type=module', '-e', DOWNLOAD_ONLY, key])
    const deepS3 = await measure(
      [process.execPath, PBM, 'backup:verify', '--bucket', 'bench', '--deep', '--offline', '--json'],
      deepOk,
    )
    const read = await measure([process.execPath, '--input-type=module', '-e', READ_ONLY, path.join(folder, key)])
    const deepLocal = await measure(
      [process.execPath, PBM, 'backup:verify', '--to', folder, '--deep', '--offline', '--json'],
      (stdout) => {
        // Without a local completion record the archive is "unverifiable" but fully read: check the bytes.
        const doc = JSON.parse(stdout) as {summary: {bytesRead: number; corrupt: number}}
        if (doc.summary.corrupt !== 0 || doc.summary.bytesRead !== size) throw new Error(`pbm: ${stdout}`)
      },
    )
    if (link) {
      const linked = await measure(
        [process.execPath, '--input-type=module', '-e', DOWNLOAD_ONLY, key],
        undefined,
        link.endpoint,
      )
      const deepLinked = await measure(
        [process.execPath, PBM, 'backup:verify', '--bucket', 'bench', '--deep', '--offline', '--json'],
        deepOk,
        link.endpoint,
      )
      ratios.link.push(linked.seconds / deepLinked.seconds)
      rows.push(
        [
          String(run),
          `link ${linkMBps} MB/s download-only`,
          linked.seconds.toFixed(2),
          (size / MB / linked.seconds).toFixed(0),
          '',
          linked.maxRssMB.toFixed(0),
        ],
        [
          String(run),
          `link ${linkMBps} MB/s pbm --deep`,
          deepLinked.seconds.toFixed(2),
          (size / MB / deepLinked.seconds).toFixed(0),
          (linked.seconds / deepLinked.seconds).toFixed(2),
          deepLinked.maxRssMB.toFixed(0),
        ],
      )
    }

    ratios.s3.push(download.seconds / deepS3.seconds)
    ratios.local.push(read.seconds / deepLocal.seconds)
    pbmRss.push(deepS3.maxRssMB, deepLocal.maxRssMB)
    const row = (name: string, m: Measured, ratio = '') => [
      String(run),
      name,
      m.seconds.toFixed(2),
      (size / MB / m.seconds).toFixed(0),
      ratio,
      m.maxRssMB.toFixed(0),
    ]
    rows.push(
      row('s3 download-only', download),
      row('s3 pbm --deep', deepS3, (download.seconds / deepS3.seconds).toFixed(2)),
      row('local read-only', read),
      row('local pbm --deep', deepLocal, (read.seconds / deepLocal.seconds).toFixed(2)),
    )
  }

  const header = ['run', 'mode', 'seconds', 'MB/s', 'ratio', 'peak RSS MB']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '))
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  console.log(
    `\nmedian ratio: s3 ${median(ratios.s3).toFixed(2)}, local ${median(ratios.local).toFixed(2)}` +
      (link ? `, through a ${linkMBps} MB/s link ${median(ratios.link).toFixed(2)}` : '') +
      ' (target >= 0.9); ' +
      `pbm peak RSS ${Math.min(...pbmRss).toFixed(0)}-${Math.max(...pbmRss).toFixed(0)} MB`,
  )
} finally {
  await Promise.allSettled([
    link?.close(),
    sandbox.close(),
    s3.stop(),
    rm(tmp, {force: true, recursive: true}),
    rm(pkg, {force: true, recursive: true}),
  ])
}
