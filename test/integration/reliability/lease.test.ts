import {expect} from 'chai'
import {execa, execaSync} from 'execa'
import {mkdir, readdir, readFile, stat, utimes, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {daysAgo, json, md5, PBM, startWorld, type World} from '../../helpers/cli.js'

const OTHER_HOST = 'pbm-other-pod'

/** A UTS namespace gives a child its own hostname, as a new container or pod has (root only). */
function canUnshare(): boolean {
  if (process.getuid?.() !== 0) return false
  return execaSync('unshare', ['--uts', 'true'], {reject: false}).exitCode === 0
}

/** One database archive into a folder, with a timeout (seconds), as cron would run it. */
function pickArgs(to: string, timeout: string): string[] {
  return [
    'backup:pick',
    'alpha.live',
    '--latest',
    '--element',
    'db',
    '--to',
    to,
    '--timeout',
    timeout,
    '--yes',
    '--json',
  ]
}

/**
 * Locks are leases: one OOM-killed (SIGKILL) run in another container must not block an archive on a
 * persistent volume for ever. Its lock goes stale 3 × --timeout after its last heartbeat, whatever
 * host wrote it; the next run takes it over and resumes the partial. A live writer still means busy.
 */
describe('reliability: a lock is a lease (built CLI)', () => {
  let world: World
  const db = () => world.sandbox.archives().find((a) => a.element === 'database')!

  before(async () => {
    world = await startWorld({
      sites: [{envs: [{backups: [{date: daysAgo(1), sizes: {database: 4_000_000}}], name: 'live'}], name: 'alpha'}],
    })
  })

  after(() => world.close())

  it('a run killed in another pod: busy while it beats, taken over and resumed once its heartbeat is 3 × --timeout old', async () => {
    const to = path.join(world.tmp, 'lease')
    const dir = path.join(to, 'alpha', 'live')
    const lockPath = path.join(dir, `.${db().file}.pbm.lock`)
    world.sandbox.setFault(db().file, {rateBytesPerSec: 400_000})
    world.sandbox.resetStats()
    const unshare = canUnshare()
    const env = {...world.env, CI: 'true'}
    // The writer: under another hostname when the machine allows it, else the same host (its lock
    // then gets the other host's name after the kill, as that host would have written it).
    const writer = unshare
      ? execa(
          'unshare',
          [
            '--uts',
            'sh',
            '-c',
            `hostname ${OTHER_HOST} && exec "$0" "$@"`,
            process.execPath,
            PBM,
            ...pickArgs(to, '1'),
          ],
          {env, reject: false},
        )
      : execa(process.execPath, [PBM, ...pickArgs(to, '1')], {env, reject: false})
    await world.sandbox.waitServed(db().file, 400_000)

    // While the writer lives and beats, another run (in this "pod") is told the archive is busy.
    const second = await world.pbm(pickArgs(to, '2'))
    expect(second.exitCode, String(second.stdout)).to.equal(1)
    expect(String(second.stdout)).to.contain('being written by another pbm run')
    if (unshare) expect(String(second.stdout)).to.contain(`on ${OTHER_HOST}`)

    await world.sandbox.waitServed(db().file, 2_400_000)
    writer.kill('SIGKILL')
    await writer
    const [pid, host] = (await readFile(lockPath, 'utf8')).split('\n')
    if (unshare) expect(host).to.equal(OTHER_HOST)
    else await writeFile(lockPath, `${pid}\n${OTHER_HOST}\n1000\n`)
    const partial = (await readdir(dir)).find((f) => f.endsWith('.partial'))!
    const kept = (await stat(path.join(dir, partial))).size
    expect(kept).to.be.above(0)

    // Its last heartbeat 3 × --timeout (1 s) ago and more: stale, whatever host wrote it.
    const then = new Date(Date.now() - 3500)
    await utimes(lockPath, then, then)
    // And what a run killed in the middle of an earlier takeover would have left: swept by the next holder.
    await writeFile(`${lockPath}.0123456789abcdef.0.takeover`, '')
    await writeFile(`${lockPath}.999999-0badf00d.tmp`, `999999\n${OTHER_HOST}\n1000\n`)
    world.sandbox.clearFaults()
    world.sandbox.resetStats()
    const next = await world.pbm(pickArgs(to, '1'))
    expect(next.exitCode, String(next.stdout)).to.equal(0)
    expect(json<{archives: Array<{status: string}>}>(next).archives.map((a) => a.status)).to.deep.equal(['transferred'])
    expect(md5(await readFile(path.join(dir, db().file)))).to.equal(db().md5)
    const stats = world.sandbox.stats(db().file)
    expect(stats.ranges).to.include(`bytes=${kept}-`)
    expect(stats.bytesServed).to.be.below(db().size - kept + 2)
    expect(await readdir(dir)).to.deep.equal([`.${db().file}.pbm.json`, db().file])
  })

  it('a fresh lock written by another host still answers busy, and its partial is left alone', async () => {
    const to = path.join(world.tmp, 'fresh-foreign')
    const dir = path.join(to, 'alpha', 'live')
    await mkdir(dir, {recursive: true})
    const theirs = path.join(dir, `.${db().file}.77-0badf00d.partial`)
    await writeFile(theirs, 'in progress')
    await writeFile(path.join(dir, `.${db().file}.pbm.lock`), `77\n${OTHER_HOST}\n1000\n`)
    const r = await world.pbm(pickArgs(to, '30'))
    expect(r.exitCode).to.equal(1)
    expect(String(r.stdout)).to.contain(`being written by another pbm run (pid 77 on ${OTHER_HOST})`)
    expect(await readFile(theirs, 'utf8')).to.equal('in progress')
    expect(await readdir(dir)).not.to.include(db().file)
  })
})
