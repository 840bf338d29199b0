/**
 * End-to-end tests of `pbm backup:verify` (and `backup:mirror --verify`): the built CLI against the
 * sandbox's terminus, s3rver, moto and a local folder. Damage is done the way it happens in the wild,
 * beneath pbm: a byte flipped in the stored file (s3rver's object on disk, the local archive) keeps the
 * size, the ETag and the metadata; an object deleted; a backup that is too old.
 */
import type {Result} from 'execa'

import {DeleteObjectCommand} from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {readFile, unlink, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {SandboxArchive} from '../../../sandbox/index.js'

import {daysAgo, json, md5, startWorld, type World} from '../../helpers/cli.js'
import {MOTO_CREDENTIALS, type PruneMoto, startPruneMoto} from '../../helpers/moto-prune.js'

interface VerifyJson {
  objects: Array<{
    site: string
    env: string
    element: string
    file: string
    location: string
    status: string
    note?: string
  }>
  targets: Array<{site: string; env: string; status: string; newest?: string; note?: string}>
  summary: Record<string, number | string | boolean>
  errors: Array<{code: string; message: string}>
}

function describeRun(result: Result): string {
  return `exit ${result.exitCode}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`
}

async function verify(world: World, args: string[], env?: Record<string, string | undefined>): Promise<Result> {
  const result = await world.pbm(['backup:verify', ...args], {env})
  expect(`${result.stdout}\n${result.stderr}`, 'a signed URL in the output').to.not.include('Signature=')
  return result
}

/** Flip one byte in place: same size, same mtime-independent metadata, same ETag on s3rver. */
async function flipByte(file: string, at: number): Promise<void> {
  const data = await readFile(file)
  data[at] ^= 0xff
  await writeFile(file, data)
}

const newestOf = (world: World, site: string, env: string): SandboxArchive[] => {
  const own = world.sandbox.archives().filter((a) => a.site === site && a.env === env)
  const newest = own.reduce((a, b) => (a.date >= b.date ? a : b)).folder
  return own.filter((a) => a.folder === newest)
}

function elementOf(archives: SandboxArchive[], element: string): SandboxArchive {
  const found = archives.find((a) => a.element === element)
  if (!found) throw new Error(`no ${element} archive`)
  return found
}

/** An exact time `hours` before now (pbm's filename keeps it to the second). */
const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString()

const SPEC = {
  latencyMs: 0,
  sites: [
    {
      envs: [
        {backups: [{date: daysAgo(4)}, {date: hoursAgo(3)}], name: 'live'},
        {backups: [{date: hoursAgo(50)}], name: 'dev'},
      ],
      name: 'alpha',
    },
    {envs: [{backups: [{date: hoursAgo(5)}], name: 'live'}], name: 'bravo'},
  ],
}

describe('pbm backup:verify (built CLI, sandbox + s3rver + folder)', function () {
  this.timeout(180_000)
  let world: World
  let folder: string
  const s3Object = (key: string) => {
    const parts = key.split('/')
    const last = parts.pop()!
    return path.join(world.s3.dir, world.bucket, ...parts, `${last}._S3rver_object`)
  }

  before(async () => {
    world = await startWorld(SPEC)
    folder = path.join(world.tmp, 'mirror')
    const mirrored = await world.pbm(
      ['backup:mirror', 'alpha.live', 'alpha.dev', 'bravo.live', '--bucket', world.bucket, '--to', folder, '--json'],
      {},
    )
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
  })

  after(async () => {
    await world?.close()
  })

  it('a healthy S3 mirror: exit 0, the --json shape of the issue, every object ok, every site.env ok', async () => {
    const result = await verify(world, ['--bucket', world.bucket, '--json'])
    expect(result.exitCode, describeRun(result)).to.equal(0)
    const doc = json<VerifyJson>(result)
    expect(Object.keys(doc)).to.include.members(['objects', 'targets', 'summary'])
    const expected = [
      ...newestOf(world, 'alpha', 'dev'),
      ...newestOf(world, 'alpha', 'live'),
      ...newestOf(world, 'bravo', 'live'),
    ]
    expect(doc.objects.map((o) => o.location).sort()).to.deep.equal(
      expected.map((a) => `s3://${world.bucket}/${a.site}/${a.env}/${a.file}`).sort(),
    )
    for (const o of doc.objects) {
      expect(Object.keys(o).sort()).to.deep.equal([
        'date',
        'element',
        'env',
        'file',
        'location',
        'note',
        'site',
        'status',
      ])
      expect(o.status, JSON.stringify(o)).to.equal('ok')
    }

    expect(doc.targets.map((t) => `${t.site}.${t.env}:${t.status}`)).to.deep.equal([
      'alpha.dev:ok',
      'alpha.live:ok',
      'bravo.live:ok',
    ])
    const alphaLive = newestOf(world, 'alpha', 'live')
    const newest = doc.targets.find((t) => t.site === 'alpha' && t.env === 'live')!.newest!
    // The filename's time (the backup's start), at most the finish time that backup:list shows.
    expect(new Date(newest).getTime()).to.be.at.most(alphaLive[0].date * 1000)
    expect(new Date(newest).getTime()).to.be.greaterThan(alphaLive[0].date * 1000 - 3_600_000)
    expect(doc.summary).to.include({corrupt: 0, missing: 0, objects: 9, ok: 9, problems: 0, read: 0, targets: 3})
  })

  it('--deep over the folder and the bucket reads every byte back and finds them whole', async () => {
    const result = await verify(world, ['--bucket', world.bucket, '--to', folder, '--deep', '--json'])
    const doc = json<VerifyJson>(result)
    const total = ['alpha.dev', 'alpha.live', 'bravo.live'].flatMap((t) =>
      newestOf(world, ...(t.split('.') as [string, string])),
    )
    expect(doc.summary.read).to.equal(18)
    expect(doc.summary.bytesRead).to.equal(2 * total.reduce((sum, a) => sum + a.size, 0))
    expect(doc.objects.filter((o) => o.status === 'corrupt' || o.status === 'missing')).to.deep.equal([])
    // Both carry pbm's record (S3 metadata; the local completion record): every object is ok against it.
    expect(doc.objects.filter((o) => o.status !== 'ok')).to.deep.equal([])
    expect(result.exitCode, describeRun(result)).to.equal(0)
  })

  describe('damage', () => {
    let flipped: SandboxArchive
    let deleted: SandboxArchive

    before(async () => {
      flipped = elementOf(newestOf(world, 'alpha', 'live'), 'files')
      deleted = elementOf(newestOf(world, 'bravo', 'live'), 'database')
      const flippedKey = `alpha/live/${flipped.file}`
      await flipByte(s3Object(flippedKey), Math.floor(flipped.size / 2))
      await flipByte(path.join(folder, flippedKey), Math.floor(flipped.size / 2))
      const s3 = await world.s3.client()
      await s3.send(new DeleteObjectCommand({Bucket: world.bucket, Key: `bravo/live/${deleted.file}`}))
      await unlink(path.join(folder, 'bravo', 'live', deleted.file))
    })

    it('quick finds the deleted object (missing, at both destinations), not the flipped byte: exit 3', async () => {
      const result = await verify(world, ['--bucket', world.bucket, '--to', folder, '--json'])
      expect(result.exitCode, describeRun(result)).to.equal(3)
      const doc = json<VerifyJson>(result)
      const missing = doc.objects.filter((o) => o.status === 'missing')
      expect(missing.map((o) => o.location).sort()).to.deep.equal(
        [path.join(folder, 'bravo', 'live', deleted.file), `s3://${world.bucket}/bravo/live/${deleted.file}`].sort(),
      )
      expect(missing[0].note).to.match(/newest backup on Pantheon/)
      expect(doc.objects.filter((o) => o.status === 'corrupt')).to.deep.equal([])
      expect(doc.summary.missing).to.equal(2)
      // The local record no longer matches the flipped file (its mtime): quick cannot say more than that.
      const changed = doc.objects.find((o) => o.location === path.join(folder, 'alpha', 'live', flipped.file))!
      expect(changed.status).to.equal('unverifiable')
      expect(changed.note).to.match(/written to since pbm stored it/)
      // The S3 object's size, metadata and ETag are untouched: quick sees nothing.
      expect(
        doc.objects.find((o) => o.location === `s3://${world.bucket}/alpha/live/${flipped.file}`)!.status,
      ).to.equal('ok')
    })

    it('--deep finds the flipped byte at both destinations (corrupt, with the reason)', async () => {
      const result = await verify(world, ['alpha.live', '--bucket', world.bucket, '--to', folder, '--deep', '--json'])
      expect(result.exitCode, describeRun(result)).to.equal(3)
      const doc = json<VerifyJson>(result)
      const corrupt = doc.objects.filter((o) => o.status === 'corrupt')
      expect(corrupt.map((o) => o.location).sort()).to.deep.equal(
        [path.join(folder, 'alpha', 'live', flipped.file), `s3://${world.bucket}/alpha/live/${flipped.file}`].sort(),
      )
      for (const o of corrupt) expect(o.note).to.match(/corrupt|MD5|CRC32C/)
      // Only alpha.live was asked for.
      expect(new Set(doc.objects.map((o) => `${o.site}.${o.env}`))).to.deep.equal(new Set(['alpha.live']))
    })

    it('prints a table of the problems, a count of what is fine and a summary (no --json)', async () => {
      const result = await verify(world, ['--bucket', world.bucket])
      expect(result.exitCode, describeRun(result)).to.equal(3)
      const out = String(result.stdout)
      expect(out).to.match(/STATUS\s+ELEMENT\s+WHERE\s+DETAIL/)
      expect(out).to.match(new RegExp(`missing\\s+database\\s+s3://${world.bucket}/bravo/live/${deleted.file}`))
      // bravo.live's newest set lacks an archive: the site.env is incomplete, not ok.
      expect(out).to.match(/incomplete\s+bravo\.live\s+.*the newest backup on Pantheon \(\d+_backup\) is not whole/)
      expect(out).to.include('8 objects ok, 2 site.envs ok.')
      // Other tests' objects under x/ and mv/ are not pbm's at this prefix: counted, left alone.
      expect(out).to.match(
        /9 objects checked; 2 problems: 1 object missing, 1 site\.env incomplete; (?:\d+ objects? not pbm's left alone; )?3 site\.envs in/,
      )
    })

    it('--offline makes no Terminus call: the deleted object is not known to be missing from the mirror alone', async () => {
      const result = await verify(world, ['--bucket', world.bucket, '--offline', '--json'], {
        PBM_TERMINUS: path.join(world.tmp, 'no-such-terminus'),
      })
      expect(result.exitCode, describeRun(result)).to.equal(0)
      expect(json<VerifyJson>(result).summary).to.include({missing: 0, objects: 8})
      // The same without --offline needs Terminus, and says it could not verify: exit 1.
      const online = await verify(world, ['--bucket', world.bucket, '--json'], {
        PBM_TERMINUS: path.join(world.tmp, 'no-such-terminus'),
      })
      expect(online.exitCode, describeRun(online)).to.equal(1)
    })

    it('--repair restores both (the corrupt one replaced, the missing one mirrored again); a second verify exits 0', async () => {
      const repaired = await verify(world, ['--bucket', world.bucket, '--deep', '--repair', '--json'])
      expect(repaired.exitCode, describeRun(repaired)).to.equal(0)
      const doc = json<VerifyJson>(repaired)
      expect(
        doc.objects
          .filter((o) => o.status === 'repaired')
          .map((o) => o.file)
          .sort(),
      ).to.deep.equal([deleted.file, flipped.file].sort())
      for (const a of [flipped, deleted]) {
        const stored = await world.s3.getObject(world.bucket, `${a.site}/${a.env}/${a.file}`)
        expect(md5(stored!), a.file).to.equal(a.md5)
      }

      const again = await verify(world, ['--bucket', world.bucket, '--deep', '--json'])
      expect(again.exitCode, describeRun(again)).to.equal(0)
      expect(json<VerifyJson>(again).summary).to.include({ok: 9, problems: 0, read: 9})

      // The folder too: --deep finds the flipped file, --repair replaces it and restores the deleted one.
      const localRepair = await verify(world, ['--to', folder, '--deep', '--repair', '--json'])
      expect(localRepair.exitCode, describeRun(localRepair)).to.equal(0)
      expect(json<VerifyJson>(localRepair).summary).to.include({repaired: 2})
      const local = await verify(world, ['--to', folder, '--json'])
      expect(local.exitCode, describeRun(local)).to.equal(0)
      expect(json<VerifyJson>(local).summary).to.include({ok: 9, problems: 0})
    })
  })

  it('--max-age: a site.env whose newest mirrored backup is older is stale (exit 3)', async () => {
    const stale = await verify(world, ['--bucket', world.bucket, '--max-age', '24', '--json', '--offline'])
    expect(stale.exitCode, describeRun(stale)).to.equal(3)
    const doc = json<VerifyJson>(stale)
    // alpha.dev's newest backup is 50 hours old, alpha.live's 3 and bravo.live's 5.
    expect(doc.targets.filter((t) => t.status === 'stale').map((t) => `${t.site}.${t.env}`)).to.deep.equal([
      'alpha.dev',
    ])
    expect(doc.targets.find((t) => t.status === 'stale')!.note).to.match(/^newest backup is 50 hours old \(limit 24\)$/)
    const fresh = await verify(world, ['--bucket', world.bucket, '--max-age', '60', '--offline'])
    expect(fresh.exitCode, describeRun(fresh)).to.equal(0)
  })

  it('a site.env asked for with nothing in the mirror is missing; an archive without pbm record is unverifiable; foreign keys are left alone', async () => {
    const [archive] = newestOf(world, 'alpha', 'live')
    await world.s3.putObject(world.bucket, `x/alpha/live/${archive.file}`, 'not really')
    await world.s3.putObject(world.bucket, 'x/notes.txt', 'hello')
    const result = await verify(world, [
      'alpha.live',
      'charlie.live',
      '--bucket',
      `s3://${world.bucket}/x`,
      '--offline',
      '--json',
    ])
    expect(result.exitCode, describeRun(result)).to.equal(3)
    const doc = json<VerifyJson>(result)
    expect(doc.objects).to.have.length(1)
    expect(doc.objects[0]).to.include({
      location: `s3://${world.bucket}/x/alpha/live/${archive.file}`,
      status: 'unverifiable',
    })
    expect(doc.objects[0].note).to.match(/no pbm record/)
    expect(doc.targets.map((t) => `${t.site}.${t.env}:${t.status}`)).to.deep.equal([
      'alpha.live:ok',
      'charlie.live:missing',
    ])
    expect(doc.summary).to.include({foreign: 1, targetsMissing: 1, unverifiable: 1})
  })

  it('exit codes: 2 for usage errors, 1 when the mirror cannot be read', async () => {
    for (const args of [
      ['--bucket', world.bucket, '--sample', '1/7'],
      ['--bucket', world.bucket, '--deep', '--sample', '8/7'],
      ['--bucket', world.bucket, '--offline', '--repair'],
      ['--offline'],
    ]) {
      const result = await verify(world, args)
      expect(result.exitCode, `${args.join(' ')}\n${describeRun(result)}`).to.equal(2)
    }

    const noBucket = await verify(world, ['--bucket', 'no-such-bucket-here', '--json'])
    expect(noBucket.exitCode, describeRun(noBucket)).to.equal(1)
    expect(json<{error: {code: string}}>(noBucket).error.code).to.equal('no-such-bucket')
  })

  it('--help documents the exit codes', async () => {
    const help = await world.pbm(['backup:verify', '--help'])
    expect(String(help.stdout).replaceAll(/\s+/g, ' ')).to.match(
      /0 everything checked is ok.*; 3 problems found.*1 something could not be verified.*2 a usage error; 130 interrupted/,
    )
  })

  it('backup:mirror --verify checks what it mirrored: exit 0 and the verify in --json', async () => {
    const result = await world.pbm([
      'backup:mirror',
      'bravo.live',
      '--bucket',
      `s3://${world.bucket}/mv`,
      '--verify',
      '--json',
    ])
    expect(result.exitCode, describeRun(result)).to.equal(0)
    const doc = json<{archives: unknown[]; verify: VerifyJson}>(result)
    expect(doc.verify.objects.map((o) => o.status)).to.deep.equal(['ok', 'ok', 'ok'])
    expect(doc.verify.summary).to.include({objects: 3, problems: 0})
  })
})

describe('pbm backup:verify against moto', function () {
  this.timeout(180_000)
  let world: World
  let moto: PruneMoto
  let env: Record<string, string>
  const bucket = 'pbm-verify'

  before(async () => {
    ;[world, moto] = await Promise.all([startWorld(SPEC), startPruneMoto()])
    const {CreateBucketCommand} = await import('@aws-sdk/client-s3')
    await (await moto.client()).send(new CreateBucketCommand({Bucket: bucket}))
    env = {
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      PBM_ENDPOINT: moto.endpoint,
    }
    const mirrored = await world.pbm(['backup:mirror', 'alpha.live', 'bravo.live', '--bucket', bucket], {env})
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
  })

  after(async () => {
    await Promise.allSettled([world?.close(), moto?.stop()])
  })

  it('quick finds a deleted object and a replaced one (same record, other bytes); --repair restores both; then exit 0', async () => {
    const s3 = await moto.client()
    const {GetObjectCommand, HeadObjectCommand, PutObjectCommand} = await import('@aws-sdk/client-s3')
    const code = elementOf(newestOf(world, 'alpha', 'live'), 'code')
    const db = elementOf(newestOf(world, 'bravo', 'live'), 'database')
    // A single PUT of other bytes under pbm's metadata: a plain-MD5 ETag that is not the recorded MD5.
    const head = await s3.send(new HeadObjectCommand({Bucket: bucket, Key: `alpha/live/${code.file}`}))
    const body = Buffer.from(
      await (
        await s3.send(new GetObjectCommand({Bucket: bucket, Key: `alpha/live/${code.file}`}))
      ).Body!.transformToByteArray(),
    )
    body[100] ^= 0xff
    await s3.send(
      new PutObjectCommand({Body: body, Bucket: bucket, Key: `alpha/live/${code.file}`, Metadata: head.Metadata}),
    )
    await s3.send(new DeleteObjectCommand({Bucket: bucket, Key: `bravo/live/${db.file}`}))

    const found = await verify(world, ['--bucket', bucket, '--json'], env)
    expect(found.exitCode, describeRun(found)).to.equal(3)
    const doc = json<VerifyJson>(found)
    expect(
      doc.objects
        .filter((o) => o.status !== 'ok')
        .map((o) => `${o.status} ${o.file}`)
        .sort(),
    ).to.deep.equal([`corrupt ${code.file}`, `missing ${db.file}`].sort())

    const repaired = await verify(world, ['--bucket', bucket, '--repair', '--json'], env)
    expect(repaired.exitCode, describeRun(repaired)).to.equal(0)
    expect(json<VerifyJson>(repaired).summary).to.include({repaired: 2})
    const again = await verify(world, ['--bucket', bucket, '--deep', '--json'], env)
    expect(again.exitCode, describeRun(again)).to.equal(0)
    expect(json<VerifyJson>(again).summary).to.include({ok: 6, problems: 0, read: 6})
  })

  it('--deep --sample K/N: 1/3 .. 3/3 read every object exactly once', async () => {
    const readBy: string[] = []
    for (let k = 1; k <= 3; k++) {
      const result = await verify(world, ['--bucket', bucket, '--deep', '--sample', `${k}/3`, '--json'], env)
      expect(result.exitCode, describeRun(result)).to.equal(0)
      const doc = json<VerifyJson>(result)
      expect(doc.summary.sample).to.equal(`${k}/3`)
      // Each run checks all six (quick), and reads its slice; the lines log names what was read.
      const plain = await verify(world, ['--bucket', bucket, '--deep', '--sample', `${k}/3`], env)
      readBy.push(...[...String(plain.stdout).matchAll(/reading (s3:\/\/\S+)/g)].map((m) => m[1]))
      expect(doc.summary.read).to.equal(String(plain.stdout).match(/reading s3:/g)?.length ?? 0)
    }

    expect(readBy.sort()).to.deep.equal([...new Set(readBy)].sort())
    expect(readBy).to.have.length(6)
  })
})
