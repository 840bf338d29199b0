import {expect} from 'chai'
import {copyFile, mkdir, readdir} from 'node:fs/promises'
import path from 'node:path'

import type {ArchiveResult, MirrorResult, PickResult} from '../../../src/jobs/results.js'

import {daysAgo, json, listFiles, startWorld, type World} from '../../helpers/cli.js'

/**
 * A dry run predicts the real run: it makes the same read-only checks (pbm's records, sizes, a probe
 * of the source and a read-back where the real run needs them), writes nothing, and says per archive
 * and destination what the real run then does (planned = transferred), with sizes.
 */
/** Each row's fate, a dry run's `planned` read as the real run's `transferred`. */
function fates(rows: ArchiveResult[]): string[][] {
  return rows
    .map((r) => [r.destination, r.element, r.status === 'planned' ? 'transferred' : r.status, r.error?.code ?? ''])
    .sort()
}

describe('--dry-run predicts the real run (built CLI)', () => {
  let world: World
  const archive = (element: string) => world.sandbox.archives().find((a) => a.element === element)!

  before(async () => {
    world = await startWorld({
      sites: [
        {
          envs: [
            {
              backups: [{date: daysAgo(1), sizes: {code: 300_000, database: 200_000, files: 400_000}}],
              name: 'live',
            },
          ],
          name: 'beta',
        },
      ],
    })
  })

  after(() => world.close())

  it('backup:mirror: for a half-mirrored set, the dry run says per archive what the real run then does', async () => {
    const to = path.join(world.tmp, 'half')
    const dir = path.join(to, 'beta', 'live')
    // Half mirrored: code in S3 and database in the folder by pbm (with their records); the files
    // archive copied into the folder by hand (no record, same bytes); a different object in S3 under
    // the files key (not pbm's).
    const code = await world.pbm(['backup:pick', 'beta.live', '--file', archive('code').file, '--bucket', world.bucket])
    expect(code.exitCode, String(code.stderr)).to.equal(0)
    const database = await world.pbm(['backup:pick', 'beta.live', '--file', archive('database').file, '--to', to])
    expect(database.exitCode, String(database.stderr)).to.equal(0)
    const elsewhere = path.join(world.tmp, 'elsewhere')
    const files = await world.pbm(['backup:pick', 'beta.live', '--file', archive('files').file, '--to', elsewhere])
    expect(files.exitCode, String(files.stderr)).to.equal(0)
    await mkdir(dir, {recursive: true})
    await copyFile(path.join(elsewhere, 'beta', 'live', archive('files').file), path.join(dir, archive('files').file))
    await world.s3.putObject(world.bucket, `beta/live/${archive('files').file}`, 'not the archive')
    const keysBefore = await world.s3.listKeys(world.bucket)
    const filesBefore = await readdir(dir)

    const args = ['backup:mirror', 'beta.live', '--bucket', world.bucket, '--to', to, '--yes']
    world.sandbox.resetStats()
    const dry = await world.pbm([...args, '--dry-run', '--json'])
    const predicted = json<MirrorResult>(dry)
    // Nothing written, nothing downloaded (a one-byte probe at most, where the real run probes too).
    expect(await world.s3.listKeys(world.bucket)).to.deep.equal(keysBefore)
    expect(await readdir(dir)).to.deep.equal(filesBefore)
    for (const a of world.sandbox.archives()) expect(world.sandbox.stats(a.file).bytesServed, a.file).to.be.at.most(1)
    expect(predicted.summary).to.include({failed: 1, planned: 2, skipped: 3, transferred: 0})
    for (const r of predicted.archives.filter((r) => r.status !== 'failed')) {
      expect(r.bytes, `${r.destination} ${r.element}`).to.equal(archive(r.element).size)
    }

    const table = await world.pbm([...args, '--dry-run'])
    const lines = String(table.stdout).split('\n')
    for (const status of ['planned', 'skipped']) {
      const rows = lines.filter((l) => l.startsWith(status))
      expect(rows, status).to.not.be.empty
      for (const row of rows) expect(row, row).to.match(/\s\d+(\.\d)? kB(\s|$)/)
    }

    const real = json<MirrorResult>(await world.pbm([...args, '--json']))
    expect(fates(predicted.archives)).to.deep.equal(fates(real.archives))
    expect(fates(real.archives)).to.deep.equal([
      ['local', 'code', 'transferred', ''],
      ['local', 'database', 'skipped', ''],
      ['local', 'files', 'skipped', ''],
      ['s3', 'code', 'skipped', ''],
      ['s3', 'database', 'transferred', ''],
      ['s3', 'files', 'failed', 'exists-different'],
    ])
  })

  it('backup:pick --dry-run --to DIR: a file already there is skipped, not planned', async () => {
    const to = path.join(world.tmp, 'pick-dry')
    const first = await world.pbm(['backup:pick', 'beta.live', '--latest', '--element', 'db', '--to', to, '--yes'])
    expect(first.exitCode, String(first.stderr)).to.equal(0)
    const before = await listFiles(to)
    const args = ['backup:pick', 'beta.live', '--latest', '--to', to, '--yes', '--json']
    const dry = json<PickResult>(await world.pbm([...args, '--dry-run']))
    expect(await listFiles(to)).to.deep.equal(before)
    const real = json<PickResult>(await world.pbm(args))
    expect(fates(dry.archives)).to.deep.equal(fates(real.archives))
    expect(fates(dry.archives)).to.deep.equal([
      ['local', 'code', 'transferred', ''],
      ['local', 'database', 'skipped', ''],
      ['local', 'files', 'transferred', ''],
    ])
  })
})
