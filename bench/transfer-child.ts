/**
 * One measured process of bench/transfer.ts (run by the bench, not by hand). Modes:
 *   pbm       transferArchive() of the URL into S3 (verification on), as the CLI does it
 *   download  GET the URL and discard the bytes (download-only limit)
 *   upload    lib-storage Upload of a local file with the same part size and queue (upload-only limit,
 *             as the SDK does it: SHA-256 of every part for SigV4)
 *   upload-pbm  the same file through pbm's own S3 sink (pooled part buffers, UNSIGNED-PAYLOAD), no
 *             download, no verification: upload-only with a client as efficient as pbm's
 * Prints one JSON line: {ms, bytes, maxRssMB}.
 */
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import http from 'node:http'

interface Config {
  mode: 'download' | 'pbm' | 'upload' | 'upload-pbm'
  url?: string
  file?: string
  archive?: {site: string; env: string; element: 'code' | 'database' | 'files'; folder: string; file: string}
  endpoint: string
  bucket: string
  key: string
  partSize: number
  queueSize: number
}

const config = JSON.parse(process.env.PBM_BENCH_CONFIG!) as Config
const credentials = {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}

async function download(): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(config.url!, (res) => {
        let n = 0
        res.on('data', (c: Buffer) => {
          n += c.length
        })
        res.on('end', () => resolve(n))
        res.on('error', reject)
      })
      .on('error', reject)
  })
}

async function upload(): Promise<number> {
  const {S3Client} = await import('@aws-sdk/client-s3')
  const {Upload} = await import('@aws-sdk/lib-storage')
  const client = new S3Client({
    endpoint: config.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  let n = 0
  const body = createReadStream(config.file!, {highWaterMark: 256 * 1024})
  body.on('data', (c) => {
    n += c.length
  })
  await new Upload({
    client,
    params: {Bucket: config.bucket, Key: config.key, Body: body},
    partSize: config.partSize,
    queueSize: config.queueSize,
  }).done()
  return n
}

async function uploadPbm(): Promise<number> {
  const {createS3Destination} = await import('../src/destination/index.js')
  const dest = createS3Destination({
    bucket: config.bucket,
    endpoint: config.endpoint,
    credentials,
    partSize: config.partSize,
    queueSize: config.queueSize,
  })
  const {size} = await stat(config.file!)
  const sink = await dest.open(config.key, {...config.archive!, size}, new AbortController().signal)
  let n = 0
  for await (const chunk of createReadStream(config.file!, {highWaterMark: 256 * 1024}) as AsyncIterable<Buffer>) {
    n += chunk.length
    const w = sink.write(chunk)
    if (w) await w
  }

  await sink.commit()
  return n
}

async function pbm(): Promise<number> {
  const {createS3Destination} = await import('../src/destination/index.js')
  const {transferArchive} = await import('../src/transfer/index.js')
  const dest = createS3Destination({
    bucket: config.bucket,
    endpoint: config.endpoint,
    credentials,
    partSize: config.partSize,
    queueSize: config.queueSize,
  })
  const r = await transferArchive({
    archive: config.archive!,
    key: config.key,
    resolveUrl: async () => config.url!,
    destinations: [dest],
    force: true,
  })
  return r.bytes
}

// Load the modules first so that only the transfer is timed.
if (config.mode !== 'download') {
  await import('@aws-sdk/client-s3')
  await import('@aws-sdk/lib-storage')
}

// PBM_BENCH_MEM=1: what the peak RSS is made of (sampled every 50 ms, printed to stderr).
const peaks = {rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0}
const sampler = process.env.PBM_BENCH_MEM
  ? setInterval(() => {
      const m = process.memoryUsage()
      for (const k of Object.keys(peaks) as Array<keyof typeof peaks>) peaks[k] = Math.max(peaks[k], m[k] / 1e6)
    }, 50)
  : undefined

const modes = {download, pbm, upload, 'upload-pbm': uploadPbm}
const t0 = performance.now()
const bytes = await modes[config.mode]()
const ms = performance.now() - t0
const ru = process.resourceUsage()
if (sampler) {
  clearInterval(sampler)
  console.error(
    `[${config.mode}] peak MB: ${Object.entries(peaks)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ')}`,
  )
}

process.stdout.write(
  JSON.stringify({ms, bytes, maxRssMB: ru.maxRSS / 1024, cpuSec: (ru.userCPUTime + ru.systemCPUTime) / 1e6}) + '\n',
)
