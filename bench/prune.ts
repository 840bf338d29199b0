/**
 * bench/prune: planning a prune of a large mirror against the time of listing it alone, and the
 * memory of each. Run by hand, never in tests:
 *
 *   node --import tsx bench/prune.ts [--objects 100000] [--runs 3] [--source synthetic|moto|s3rver]
 *
 * Sources:
 *   synthetic (default)  a small HTTP server in this process answers ListObjectsV2 with generated
 *                        pages (1,000 keys each, as S3 does): the SDK's requests, XML parsing and
 *                        pbm's code are real, the storage server is not (100,000 PutObjects into moto
 *                        or s3rver take ~15-25 minutes here).
 *   moto | s3rver        a real local server, filled with --objects empty objects first (slow).
 * Each measured run is its own child process (`--child MODE`), so that its peak RSS is its own:
 *   idle  load the modules, list nothing (the floor of the RSS);
 *   list  createS3Inventory().list(), every page read and dropped;
 *   plan  the same listing into SeriesCollector, then planPrune() with
 *         --keep-daily 7 --keep-weekly 4 --keep-monthly 6 (what the command does before it deletes).
 * Reports: median time of list and plan, the ratio plan/list (target: close to 1, i.e. planning costs
 * little beside the listing), and peak RSS per mode; with --objects 10000,100000 the growth of RSS
 * with the number of objects (the listing must stay flat; the plan holds one small record per archive).
 */
import type {S3Client} from '@aws-sdk/client-s3'

import {spawn} from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {createS3Inventory} from '../src/destination/s3-inventory.js'
import {planPrune} from '../src/plan/prune.js'
import {parsePolicy} from '../src/plan/retention.js'
import {SeriesCollector} from '../src/plan/series.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
const here = path.dirname(fileURLToPath(import.meta.url))
const {values} = parseArgs({
  options: {
    objects: {type: 'string', default: '100000'},
    runs: {type: 'string', default: '3'},
    source: {type: 'string', default: 'synthetic'},
    // Internal: one measured run.
    child: {type: 'string'},
    endpoint: {type: 'string'},
    bucket: {type: 'string', default: 'bench-prune'},
  },
})
const CREDENTIALS = {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}
const SERIES = 300 // 50 sites x 2 envs x 3 elements
const ELEMENTS = ['code', 'files', 'database'] as const

/** The i-th object of the synthetic mirror: archives of 300 series, one every 6 hours, and 1% foreign keys. */
function keyOf(i: number): {key: string; size: number} {
  if (i % 100 === 99) return {key: `site${i % 50}/live/notes-${i}.txt`, size: 100}
  const s = i % SERIES
  const site = `site${s % 50}`
  const env = s % 100 < 50 ? 'live' : 'dev'
  const element = ELEMENTS[Math.floor(s / 100)]
  const date = new Date(Date.UTC(2020, 0, 1) + Math.floor(i / SERIES) * 6 * 3_600_000)
  const stamp = date.toISOString().slice(0, 19).replaceAll(':', '-')
  const ext = element === 'database' ? 'sql.gz' : 'tar.gz'
  return {key: `${site}/${env}/${site}_${env}_${stamp}_UTC_${element}.${ext}`, size: 50_000_000 + (i % 1000)}
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/** ListObjectsV2 over the synthetic mirror: the continuation token is the index of the next key. */
async function startSyntheticListing(total: number): Promise<{endpoint: string; close(): Promise<void>}> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://bench')
    req.resume()
    if (url.searchParams.get('list-type') !== '2') {
      res.writeHead(501).end()
      return
    }

    const start = Number(url.searchParams.get('continuation-token') ?? 0)
    const max = Number(url.searchParams.get('max-keys') ?? 1000)
    const end = Math.min(total, start + max)
    const parts = [
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bench-prune</Name><Prefix></Prefix><KeyCount>${end - start}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${end < total}</IsTruncated>`,
    ]
    if (end < total) parts.push(`<NextContinuationToken>${end}</NextContinuationToken>`)
    for (let i = start; i < end; i++) {
      const {key, size} = keyOf(i)
      parts.push(
        `<Contents><Key>${escapeXml(key)}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>${size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      )
    }

    parts.push('</ListBucketResult>')
    res.writeHead(200, {'content-type': 'application/xml'})
    res.end(parts.join(''))
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as {port: number}
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function fillServer(client: S3Client, bucket: string, total: number): Promise<void> {
  const {CreateBucketCommand, PutObjectCommand} = await import('@aws-sdk/client-s3')
  const {createLimit} = await import('../src/util/limit.js')
  await client.send(new CreateBucketCommand({Bucket: bucket}))
  const limit = createLimit(16)
  const batch = 2000
  for (let i = 0; i < total; i += batch) {
    await Promise.all(
      Array.from({length: Math.min(batch, total - i)}, (_, j) =>
        limit(() => client.send(new PutObjectCommand({Bucket: bucket, Key: keyOf(i + j).key, Body: ''}))),
      ),
    )
    process.stderr.write(`\r  filled ${Math.min(total, i + batch)} / ${total}`)
  }

  process.stderr.write('\n')
}

/** One measured run, in a child: prints {ms, rssMB, objects, ...}. */
async function child(mode: string, endpoint: string, bucket: string): Promise<void> {
  const inventory = createS3Inventory({bucket, endpoint, credentials: CREDENTIALS, region: 'us-east-1'})
  const policy = parsePolicy({keepDaily: 7, keepWeekly: 4, keepMonthly: 6})
  const started = performance.now()
  let objects = 0
  let result: Record<string, number> = {}
  let collectorHold: unknown
  if (mode === 'list') {
    for await (const page of inventory.list()) objects += page.length
  } else if (mode === 'plan') {
    const collector = new SeriesCollector()
    for await (const page of inventory.list()) {
      objects += page.length
      collector.add(page)
    }

    const plan = planPrune(collector.result(), policy, {now: new Date()})
    collectorHold = plan
    result = {series: plan.series.length, ...plan.summary, foreign: plan.foreign.count}
  }

  const ms = performance.now() - started
  const rssMB = process.resourceUsage().maxRSS / 1024
  // What the run still holds after a full collection (the plan keeps one record per archive until
  // here, as the command does until it has deleted): flat for the listing, linear for the plan.
  ;(globalThis as {gc?: () => void}).gc?.()
  const heapMB = process.memoryUsage().heapUsed / 1e6
  process.stdout.write(JSON.stringify({mode, ms, rssMB, heapMB, objects, ...result}) + '\n')
  // Keep the plan reachable until the heap was measured.
  if (result.series === -1) console.log(collectorHold)
}

interface Run {
  mode: string
  ms: number
  rssMB: number
  heapMB: number
  objects: number
  removed?: number
  kept?: number
  series?: number
}

function runChild(mode: string, endpoint: string, bucket: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      // As bin/run.js runs pbm; --expose-gc only to measure what is retained at the end.
      [
        '--max-semi-space-size=1',
        '--expose-gc',
        '--import',
        'tsx',
        path.join(here, 'prune.ts'),
        '--child',
        mode,
        '--endpoint',
        endpoint,
        '--bucket',
        bucket,
      ],
      {stdio: ['ignore', 'pipe', 'inherit']},
    )
    let out = ''
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    p.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim()) as Run)
      else reject(new Error(`child ${mode} exited ${code}`))
    })
  })
}

