import {expect} from 'chai'
import {mkdtemp, readdir, readFile, rm, stat, utimes, writeFile} from 'node:fs/promises'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'

import {leaseFor, lockArchive, readLock} from '../../../src/destination/lock.js'

/** The archive lock as a lease, on a real folder: heartbeat, staleness whatever the host, atomic takeover. */
describe('archive lock (a lease)', () => {
  let dir: string
  let lockPath: string
  const lease = leaseFor(1000)

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pbm-lock-'))
    lockPath = path.join(dir, '.a.sql.gz.pbm.lock')
  })

  afterEach(() => rm(dir, {force: true, recursive: true}))

  /** A lock as a pbm run on another host (a pod gone) left it, its heartbeat `ageMs` old. */
  const foreignLock = async (ageMs: number) => {
    await writeFile(lockPath, `4242\nsome-other-pod\n1000\n`, {mode: 0o600})
    const then = new Date(Date.now() - ageMs)
    await utimes(lockPath, then, then)
  }

  it('a fresh lock from another host is busy; once its heartbeat is older than 3 × the timeout it is taken over', async () => {
    await foreignLock(0)
    const error = await lockArchive(lockPath, 'a.sql.gz', lease).then(
      () => {
        throw new Error('took a live lock')
      },
      (error_: Error & {code?: string}) => error_,
    )
    expect(error.code).to.equal('busy')
    expect(error.message).to.contain('pid 4242 on some-other-pod')

    await foreignLock(3 * 1000 + 500)
    expect((await readLock(lockPath, lease)).state).to.equal('stale')
    const lock = await lockArchive(lockPath, 'a.sql.gz', lease)
    expect((await readFile(lockPath, 'utf8')).split('\n').slice(0, 2)).to.deep.equal([String(process.pid), hostname()])
    await lock.release()
    expect(await readdir(dir)).to.deep.equal([])
  })

  it('a writer with a longer timeout than ours gets 3 of its own heartbeats', async () => {
    await writeFile(lockPath, `4242\nsome-other-pod\n30000\n`)
    const then = new Date(Date.now() - 10_000)
    await utimes(lockPath, then, then)
    expect((await readLock(lockPath, lease)).state).to.equal('held')
  })

  it('the holder refreshes its heartbeat while it holds the lock', async () => {
    const lock = await lockArchive(lockPath, 'a.sql.gz', {heartbeatMs: 20, staleAfterMs: 60})
    const old = new Date(Date.now() - 60_000)
    await utimes(lockPath, old, old)
    // Wait for the next heartbeat (an event: the file's mtime moves), not for a fixed time.
    while ((await stat(lockPath)).mtimeMs < Date.now() - 30_000) {
      await new Promise((resolve) => {
        setImmediate(resolve)
      })
    }

    expect((await readLock(lockPath, leaseFor(1000))).state).to.equal('held')
    await lock.release()
  })

  it('of many runs that find the same stale lock at once, exactly one takes it over', async () => {
    for (let round = 0; round < 20; round++) {
      await foreignLock(60_000)
      const attempts = await Promise.allSettled(Array.from({length: 8}, () => lockArchive(lockPath, 'a.sql.gz', lease)))
      const won = attempts.filter((a) => a.status === 'fulfilled')
      expect(won, `round ${round}`).to.have.length(1)
      for (const a of attempts) {
        if (a.status === 'rejected') expect((a.reason as {code: string}).code).to.equal('busy')
      }

      await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockArchive>>>).value.release()
      expect(await readdir(dir), `round ${round}`).to.deep.equal([])
    }
  })

  it('a takeover claim left by a run that died mid-takeover does not block the lock for ever', async () => {
    await foreignLock(60_000)
    const found = await readLock(lockPath, lease)
    if (found.state !== 'stale') throw new Error('expected a stale lock')
    const claim = `${lockPath}.${found.id}.0.takeover`
    await writeFile(claim, '')
    // A fresh claim: another run is taking over right now.
    expect(await lockArchive(lockPath, 'a.sql.gz', lease).catch((error: {code: string}) => error.code)).to.equal('busy')
    const old = new Date(Date.now() - 60_000)
    await utimes(claim, old, old)
    const lock = await lockArchive(lockPath, 'a.sql.gz', lease)
    await lock.release()
    expect(await readdir(dir)).to.deep.equal([])
  })

  it('release leaves alone a lock that another run took over meanwhile', async () => {
    const lock = await lockArchive(lockPath, 'a.sql.gz', lease)
    // Another run judged this one gone and replaced the lock with its own (a new file).
    await rm(lockPath)
    await writeFile(lockPath, `4242\nsome-other-pod\n1000\n`)
    await lock.release()
    expect(await readFile(lockPath, 'utf8')).to.equal(`4242\nsome-other-pod\n1000\n`)
  })

  it('appears already holding its pid, host and heartbeat, and leaves nothing else behind', async () => {
    const lock = await lockArchive(lockPath, 'a.sql.gz', lease)
    expect(await readFile(lockPath, 'utf8')).to.equal(`${process.pid}\n${hostname()}\n1000\n`)
    expect(await readdir(dir)).to.deep.equal(['.a.sql.gz.pbm.lock'])
    await lock.release()
    expect(await readdir(dir)).to.deep.equal([])
  })

  it("an empty lock counts as a dead run's (killed between creating it and writing its pid): taken over at once", async () => {
    await writeFile(lockPath, '')
    expect((await readLock(lockPath, lease)).state).to.equal('stale')
    const lock = await lockArchive(lockPath, 'a.sql.gz', lease)
    expect(await readFile(lockPath, 'utf8')).to.equal(`${process.pid}\n${hostname()}\n1000\n`)
    await lock.release()
    expect(await readdir(dir)).to.deep.equal([])
  })

  it("removes what older runs killed while writing their lock left (<lock>.<pid>-<hex>), never a live run's", async () => {
    // Far above any pid_max: no such process.
    const dead = '.a.sql.gz.pbm.lock.2147483646-0badc0de'
    const live = `.a.sql.gz.pbm.lock.${process.ppid}-0badc0de`
    await writeFile(path.join(dir, dead), `2147483646\n${hostname()}\n`)
    await writeFile(path.join(dir, live), `${process.ppid}\n${hostname()}\n`)
    const lock = await lockArchive(lockPath, 'a.sql.gz', lease)
    expect((await readdir(dir)).sort()).to.deep.equal(['.a.sql.gz.pbm.lock', live])
    await lock.release()
  })

  it('refuses a fresh lock of a live pid on this host, and takes over one of a dead pid at once', async () => {
    await writeFile(lockPath, `${process.ppid}\n${hostname()}\n1000\n`)
    const busy = await lockArchive(lockPath, 'a.sql.gz', lease).then(
      () => 'locked',
      (error: {code?: string}) => error.code,
    )
    expect(busy).to.equal('busy')
    expect(await readFile(lockPath, 'utf8')).to.equal(`${process.ppid}\n${hostname()}\n1000\n`)
    // An older pbm's lock (no heartbeat interval), of a pid far above any pid_max: no such process.
    await writeFile(lockPath, `2147483646\n${hostname()}\n`)
    expect(await readLock(lockPath, lease)).to.include({state: 'stale', why: 'dead'})
    const lock = await lockArchive(lockPath, 'a.sql.gz', lease)
    expect(await readFile(lockPath, 'utf8')).to.equal(`${process.pid}\n${hostname()}\n1000\n`)
    await lock.release()
  })
})
