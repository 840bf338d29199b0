import {expect} from 'chai'
import {execa} from 'execa'
import {mkdir, readdir, readFile, stat, watch} from 'node:fs/promises'
import path from 'node:path'

import type {MirrorResult} from '../../../src/jobs/results.js'

import {daysAgo, json, md5, PBM, startWorld, type World} from '../../helpers/cli.js'
import {type RecordingProxy, startRecordingProxy} from '../../helpers/s3.js'

/**
 * Resolves once `count` partial files under `dir` hold bytes: each change in the folder is an event
 * (inotify), after which the files are looked at; no polling, no sleep.
 */
async function partialsWritten(dir: string, count: number): Promise<void> {
  await mkdir(dir, {mode: 0o700, recursive: true})
  const stop = new AbortController()
  const changes = watch(dir, {signal: stop.signal})
  const written = async () => {
    const sizes = await Promise.all(
      (await readdir(dir))
        .filter((f) => f.endsWith('.partial'))
        .map((f) =>
          stat(path.join(dir, f)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
    )
    return sizes.filter((size) => size > 0).length >= count
  }

  try {
    // Watching starts before the first look, so no change between the two is missed.
    const events = changes[Symbol.asyncIterator]()
    const nextChange = () => {
      const change = events.next()
      // Ended by stop.abort() below when nobody waits for it any more.
      change.catch(() => {})
      return change
    }

    let change = nextChange()
    while (!(await written())) {
      if ((await change).done) return
      change = nextChange()
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error
  } finally {
    stop.abort()
  }
}

/**
 * Ctrl-C (SIGINT) in the middle of transfers: every started multipart upload is aborted, nothing is
 * under a final name, each local partial file is kept (its lock released) for the next run to resume,
 * an archive already at a destination stays `skipped`, the summary says what happened, exit 130.
 */
describe('interrupting a transfer (SIGINT)', () => {
  let world: World
  let proxy: RecordingProxy

  before(async () => {
    world = await startWorld({
      sites: [
        {
          envs: [
            {
              backups: [{date: daysAgo(1), sizes: {code: 3_000_000, database: 2_000_000, files: 4_000_000}}],
              name: 'live',
            },
          ],
          name: 'alpha',
        },
      ],
    })
    proxy = await startRecordingProxy(world.s3.endpoint)
  })

  after(async () => {
    await proxy?.close()
    await world?.close()
  })

  beforeEach(() => {
    proxy.reset()
    // Slow enough that the transfers are surely in flight when the signal comes.
    for (const archive of world.sandbox.archives()) world.sandbox.setFault(archive.file, {rateBytesPerSec: 500_000})
  })

  const interrupt = async (args: string[], partials?: {count: number; dir: string}) => {
    world.sandbox.resetStats()
    const child = execa(process.execPath, [PBM, ...args], {
      cwd: world.tmp,
      env: {...world.env, CI: 'true', PBM_ENDPOINT: proxy.endpoint},
      reject: false,
    })
    // Wait until archive bytes flow (the sandbox's event, not a poll), then press Ctrl-C.
    const served = world.sandbox.archives().reduce((sum, a) => sum + world.sandbox.stats(a.file).bytesServed, 0)
    await world.sandbox.waitServed(null, served + 300_000)
    if (partials) await partialsWritten(partials.dir, partials.count)
    child.kill('SIGINT')
    return child
  }

  for (const command of ['backup:pick', 'backup:mirror']) {
    it(`${command}: aborts uploads, keeps one partial per archive and no lock, exits 130 with a summary`, async () => {
      const dir = path.join(world.tmp, command.replace(':', '-'))
      const choice = command === 'backup:pick' ? ['--latest'] : []
      const result = await interrupt(
        [command, 'alpha.live', ...choice, '--bucket', world.bucket, '--prefix', command, '--to', dir],
        {count: 3, dir: path.join(dir, 'alpha', 'live')},
      )
      expect(result.exitCode, String(result.stderr)).to.equal(130)
      expect(String(result.stdout), String(result.stdout)).to.match(
        /6 failed \(6 interrupted: 3 partial downloads kept, the next run resumes them\)/,
      )
      expect(String(result.stdout)).to.match(/: Interrupted: partial of [\d.]+ [kM]B kept; the next run resumes\./)
      expect(String(result.stderr)).not.to.match(/\n\s+at /)
      expect(await world.s3.listKeys(world.bucket, command)).to.deep.equal([])
      expect(proxy.openUploads()).to.deep.equal([])
      expect(proxy.requests.filter((r) => r.op === 'PutObject' || r.op === 'CompleteMultipartUpload')).to.deep.equal([])
      const files = (await readdir(dir, {recursive: true}).catch(() => [])).map(String)
      // Nothing under a final name, no lock; one partial per archive, kept for the next run.
      expect(files.filter((f) => f.endsWith('.gz') || f.endsWith('.lock'))).to.deep.equal([])
      expect(files.filter((f) => f.endsWith('.partial'))).to.have.length(3)
    })
  }

  it('a re-run after Ctrl-C resumes each partial: it downloads little more than what was missing', async () => {
    const dir = path.join(world.tmp, 'resume-after-ctrl-c')
    const first = await interrupt(['backup:pick', 'alpha.live', '--latest', '--to', dir], {
      count: 3,
      dir: path.join(dir, 'alpha', 'live'),
    })
    expect(first.exitCode, String(first.stderr)).to.equal(130)
    const live = path.join(dir, 'alpha', 'live')
    const kept = new Map<string, number>()
    for (const name of await readdir(live)) {
      const archive = world.sandbox.archives().find((a) => name.startsWith(`.${a.file}.`) && name.endsWith('.partial'))
      if (archive) kept.set(archive.file, (await stat(path.join(live, name))).size)
    }

    expect(kept.size).to.equal(3)
    world.sandbox.clearFaults()
    world.sandbox.resetStats()
    const again = await world.pbm(['backup:pick', 'alpha.live', '--latest', '--to', dir, '--yes', '--json'])
    expect(again.exitCode, String(again.stderr)).to.equal(0)
    for (const archive of world.sandbox.archives()) {
      const missing = archive.size - kept.get(archive.file)!
      expect(kept.get(archive.file), archive.file).to.be.above(0)
      expect(world.sandbox.stats(archive.file).bytesServed, archive.file).to.be.at.most(1.1 * missing)
      expect(md5(await readFile(path.join(live, archive.file)))).to.equal(archive.md5)
    }

    expect((await readdir(live)).filter((f) => f.endsWith('.partial') || f.endsWith('.lock'))).to.deep.equal([])
  })

  it('an archive already in S3 stays skipped when Ctrl-C stops its copy to a folder, in flight or queued', async () => {
    world.sandbox.clearFaults()
    const toS3 = ['backup:mirror', 'alpha.live', '--bucket', world.bucket, '--prefix', 'skipped-stays/']
    const stored = await world.pbm([...toS3, '--yes'])
    expect(stored.exitCode, String(stored.stderr)).to.equal(0)
    for (const archive of world.sandbox.archives()) world.sandbox.setFault(archive.file, {rateBytesPerSec: 500_000})
    const dir = path.join(world.tmp, 'skipped-stays')
    // One slot: one archive in flight, two waiting for the slot when Ctrl-C comes.
    const result = await interrupt([...toS3, '--to', dir, '--concurrency', '1', '--json'], {
      count: 1,
      dir: path.join(dir, 'alpha', 'live'),
    })
    expect(result.exitCode, String(result.stderr)).to.equal(130)
    const out = json<MirrorResult>(result)
    const s3Rows = out.archives.filter((a) => a.destination === 's3')
    expect(s3Rows.map((a) => [a.status, a.note])).to.deep.equal([
      ['skipped', 'already mirrored'],
      ['skipped', 'already mirrored'],
      ['skipped', 'already mirrored'],
    ])
    const localRows = out.archives.filter((a) => a.destination === 'local')
    expect(localRows.map((a) => a.error?.code)).to.deep.equal(['interrupted', 'interrupted', 'interrupted'])
    expect(localRows.filter((a) => a.kept).map((a) => a.error?.message)).to.satisfy(
      (messages: string[]) =>
        messages.length === 1 && /^Interrupted: partial of .+ kept; the next run resumes\.$/.test(messages[0]),
    )
    expect(out.summary).to.include({failed: 3, interrupted: 3, partialsKept: 1, skipped: 3})
  })
})
