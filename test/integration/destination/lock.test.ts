import {expect} from 'chai'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'

import {lockArchive, lockHolder} from '../../../src/destination/lock.js'

describe('destination/lock: one writer per archive', () => {
  let dir: string
  let lockPath: string

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pbm-lock-'))
    lockPath = path.join(dir, '.a.tar.gz.pbm.lock')
  })

  afterEach(async () => {
    await rm(dir, {force: true, recursive: true})
  })

  it('appears already holding its pid and host, and leaves nothing else behind', async () => {
    const lock = await lockArchive(lockPath, 'a.tar.gz')
    expect(await readFile(lockPath, 'utf8')).to.equal(`${process.pid}\n${hostname()}\n`)
    expect(await readdir(dir)).to.deep.equal(['.a.tar.gz.pbm.lock'])
    await lock.release()
    expect(await readdir(dir)).to.deep.equal([])
  })

  it('takes over an empty lock: a run killed between creating it and writing its pid', async () => {
    await writeFile(lockPath, '')
    expect(await lockHolder(lockPath)).to.deep.equal({alive: false})
    const lock = await lockArchive(lockPath, 'a.tar.gz')
    expect(await readFile(lockPath, 'utf8')).to.equal(`${process.pid}\n${hostname()}\n`)
    await lock.release()
  })

  it("removes what runs killed while writing their lock left, never a live run's", async () => {
    const dead = '.a.tar.gz.pbm.lock.2147483646-0badc0de'
    const live = `.a.tar.gz.pbm.lock.${process.ppid}-0badc0de`
    await writeFile(path.join(dir, dead), `2147483646\n${hostname()}\n`)
    await writeFile(path.join(dir, live), `${process.ppid}\n${hostname()}\n`)
    const lock = await lockArchive(lockPath, 'a.tar.gz')
    expect((await readdir(dir)).sort()).to.deep.equal(['.a.tar.gz.pbm.lock', live])
    await lock.release()
  })

  it('refuses a lock held by a live run, and takes over one of a dead pid', async () => {
    await writeFile(lockPath, `${process.ppid}\n${hostname()}\n`)
    const busy = await lockArchive(lockPath, 'a.tar.gz').then(
      () => 'locked',
      (error: {code?: string}) => error.code,
    )
    expect(busy).to.equal('busy')
    expect(await readFile(lockPath, 'utf8')).to.equal(`${process.ppid}\n${hostname()}\n`)
    // Far above any pid_max: no such process.
    await writeFile(lockPath, `2147483646\n${hostname()}\n`)
    const lock = await lockArchive(lockPath, 'a.tar.gz')
    expect(await readFile(lockPath, 'utf8')).to.equal(`${process.pid}\n${hostname()}\n`)
    await lock.release()
  })
})
