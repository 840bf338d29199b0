import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {execa} from 'execa'
import {readdir, readFile, stat, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import path from 'node:path'

import {daysAgo, md5, PBM, startWorld, type World} from '../../helpers/cli.js'
import {motoBucket, type MotoServer, startMoto} from '../../helpers/moto.js'

/** A small seeded PRNG (mulberry32): the same seed gives the same kill moments on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d_2b_79_f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const keyOf = (a: {site: string; env: string; file: string}) => `${a.site}/${a.env}/${a.file}`

async function localFiles(
  dir: string,
): Promise<{finals: Map<string, string>; side: string[]; partials: Map<string, number>}> {
  const finals = new Map<string, string>()
  const side: string[] = []
  /** Per archive key, the largest partial file a crashed run left (the next run resumes from it). */
  const partials = new Map<string, number>()
  const entries = await readdir(dir, {recursive: true, withFileTypes: true}).catch(() => [])
  for (const e of entries) {
    if (!e.isFile()) continue
    const rel = path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/')
    if (e.name.startsWith('.')) {
      if (!e.name.endsWith('.pbm.json')) side.push(rel)
      // `.<NAME>.<pid>-<random>.partial`
      const partial = /^\.(.+)\.[^.]+\.partial$/.exec(e.name)
      if (partial) {
        const key = path.posix.join(path.posix.dirname(rel), partial[1])
        const {size} = await stat(path.join(e.parentPath, e.name))
        partials.set(key, Math.max(size, partials.get(key) ?? 0))
      }

      continue
    }

    finals.set(rel, md5(await readFile(path.join(e.parentPath, e.name))))
  }

  return {finals, side, partials}
}

const SEED = 9
const KILLS = 5

/**
 * `kill -9` a mirror to S3 (moto_server) and a local folder at seeded moments, each picked by the
 * bytes the sandbox has served (an event, not a clock), and run it again each time. After every kill
 * no final name may hold a wrong object; at the end everything is complete and verified, with no
 * open multipart upload and no partial or lock file.
 */
