/**
 * End-to-end tests of `pbm backup:prune` and `backup:mirror --prune`: the built CLI against a seeded
 * mirror on s3rver, on moto (versioning, Object Lock) and in a local folder. What is kept or removed is
 * read back from the storage itself, never from what pbm printed.
 */
import type {Result} from 'execa'

import * as s3sdk from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {mkdir} from 'node:fs/promises'
import path from 'node:path'

import {daysAgo, json, listFiles, startWorld, type World} from '../../helpers/cli.js'
import {MOTO_CREDENTIALS, type PruneMoto, startPruneMoto} from '../../helpers/moto-prune.js'
import {putLocal, s3Record} from '../../helpers/records.js'

interface PruneJson {
  location: string
  dryRun: boolean
  series: Array<{
    site: string
    env: string
    element: string
    keep: Array<{file: string; date: string; reasons: string[]; locked?: {until?: string}}>
    remove: Array<{file: string; date: string; status: string; deleteMarker?: boolean}>
  }>
  summary: {
    kept: number
    removed: number
    bytesFreed: number
    wouldRemove?: number
    bytesWouldFree?: number
    locked: number
    failed: number
    deleteMarkers: number
    suspect: number
    unrecorded: number
  }
  foreign: {count: number}
  unrecorded: {count: number; bytes: number}
  stopped?: {reason: string}
}

const EXT = {code: 'tar.gz', database: 'sql.gz', files: 'tar.gz'} as const

/** `<site>/<env>/<site>_<env>_<date>_UTC_<element>.<ext>`, the layout pbm mirrors into. */
function archive(site: string, env: string, stamp: string, element: keyof typeof EXT = 'database'): string {
  return `${site}/${env}/${site}_${env}_${stamp}_UTC_${element}.${EXT[element]}`
}

/**
 * The seeded mirror and what `--keep-daily 3 --keep-monthly 2` must do with it. alpha.live database:
 * the 23:59 backup is 18 March's keeper (UTC days), 29 February is February's monthly.
 */
const KEEP = [
  archive('alpha', 'live', '2024-03-20T03-00-00'),
  archive('alpha', 'live', '2024-03-19T03-00-00'),
  archive('alpha', 'live', '2024-03-18T23-59-00'),
  archive('alpha', 'live', '2024-02-29T03-00-00'),
  archive('alpha', 'live', '2024-03-20T03-00-00', 'files'),
  archive('alpha', 'live', '2024-03-19T03-00-00', 'files'),
  archive('beta', 'dev', '2024-03-20T03-00-00'),
  archive('beta', 'dev', '2024-03-19T03-00-00'),
]
const REMOVE = [
  archive('alpha', 'live', '2024-03-18T03-00-00'),
  archive('alpha', 'live', '2024-03-17T03-00-00'),
  archive('alpha', 'live', '2024-03-10T03-00-00'),
  archive('alpha', 'live', '2024-01-31T03-00-00'),
  archive('beta', 'dev', '2024-03-20T01-00-00'),
]
/** Not pbm's: a note, another site's name, the wrong depth, the wrong extension. Never touched. */
const FOREIGN = [
  'alpha/live/notes.txt',
  'alpha/live/beta_live_2024-03-01T03-00-00_UTC_database.sql.gz',
  'alpha/alpha_live_2024-01-01T03-00-00_UTC_database.sql.gz',
  'alpha/live/alpha_live_2024-01-01T03-00-00_UTC_database.tar.gz',
]
const POLICY = ['--keep-daily', '3', '--keep-monthly', '2']

/** A mirror to prune: how to seed it, read it back, and point pbm at it. */
interface Mirror {
  name: string
  put(key: string, body?: string): Promise<void>
  keys(): Promise<string[]>
  /** pbm's destination flags (and environment) for this mirror. */
  args: string[]
  env?: Record<string, string>
  /** Foreign objects listed (a local mirror only looks at files at <site>/<env>/: 3 of the 4). */
  foreign: number
}

async function seed(mirror: Mirror): Promise<void> {
  for (const key of [...KEEP, ...REMOVE, ...FOREIGN]) await mirror.put(key, `bytes of ${key}`)
}

function files(list: Array<{file: string}>): string[] {
  return list.map((e) => e.file)
}

function sorted(keys: string[]): string[] {
  return [...keys].sort()
}

function describeRun(result: Result): string {
  return `exit ${result.exitCode}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`
}

