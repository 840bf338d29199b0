import {expect} from 'chai'
import {execa} from 'execa'
import {mkdtemp, readdir, readFile, rmdir, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {PickResult} from '../../../src/jobs/results.js'

import {daysAgo, json, md5, startWorld, type World} from '../../helpers/cli.js'

const PAGE = 4096
/** The archive fills exactly this many tmpfs pages. */
const ARCHIVE_PAGES = 40

/** `mount` as root, else through passwordless sudo (a CI runner); a real, small file system. */
async function mount(args: string[]): Promise<void> {
  const asRoot = process.getuid?.() === 0
  const r = await execa(asRoot ? 'mount' : 'sudo', asRoot ? args : ['-n', 'mount', ...args], {reject: false})
  if (r.exitCode !== 0) {
    throw new Error(`This test needs a small tmpfs (mount as root or sudo -n): ${r.stderr || r.stdout}`)
  }
}

/**
 * A disk that fills up exactly when pbm writes the completion record: the archive is complete,
 * verified and under its name, only its record is missing. pbm says so (transferred, record not
 * written), leaves no temporary file, and the next run recognises the archive by its MD5 (one read
 * back, no download), writes the record, and sweeps a temporary record a crashed run left.
 */
describe('reliability: a full disk while writing the completion record (tmpfs)', () => {
  let world: World
  let disk: string
  const db = () => world.sandbox.archives().find((a) => a.element === 'database')!

  before(async () => {
    world = await startWorld({
      sites: [
        {envs: [{backups: [{date: daysAgo(1), sizes: {database: ARCHIVE_PAGES * PAGE}}], name: 'live'}], name: 'alpha'},
      ],
    })
    disk = await mkdtemp(path.join(tmpdir(), 'pbm-full-'))
    // The archive's pages and one for the lock: the record is the first write that finds no space.
    await mount(['-t', 'tmpfs', '-o', `size=${(ARCHIVE_PAGES + 1) * PAGE},mode=0700`, 'tmpfs', disk])
  })

  after(async () => {
    if (disk) {
      await mount(['-o', 'remount,size=1M', disk]).catch(() => {})
      await execa(
        process.getuid?.() === 0 ? 'umount' : 'sudo',
        process.getuid?.() === 0 ? [disk] : ['-n', 'umount', disk],
        {
          reject: false,
        },
      )
      await rmdir(disk).catch(() => {})
    }

    await world?.close()
  })

  const pick = () =>
    world.pbm(['backup:pick', 'alpha.live', '--latest', '--element', 'db', '--to', disk, '--yes', '--json'])

  it('reports "transferred; record not written (disk full)", leaves no temporary file; the next run checks it by MD5', async () => {
    const dir = path.join(disk, 'alpha', 'live')
    const full = await pick()
    expect(full.exitCode, String(full.stdout)).to.equal(0)
    const [row] = json<PickResult>(full).archives
    expect(row.status).to.equal('transferred')
    expect(row.note).to.match(/^record not written \(disk full\); the next run checks it by its checksum/)
    expect(md5(await readFile(path.join(dir, db().file)))).to.equal(db().md5)
    // No record, no temporary record, no lock, no partial: only the verified archive.
    expect(await readdir(dir)).to.deep.equal([db().file])

    // Space again; and a temporary record as a run killed while writing one leaves it.
    await mount(['-o', 'remount,size=1M', disk])
    const stale = path.join(dir, `.${db().file}.pbm.json.999999-0badf00d.tmp`)
    await writeFile(stale, '{"file":', {mode: 0o600})
    world.sandbox.resetStats()
    const next = await pick()
    expect(next.exitCode, String(next.stdout)).to.equal(0)
    expect(json<PickResult>(next).archives.map((a) => [a.status, a.note])).to.deep.equal([
      ['skipped', 'same content (MD5 checked)'],
    ])
    // Recognised without a download (a one-byte probe for the source's MD5), never overwritten.
    expect(world.sandbox.stats(db().file).bytesServed).to.be.at.most(1)
    expect(await readdir(dir)).to.deep.equal([`.${db().file}.pbm.json`, db().file])
    const record = JSON.parse(await readFile(path.join(dir, `.${db().file}.pbm.json`), 'utf8')) as {md5: string}
    expect(record.md5).to.equal(db().md5)

    world.sandbox.resetStats()
    const third = await pick()
    expect(json<PickResult>(third).archives.map((a) => [a.status, a.note])).to.deep.equal([
      ['skipped', 'already mirrored'],
    ])
    expect(world.sandbox.stats(db().file).requests).to.equal(0)
  })
})