describe('reliability: seeded chaos (SIGKILL a mirror, re-run)', function () {
  this.timeout(240_000)
  let world: World
  let moto: MotoServer
  let s3: S3Client
  const bucket = 'pbm-chaos'

  before(async () => {
    moto = await startMoto()
    world = await startWorld({
      sites: [
        // One archive above the 5 MiB part size (a multipart upload), the others single-part.
        {
          name: 'alpha',
          envs: [{name: 'live', backups: [{date: daysAgo(1), sizes: {code: 7e6, database: 3e6, files: 2e6}}]}],
        },
        {
          name: 'beta',
          envs: [{name: 'live', backups: [{date: daysAgo(1), sizes: {code: 2e6, database: 4e6, files: 3e6}}]}],
        },
      ],
    })
    s3 = await motoBucket(moto, bucket)
  })

  after(async () => {
    s3?.destroy()
    await world?.close()
    await moto?.close()
  })

  const archives = () => world.sandbox.archives()

  async function s3Objects(): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    const list = await s3.send(new ListObjectsV2Command({Bucket: bucket}))
    for (const o of list.Contents ?? []) {
      const got = await s3.send(new GetObjectCommand({Bucket: bucket, Key: o.Key!}))
      out.set(o.Key!, md5(Buffer.from(await got.Body!.transformToByteArray())))
    }

    return out
  }

  /** Every object and file under a final name is the sandbox's archive, byte for byte. */
  async function expectNoWrongFile(dir: string, when: string): Promise<{s3: number; local: number}> {
    const expected = new Map(archives().map((a) => [keyOf(a), a.md5]))
    const objects = await s3Objects()
    for (const [key, sum] of objects) expect(sum, `${when}: S3 ${key}`).to.equal(expected.get(key))
    const {finals} = await localFiles(dir)
    for (const [rel, sum] of finals) expect(sum, `${when}: local ${rel}`).to.equal(expected.get(rel))
    return {s3: objects.size, local: finals.size}
  }

  it(`survives ${KILLS} SIGKILLs at seeded moments and ends complete, verified, with nothing left open`, async () => {
    const dir = path.join(world.tmp, 'chaos')
    const random = seeded(SEED)
    // Slow enough that a kill lands mid-transfer, fast enough to keep the whole test short.
    for (const a of archives()) world.sandbox.setFault(a.file, {rateBytesPerSec: 2_000_000})
    const args = ['backup:mirror', 'alpha.live', 'beta.live', '--bucket', bucket, '--to', dir, '--yes', '--json']
    const run = () =>
      execa(process.execPath, [PBM, ...args], {
        cwd: world.tmp,
        env: {...world.env, CI: 'true', PBM_ENDPOINT: moto.endpoint},
        reject: false,
      })

    const started = Date.now()
    const log: string[] = []
    let landed = 0
    let seen = {s3: 0, local: 0}
    for (let i = 0; i < KILLS; i++) {
      // The moment: K bytes served by the sandbox in this run, K a seeded fraction of the least it
      // still has to serve: archives not yet under their final name in both places, less what a
      // local partial file holds (the run resumes it with a Range request).
      const objects = await s3Objects()
      const {finals, partials} = await localFiles(dir)
      const missing = archives()
        .filter((a) => !objects.has(keyOf(a)) || !finals.has(keyOf(a)))
        .reduce((sum, a) => sum + a.size - (finals.has(keyOf(a)) ? 0 : (partials.get(keyOf(a)) ?? 0)), 0)
      const bytes = Math.max(Math.min(64 * 1024, missing), Math.floor((0.05 + random() * 0.35) * missing))
      world.sandbox.resetStats()
      const t0 = Date.now()
      const child = run()
      const moment = world.sandbox.waitServed(null, bytes).then(() => 'killed' as const)
      const outcome = await Promise.race([moment, child.then(() => 'exited first' as const)])
      if (outcome === 'killed') {
        child.kill('SIGKILL')
        landed++
      }

      const result = await child
      seen = await expectNoWrongFile(dir, `after kill ${i + 1}`)
      log.push(
        `run ${i + 1}: ${outcome} after ${bytes} of ${missing} missing bytes served, ${Date.now() - t0} ms ` +
          `(${result.signal ?? result.exitCode}); final names: S3 ${seen.s3}, local ${seen.local}`,
      )
    }

    // The re-run that is allowed to finish.
    world.sandbox.resetStats()
    const t0 = Date.now()
    const last = await run()
    log.push(`run ${KILLS + 1}: exit ${last.exitCode}, ${Date.now() - t0} ms`)
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    log.push(
      `final run: exit ${last.exitCode}; ${landed}/${KILLS} kills landed mid-run; ${KILLS + 1} runs in ${seconds} s`,
    )
    console.log(log.map((l) => `      ${l}`).join('\n'))
    expect(last.exitCode, `${last.stdout}\n${last.stderr}`).to.equal(0)
    // The seed must actually exercise crashes: every kill landed while pbm was running.
    expect(landed).to.equal(KILLS)

    const expected = new Map(archives().map((a) => [keyOf(a), a.md5]))
    expect(await s3Objects()).to.deep.equal(expected)
    for (const a of archives()) {
      const head = await s3.send(new HeadObjectCommand({Bucket: bucket, Key: keyOf(a)}))
      expect(head.Metadata?.['pbm-md5'], keyOf(a)).to.equal(a.md5)
    }

    const open = await s3.send(new ListMultipartUploadsCommand({Bucket: bucket}))
    expect(open.Uploads ?? []).to.deep.equal([])
    const {finals, side} = await localFiles(dir)
    expect(finals).to.deep.equal(expected)
    expect(side).to.deep.equal([])
  })

  it('a run killed between its rename and its lock release: the next run removes the dead lock', async () => {
    const dir = path.join(world.tmp, 'dead-lock')
    const db = archives().find((a) => a.site === 'beta' && a.element === 'code')!
    world.sandbox.clearFaults()
    const pick = () =>
      world.pbm(['backup:pick', 'beta.live', '--latest', '--element', 'code', '--to', dir, '--yes', '--json'])
    expect((await pick()).exitCode).to.equal(0)
    const lock = path.join(dir, 'beta', 'live', `.${db.file}.pbm.lock`)
    await writeFile(lock, `999999\n${hostname()}\n`)
    const again = await pick()
    expect(again.exitCode, String(again.stderr)).to.equal(0)
    expect(await readdir(path.dirname(lock))).to.deep.equal([`.${db.file}.pbm.json`, db.file])
  })
})