async function s3Keys(client: s3sdk.S3Client, bucket: string, prefix: string): Promise<string[]> {
  const r = await client.send(new s3sdk.ListObjectsV2Command({Bucket: bucket, Prefix: prefix}))
  return (r.Contents ?? []).map((o) => o.Key!.slice(prefix.length))
}

describe('pbm backup:prune', function () {
  this.timeout(120_000)
  let world: World
  let moto: PruneMoto
  let n = 0

  before(async () => {
    world = await startWorld({sites: []})
    moto = await startPruneMoto()
  })

  after(async () => {
    await Promise.allSettled([world?.close(), moto?.stop()])
  })

  const prune = (mirror: Mirror, args: string[], env?: Record<string, string>) =>
    world.pbm(['backup:prune', ...mirror.args, ...args], {env: {...mirror.env, ...env}})

  const kinds: Array<{name: string; make(): Promise<Mirror>}> = [
    {
      name: 's3rver',
      async make() {
        const prefix = `run${++n}/`
        const client = await world.s3.client()
        return {
          args: ['--bucket', world.bucket, '--prefix', prefix],
          foreign: 4,
          keys: () => s3Keys(client, world.bucket, prefix),
          name: 's3rver',
          put: (key, body = 'x') => world.s3.putObject(world.bucket, prefix + key, body, s3Record(body)),
        }
      },
    },
    {
      name: 'moto',
      async make() {
        const bucket = `prune-moto-${++n}`
        const client = await moto.client()
        await client.send(new s3sdk.CreateBucketCommand({Bucket: bucket}))
        return {
          args: [`--bucket`, `s3://${bucket}/mirror`],
          foreign: 4,
          env: {
            AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
            PBM_ENDPOINT: moto.endpoint,
          },
          keys: () => s3Keys(client, bucket, 'mirror/'),
          name: 'moto',
          async put(key, body = 'x') {
            await client.send(
              new s3sdk.PutObjectCommand({Body: body, Bucket: bucket, Key: `mirror/${key}`, Metadata: s3Record(body)}),
            )
          },
        }
      },
    },
    {
      name: 'a local folder',
      async make() {
        const root = path.join(world.tmp, `local${++n}`)
        await mkdir(root, {recursive: true})
        return {
          args: ['--to', root],
          foreign: 3,
          keys: () => listFiles(root),
          name: 'local',
          put: (key, body = 'x') => putLocal(root, key, body),
        }
      },
    },
  ]

  for (const kind of kinds) {
    describe(`on ${kind.name}`, () => {
      it('removes exactly what the policy does not keep, leaves foreign keys alone, and says why each is kept', async () => {
        const mirror = await kind.make()
        await seed(mirror)
        const result = await prune(mirror, [...POLICY, '--yes'])
        expect(result.exitCode, describeRun(result)).to.equal(0)
        expect(sorted(await mirror.keys())).to.deep.equal(sorted([...KEEP, ...FOREIGN]))
        const out = String(result.stdout)
        expect(out).to.match(/alpha_live_2024-03-20T03-00-00_UTC_database\.sql\.gz\s+daily #1, monthly #1/)
        expect(out).to.match(/alpha_live_2024-03-18T23-59-00_UTC_database\.sql\.gz\s+daily #3\n/)
        expect(out).to.match(/alpha_live_2024-02-29T03-00-00_UTC_database\.sql\.gz\s+monthly #2\n/)
        expect(out).to.match(
          /beta_dev_2024-03-19T03-00-00_UTC_database\.sql\.gz\s+daily #2, oldest \(monthly count not filled\)/,
        )
        expect(out).to.match(
          /remove\s+2024-01-31 03:00:00 UTC\s+alpha_live_2024-01-31T03-00-00_UTC_database\.sql\.gz\s+removed/,
        )
        expect(out).to.match(/kept 8, removed 5 \(.+ freed\)/)
        expect(out).to.include(`${mirror.foreign} objects not pbm's left alone`)
      })

      it('--dry-run --json: the plan of the issue’s shape, and nothing removed', async () => {
        const mirror = await kind.make()
        await seed(mirror)
        const result = await prune(mirror, [...POLICY, '--dry-run', '--json'])
        expect(result.exitCode, describeRun(result)).to.equal(0)
        const doc = json<PruneJson>(result)
        expect(doc.dryRun).to.equal(true)
        const keepFiles = doc.series.flatMap((s) => files(s.keep).map((f) => `${s.site}/${s.env}/${f}`))
        const removeFiles = doc.series.flatMap((s) => files(s.remove).map((f) => `${s.site}/${s.env}/${f}`))
        expect(sorted(keepFiles)).to.deep.equal(sorted(KEEP))
        expect(sorted(removeFiles)).to.deep.equal(sorted(REMOVE))
        const alphaDb = doc.series.find((s) => s.site === 'alpha' && s.element === 'database')!
        expect(alphaDb.keep[0]).to.deep.include({date: '2024-03-20T03:00:00.000Z', reasons: ['daily #1', 'monthly #1']})
        expect(doc.series.map((s) => `${s.site}.${s.env} ${s.element}`)).to.deep.equal([
          'alpha.live files',
          'alpha.live database',
          'beta.dev database',
        ])
        // What would be removed, in fields that cannot be read as what was.
        const planned = REMOVE.reduce((n, key) => n + Buffer.byteLength(`bytes of ${key}`), 0)
        expect(doc.summary).to.include({bytesFreed: 0, bytesWouldFree: planned, kept: 8, removed: 0, wouldRemove: 5})
        expect(doc.series.flatMap((s) => s.remove.map((r) => r.status))).to.deep.equal(
          Array.from({length: 5}, () => 'planned'),
        )
        expect(doc.foreign.count).to.equal(mirror.foreign)
        expect(sorted(await mirror.keys())).to.deep.equal(sorted([...KEEP, ...REMOVE, ...FOREIGN]))
      })

      it('--max-delete below the plan: exit 1 and nothing removed', async () => {
        const mirror = await kind.make()
        await seed(mirror)
        const result = await prune(mirror, [...POLICY, '--max-delete', '4', '--yes'])
        expect(result.exitCode, describeRun(result)).to.equal(1)
        expect(String(result.stderr)).to.match(/more than --max-delete 4\. Nothing was removed/)
        expect(sorted(await mirror.keys())).to.deep.equal(sorted([...KEEP, ...REMOVE, ...FOREIGN]))
        const exact = await prune(mirror, [...POLICY, '--max-delete', '5', '--yes'])
        expect(exact.exitCode, describeRun(exact)).to.equal(0)
        expect(sorted(await mirror.keys())).to.deep.equal(sorted([...KEEP, ...FOREIGN]))
      })
    })
  }

  describe('choices', () => {
    it('SITE.ENV and --element narrow the series; the rest is not touched', async () => {
      const mirror = await kinds[2].make()
      await seed(mirror)
      const result = await prune(mirror, ['alpha.live', '--element', 'db', '--keep-last', '1', '--yes'])
      expect(result.exitCode, describeRun(result)).to.equal(0)
      const alphaDb = [...KEEP, ...REMOVE].filter((k) => k.startsWith('alpha/') && k.endsWith('database.sql.gz'))
      const gone = new Set(alphaDb.filter((k) => k !== archive('alpha', 'live', '2024-03-20T03-00-00')))
      const all = [...KEEP, ...REMOVE, ...FOREIGN]
      expect(sorted(await mirror.keys())).to.deep.equal(sorted(all.filter((k) => !gone.has(k))))
    })

    it('exit 2: no policy, a bad duration, a bad count, removing without --yes and no terminal', async () => {
      const mirror = await kinds[2].make()
      await seed(mirror)
      const before = sorted(await mirror.keys())
      const cases: Array<[string[], RegExp]> = [
        [['--yes'], /No retention policy/],
        [['--keep-daily', '0', '--yes'], /No retention policy/],
        [['--keep-within', '3w', '--yes'], /"w" is not a unit/],
        [['--keep-daily', 'seven', '--yes'], /--keep-daily seven is not a count/],
        [POLICY, /--yes/],
      ]
      for (const [args, message] of cases) {
        const result = await prune(mirror, args)
        expect(result.exitCode, `${args.join(' ')}: ${describeRun(result)}`).to.equal(2)
        expect(String(result.stderr), args.join(' ')).to.match(message)
      }

      const viaEnv = await prune(mirror, ['--dry-run'], {PBM_KEEP_DAILY: '3', PBM_KEEP_MONTHLY: '2'})
      expect(viaEnv.exitCode, describeRun(viaEnv)).to.equal(0)
      expect(String(viaEnv.stdout)).to.include('kept 8, would remove 5')
      expect(sorted(await mirror.keys())).to.deep.equal(before)
    })
  })

  describe('Object Lock and versioning (moto)', () => {
    it('a retained object is kept as "locked until DATE", not a failure; the others leave delete markers', async () => {
      const bucket = `prune-lock-${++n}`
      const client = await moto.client()
      await client.send(new s3sdk.CreateBucketCommand({Bucket: bucket, ObjectLockEnabledForBucket: true}))
      const until = new Date(Date.now() + 10 * 86_400_000)
      until.setUTCMilliseconds(0)
      const lockedKey = REMOVE[1]
      for (const key of [...KEEP, ...REMOVE]) {
        await client.send(
          new s3sdk.PutObjectCommand({
            Body: key,
            Bucket: bucket,
            ChecksumAlgorithm: 'CRC32',
            Key: `m/${key}`,
            Metadata: s3Record(key),
            ...(key === lockedKey ? {ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until} : {}),
          }),
        )
      }

      const env = {
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        PBM_ENDPOINT: moto.endpoint,
      }
      const args = ['backup:prune', '--bucket', `s3://${bucket}/m/`, ...POLICY, '--yes']
      const result = await world.pbm([...args, '--json'], {env})
      expect(result.exitCode, describeRun(result)).to.equal(0)
      const doc = json<PruneJson>(result)
      expect(doc.summary).to.include({deleteMarkers: 4, failed: 0, kept: 9, locked: 1, removed: 4})
      const alphaDb = doc.series.find((s) => s.site === 'alpha' && s.element === 'database')!
      const kept = alphaDb.keep.find((k) => lockedKey.endsWith(k.file))
      expect(kept, 'the locked backup among the kept').to.not.equal(undefined)
      expect(kept!.reasons).to.deep.equal([`locked until ${until.toISOString()} (COMPLIANCE)`])
      expect(alphaDb.remove.every((r) => r.status === 'removed' && r.deleteMarker === true)).to.equal(true)
      expect(sorted(await s3Keys(client, bucket, 'm/'))).to.deep.equal(sorted([...KEEP, lockedKey]))
      const versions = await client.send(new s3sdk.ListObjectVersionsCommand({Bucket: bucket}))
      const markers = (versions.DeleteMarkers ?? []).map((m) => m.Key!.slice(2))
      expect(sorted(markers)).to.deep.equal(sorted(REMOVE.filter((k) => k !== lockedKey)))

      // In words: a second run finds the locked one again and says so.
      const again = await world.pbm(args, {env})
      expect(again.exitCode, describeRun(again)).to.equal(0)
      expect(String(again.stdout)).to.include(`locked until ${until.toISOString()}`)
      expect(String(again.stdout)).to.match(/kept 9, removed 0 .*1 locked/)
    })
  })
})

/** Older archives of every element, already in the mirror from earlier runs. */
function older(site: string): string[] {
  return [10, 20].flatMap((days) => {
    const stamp = daysAgo(days).slice(0, 19).replaceAll(':', '-')
    return (['code', 'files', 'database'] as const).map((element) => archive(site, 'live', stamp, element))
  })
}

describe('pbm backup:mirror --prune', function () {
  this.timeout(180_000)
  let world: World

  before(async () => {
    world = await startWorld({
      latencyMs: 0,
      sites: [
        {envs: [{backups: [{date: daysAgo(1)}], name: 'live'}], name: 'good'},
        {
          envs: [{backups: [{date: daysAgo(1), faults: {files: {corruptAt: 100, times: 1000}}}], name: 'live'}],
          name: 'bad',
        },
        {envs: [{backups: [{date: daysAgo(2)}, {date: daysAgo(1)}], name: 'live'}], name: 'many'},
      ],
    })
  })

  it('--all --prune --verify checks what the prune kept, not what it just removed', async () => {
    const to = path.join(world.tmp, 'all-prune-verify')
    const run = await world.pbm([
      'backup:mirror',
      'many.live',
      '--all',
      '--to',
      to,
      '--prune',
      '--keep-last',
      '1',
      '--verify',
      '--json',
    ])
    expect(run.exitCode, describeRun(run)).to.equal(0)
    const doc = json<{prune: PruneJson[]; verify: {objects: Array<{file: string; status: string}>}}>(run)
    expect(doc.prune[0].summary).to.include({failed: 0, removed: 3})
    const newest = world.sandbox
      .archives()
      .filter((a) => a.site === 'many' && a.date * 1000 > Date.now() - 36 * 3600 * 1000)
      .map((a) => a.file)
    expect(newest).to.have.length(3)
    expect(doc.verify.objects.map((o) => `${o.file} ${o.status}`).sort()).to.deep.equal(
      newest.map((file) => `${file} ok`).sort(),
    )
  })

  after(async () => world?.close())

  it('prunes the site.envs mirrored without a failure; a failed one keeps everything', async () => {
    const prefix = 'mp/'
    for (const key of [...older('good'), ...older('bad'), 'good/live/notes.txt']) {
      await world.s3.putObject(world.bucket, prefix + key, 'old', s3Record('old'))
    }

    const result = await world.pbm([
      'backup:mirror',
      'good.live',
      'bad.live',
      '--bucket',
      world.bucket,
      '--prefix',
      prefix,
      '--prune',
      '--keep-last',
      '1',
      '--json',
    ])
    expect(result.exitCode, describeRun(result)).to.equal(1)
    const doc = json<{prune: PruneJson[]; targets: Array<{site: string; status: string}>}>(result)
    expect(doc.targets.find((t) => t.site === 'bad')?.status).to.equal('failed')
    expect(doc.prune).to.have.length(1)
    expect(doc.prune[0].series.map((s) => s.site)).to.deep.equal(['good', 'good', 'good'])
    expect(doc.prune[0].summary).to.include({failed: 0, removed: 6})

    const keys = (await world.s3.listKeys(world.bucket, prefix)).map((k) => k.slice(prefix.length))
    const mirrored = world.sandbox.archives().map((a) => `${a.site}/${a.env}/${a.file}`)
    const goodNew = mirrored.filter((k) => k.startsWith('good/'))
    const badNew = mirrored.filter((k) => k.startsWith('bad/') && !k.includes('_files.'))
    expect(goodNew).to.have.length(3)
    expect(sorted(keys)).to.deep.equal(sorted([...goodNew, 'good/live/notes.txt', ...older('bad'), ...badNew]))
  })

  it('--prune without a policy, or a --keep-* flag without --prune: exit 2 before any work', async () => {
    const noPolicy = await world.pbm(['backup:mirror', 'good.live', '--bucket', world.bucket, '--prune'])
    expect(noPolicy.exitCode, describeRun(noPolicy)).to.equal(2)
    expect(String(noPolicy.stderr)).to.match(/No retention policy/)
    const noPrune = await world.pbm(['backup:mirror', 'good.live', '--bucket', world.bucket, '--keep-daily', '3'])
    expect(noPrune.exitCode, describeRun(noPrune)).to.equal(2)
    expect(String(noPrune.stderr)).to.match(/--keep-daily is a retention setting, but --prune was not given/)
  })
})

/** An object named like a backup from the future, not written by pbm (the reproduction). */
const BOGUS = 'foo/live/foo_live_2099-01-01T00-00-00_UTC_database.sql.gz'

describe('pbm backup:prune: the newest real backup survives anything in the bucket', function () {
  this.timeout(180_000)
  let world: World
  let moto: PruneMoto
  let real: string[]
  let n = 0
  const motoEnv = () => ({
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    PBM_ENDPOINT: moto.endpoint,
  })

  before(async () => {
    world = await startWorld({
      latencyMs: 0,
      sites: [{envs: [{backups: [1, 2, 3, 4].map((days) => ({date: daysAgo(days)})), name: 'live'}], name: 'foo'}],
    })
    moto = await startPruneMoto()
    // Newest first: the four real database backups pbm mirrors.
    real = world.sandbox
      .archives()
      .filter((a) => a.element === 'database')
      .sort((a, b) => b.date - a.date)
      .map((a) => `${a.site}/${a.env}/${a.file}`)
    expect(real).to.have.length(4)
  })

  after(async () => {
    await Promise.allSettled([world?.close(), moto?.stop()])
  })

  /** The four real backups, mirrored by pbm into a folder, and the bogus one beside them. */
  async function folderWithBogus(): Promise<string> {
    const root = path.join(world.tmp, `future${++n}`)
    const mirrored = await world.pbm(['backup:mirror', 'foo.live', '--all', '--element', 'db', '--to', root, '--yes'])
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
    await putLocal(root, BOGUS, 'bogus!', false)
    expect(await listFiles(root)).to.deep.equal(sorted([...real, BOGUS]))
    return root
  }

  /** The same in a versioned moto bucket (s3://<bucket>/m/). */
  async function bucketWithBogus(): Promise<{bucket: string; keys: () => Promise<string[]>}> {
    const bucket = `future-${++n}`
    const client = await moto.client()
    await client.send(new s3sdk.CreateBucketCommand({Bucket: bucket}))
    await client.send(
      new s3sdk.PutBucketVersioningCommand({Bucket: bucket, VersioningConfiguration: {Status: 'Enabled'}}),
    )
    const mirrored = await world.pbm(
      ['backup:mirror', 'foo.live', '--all', '--element', 'db', '--bucket', `s3://${bucket}/m/`, '--yes'],
      {env: motoEnv()},
    )
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
    await client.send(new s3sdk.PutObjectCommand({Body: 'bogus!', Bucket: bucket, Key: `m/${BOGUS}`}))
    const keys = () => s3Keys(client, bucket, 'm/')
    expect(sorted(await keys())).to.deep.equal(sorted([...real, BOGUS]))
    return {bucket, keys}
  }

  it('a folder, --keep-within 30d: every real backup kept, the bogus one left alone and counted not pbm’s', async () => {
    const root = await folderWithBogus()
    const result = await world.pbm(['backup:prune', '--to', root, '--keep-within', '30d', '--yes', '--json'])
    expect(result.exitCode, describeRun(result)).to.equal(0)
    expect(await listFiles(root)).to.deep.equal(sorted([...real, BOGUS]))
    const doc = json<PruneJson>(result)
    expect(doc.summary).to.include({kept: 4, removed: 0, unrecorded: 1})
    expect(doc.unrecorded).to.deep.equal({bytes: 6, count: 1})
    // In words: counted among what is not pbm's.
    const words = await world.pbm(['backup:prune', '--to', root, '--keep-within', '30d', '--yes'])
    expect(String(words.stdout)).to.include(
      "1 object not pbm's left alone (1 named like backups but without pbm's record; --include-unrecorded counts them)",
    )
  })

  it('a folder, --include-unrecorded: the bogus one is suspect (kept, a warning), never the newest or the anchor', async () => {
    const root = await folderWithBogus()
    const within = await world.pbm([
      'backup:prune',
      '--to',
      root,
      '--keep-within',
      '30d',
      '--include-unrecorded',
      '--yes',
    ])
    expect(within.exitCode, describeRun(within)).to.equal(0)
    expect(await listFiles(root)).to.deep.equal(sorted([...real, BOGUS]))
    expect(String(within.stderr)).to.include(
      `! foo.live database: ${path.basename(BOGUS)} is dated 2099-01-01 00:00:00 UTC, more than a day ahead`,
    )
    expect(String(within.stdout)).to.match(/foo_live_2099-01-01T00-00-00_UTC_database\.sql\.gz\s+dated in the future/)
    expect(String(within.stdout)).to.include('1 dated in the future (kept, not trusted)')

    const last = await world.pbm([
      'backup:prune',
      '--to',
      root,
      '--keep-last',
      '1',
      '--include-unrecorded',
      '--yes',
      '--json',
    ])
    expect(last.exitCode, describeRun(last)).to.equal(0)
    expect(await listFiles(root)).to.deep.equal(sorted([real[0], BOGUS]))
    const doc = json<PruneJson>(last)
    expect(doc.summary).to.include({kept: 2, removed: 3, suspect: 1})
    expect(doc.series[0].keep.map((k) => [k.file, k.reasons])).to.deep.equal([
      [path.basename(BOGUS), ['dated in the future: not trusted, kept']],
      [path.basename(real[0]), ['last #1']],
    ])
  })

  it('a versioned bucket (moto), --keep-last 1: the real newest kept, the bogus one left alone', async () => {
    const {bucket, keys} = await bucketWithBogus()
    const args = ['backup:prune', '--bucket', `s3://${bucket}/m/`, '--keep-last', '1', '--yes', '--json']
    const result = await world.pbm(args, {env: motoEnv()})
    expect(result.exitCode, describeRun(result)).to.equal(0)
    expect(sorted(await keys())).to.deep.equal(sorted([real[0], BOGUS]))
    const doc = json<PruneJson>(result)
    expect(doc.summary).to.include({deleteMarkers: 3, kept: 1, removed: 3, unrecorded: 1})
    expect(doc.series[0].keep.map((k) => k.file)).to.deep.equal([path.basename(real[0])])

    // Counted too (the old script's mirror): suspect, kept, and still not the newest.
    const counted = await world.pbm([...args, '--include-unrecorded'], {env: motoEnv()})
    expect(counted.exitCode, describeRun(counted)).to.equal(0)
    expect(sorted(await keys())).to.deep.equal(sorted([real[0], BOGUS]))
    expect(json<PruneJson>(counted).summary).to.include({kept: 2, removed: 0, suspect: 1})
  })
})