function mem(runs: Run[]): string {
  return `${median(runs.map((x) => x.rssMB)).toFixed(0)} MB | ${median(runs.map((x) => x.heapMB)).toFixed(1)} MB`
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

async function main(): Promise<void> {
  if (values.child) {
    await child(values.child, values.endpoint!, values.bucket)
    return
  }

  const runs = Number(values.runs)
  for (const total of values.objects.split(',').map(Number)) {
    let endpoint: string
    let stop: () => Promise<void>
    const bucket = `bench-prune-${total}`
    if (values.source === 'synthetic') {
      const server = await startSyntheticListing(total)
      endpoint = server.endpoint
      stop = () => server.close()
    } else if (values.source === 'moto') {
      const {startPruneMoto} = await import('../test/helpers/moto-prune.js')
      const server = await startPruneMoto()
      endpoint = server.endpoint
      await fillServer(await server.client(), bucket, total)
      stop = () => server.stop()
    } else {
      const {startS3rver} = await import('../test/helpers/s3.js')
      const server = await startS3rver()
      endpoint = server.endpoint
      await fillServer(await server.client(), bucket, total)
      stop = () => server.stop()
    }

    const byMode: Record<string, Run[]> = {idle: [], list: [], plan: []}
    try {
      for (let r = 0; r < runs; r++) {
        // Interleaved, so that a busy moment of the shared machine hits every mode alike.
        for (const mode of ['idle', 'list', 'plan']) {
          byMode[mode].push(await runChild(mode, endpoint, bucket))
        }
      }
    } finally {
      await stop()
    }

    const list = byMode.list.map((x) => x.ms)
    const plan = byMode.plan.map((x) => x.ms)
    const ratios = byMode.plan.map((p, i) => p.ms / byMode.list[i].ms)
    const last = byMode.plan.at(-1)!
    console.log(
      `\n${total} objects (${values.source}), ${runs} run(s): ${last.series} series, plan keeps ${last.kept}, removes ${last.removed}`,
    )
    console.log(`| | time, median (range) | peak RSS, median | heap held at the end |`)
    console.log(`|---|---|---|---|`)
    console.log(`| idle (modules loaded) | - | ${mem(byMode.idle)} |`)
    console.log(
      `| list alone | ${median(list).toFixed(0)} ms (${Math.min(...list).toFixed(0)}-${Math.max(...list).toFixed(0)}) | ${mem(byMode.list)} |`,
    )
    console.log(
      `| list + plan | ${median(plan).toFixed(0)} ms (${Math.min(...plan).toFixed(0)}-${Math.max(...plan).toFixed(0)}) | ${mem(byMode.plan)} |`,
    )
    console.log(
      `ratio plan/list: ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
    )
  }
}

await main()
