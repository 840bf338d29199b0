import {expect} from 'chai'
import {mkdir, readdir, readFile, stat, writeFile} from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'

import {daysAgo, json, md5, startWorld, type World} from '../../helpers/cli.js'
import {CallRecorder} from '../terminus/helpers.js'

/** The built CLI, as cron runs it: faults that must never hang, leak, or leave a wrong file. */
describe('reliability: unattended runs (built CLI)', () => {
  let world: World
  let recorder: CallRecorder
  const db = () => world.sandbox.archives().find((a) => a.site === 'alpha' && a.element === 'database')!

  before(async () => {
    world = await startWorld({
      sites: [{name: 'alpha', envs: [{name: 'live', backups: [{date: daysAgo(1), sizes: {database: 3_000_000}}]}]}],
    })
    recorder = new CallRecorder(world.sandbox)
  })

  after(async () => {
    recorder.close()
    await world.close()
  })

  const pick = (to: string, extra: string[] = []) =>
    world.pbm(['backup:pick', 'alpha.live', '--latest', '--element', 'db', '--to', to, '--yes', '--json', ...extra], {
      env: {PBM_TERMINUS: recorder.bin},
    })

  it('a silent S3 endpoint fails the preflight within PBM_TIMEOUT, naming the endpoint (exit 1)', async () => {
    // Accepts connections and never answers: a wrong port, a dead proxy.
    const sockets: net.Socket[] = []
    const silent = net.createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => {
      silent.listen(0, '127.0.0.1', resolve)
    })
    const endpoint = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`
    try {
      const r = await world.pbm(
        ['backup:pick', 'alpha.live', '--latest', '--element', 'db', '--bucket', world.bucket, '--yes', '--json'],
        {env: {PBM_ENDPOINT: endpoint, PBM_TIMEOUT: '2'}, timeout: 50_000},
      )
      expect(r.exitCode, String(r.stderr)).to.equal(1)
      const out = json<{error: {code: string; message: string}}>(r)
      expect(out.error.code).to.equal('endpoint-unreachable')
      expect(out.error.message).to.contain(endpoint)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })

  it('writes 0600 archives in 0700 folders with a completion record; a re-run calls no backup:get and reads no byte', async () => {
    const to = path.join(world.tmp, 'private')
    const first = await pick(to)
    expect(first.exitCode, String(first.stderr)).to.equal(0)
    const file = path.join(to, 'alpha', 'live', db().file)
    expect(md5(await readFile(file))).to.equal(db().md5)
    expect((await stat(file)).mode & 0o777).to.equal(0o600)
    for (const dir of [to, path.join(to, 'alpha'), path.join(to, 'alpha', 'live')]) {
      expect((await stat(dir)).mode & 0o777, dir).to.equal(0o700)
    }

    expect(await readdir(path.dirname(file))).to.deep.equal([`.${db().file}.pbm.json`, db().file])

    const getsBefore = recorder.calls().filter((c) => c.args[0] === 'backup:get').length
    world.sandbox.resetStats()
    const again = await pick(to)
    expect(again.exitCode, String(again.stderr)).to.equal(0)
    expect(recorder.calls().filter((c) => c.args[0] === 'backup:get').length).to.equal(getsBefore)
    expect(world.sandbox.stats(db().file)).to.include({requests: 0, bytesServed: 0})

    // A file changed since (same size, new mtime) is no longer trusted: it is checked again, and refused.
    const bytes = await readFile(file)
    bytes[100] ^= 0xff
    await writeFile(file, bytes)
    const changed = await pick(to)
    expect(changed.exitCode).to.equal(1)
    expect(String(changed.stdout)).to.contain('exists-different')
  })

  it('resumes the partial file of a crashed run instead of starting again, and leaves no partial or lock', async () => {
    const to = path.join(world.tmp, 'crashed')
    const dir = path.join(to, 'alpha', 'live')
    await mkdir(dir, {recursive: true})
    const half = Math.floor(db().size / 2)
    const whole = Buffer.concat([...world.sandbox.bytes(db().file)])
    // What `kill -9` leaves: a partial of a dead pid, and its lock.
    await writeFile(path.join(dir, `.${db().file}.999999-0badf00d.partial`), whole.subarray(0, half), {mode: 0o600})
    await writeFile(path.join(dir, `.${db().file}.pbm.lock`), '999999\n' + (await import('node:os')).hostname() + '\n')
    world.sandbox.resetStats()
    const r = await pick(to)
    expect(r.exitCode, String(r.stderr)).to.equal(0)
    expect(md5(await readFile(path.join(dir, db().file)))).to.equal(db().md5)
    expect(world.sandbox.stats(db().file).ranges).to.include(`bytes=${half}-`)
    expect(world.sandbox.stats(db().file).bytesServed).to.be.below(db().size - half + 2)
    expect(await readdir(dir)).to.deep.equal([`.${db().file}.pbm.json`, db().file])
  })

  it('skips an archive another live pbm run is writing, and never touches its partial', async () => {
    const to = path.join(world.tmp, 'busy')
    const dir = path.join(to, 'alpha', 'live')
    await mkdir(dir, {recursive: true})
    const theirs = path.join(dir, `.${db().file}.${process.pid}-00000000.partial`)
    await writeFile(theirs, 'in progress')
    await writeFile(
      path.join(dir, `.${db().file}.pbm.lock`),
      `${process.pid}\n${(await import('node:os')).hostname()}\n`,
    )
    const r = await pick(to)
    expect(r.exitCode).to.equal(1)
    expect(String(r.stdout)).to.contain('being written by another pbm run')
    expect(await readFile(theirs, 'utf8')).to.equal('in progress')
    expect(await readdir(dir)).not.to.include(db().file)
  })
})
