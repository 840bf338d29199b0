import type {S3Client} from '@aws-sdk/client-s3'

import {expect} from 'chai'
import {mkdir, mkdtemp, readdir, rename, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {Inventory, InventoryObject, RemoveOutcome} from '../../../src/destination/inventory.js'

import {createLocalInventory} from '../../../src/destination/local-inventory.js'
import {createS3Client} from '../../../src/destination/s3-client.js'
import {createS3Inventory} from '../../../src/destination/s3-inventory.js'
import {createLimit} from '../../../src/util/limit.js'
import {MOTO_CREDENTIALS, startPruneMoto} from '../../helpers/moto-prune.js'
import {S3RVER_CREDENTIALS, startRecordingProxy, startS3rver} from '../../helpers/s3.js'

const s3sdk = await import('@aws-sdk/client-s3')

async function listAll(inventory: Inventory): Promise<{pages: number[]; objects: InventoryObject[]}> {
  const pages: number[] = []
  const objects: InventoryObject[] = []
  for await (const page of inventory.list()) {
    pages.push(page.length)
    objects.push(...page)
  }

  return {pages, objects}
}

async function removeAll(
  inventory: Inventory,
  keys: string[],
): Promise<{batches: number[]; outcomes: RemoveOutcome[]}> {
  const batches: number[] = []
  const outcomes: RemoveOutcome[] = []
  for await (const batch of inventory.remove(keys)) {
    batches.push(batch.length)
    outcomes.push(...batch)
  }

  return {batches, outcomes}
}

function archive(site: string, env: string, day: number, element = 'database'): string {
  const date = new Date(Date.UTC(2024, 0, 1) + day * 3_600_000)
  const stamp = date.toISOString().slice(0, 19).replaceAll(':', '-')
  const ext = element === 'database' ? 'sql.gz' : 'tar.gz'
  return `${site}/${env}/${site}_${env}_${stamp}_UTC_${element}.${ext}`
}

interface Server {
  name: string
  endpoint: string
  credentials: {accessKeyId: string; secretAccessKey: string}
  client: S3Client
  stop(): Promise<void>
}

async function putMany(client: S3Client, bucket: string, keys: string[]): Promise<void> {
  const limit = createLimit(16)
  await Promise.all(
    keys.map((Key) =>
      limit(() => client.send(new s3sdk.PutObjectCommand({Bucket: bucket, Key, Body: `body of ${Key}`}))),
    ),
  )
}

async function allKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = []
  let token: string | undefined
  do {
    const r = await client.send(new s3sdk.ListObjectsV2Command({Bucket: bucket, ContinuationToken: token}))
    for (const o of r.Contents ?? []) keys.push(o.Key!)
    token = r.IsTruncated ? r.NextContinuationToken : undefined
  } while (token)

  return keys.sort()
}

const servers: Array<{name: string; start(): Promise<Server>}> = [
  {
    name: 's3rver',
    async start() {
      const server = await startS3rver()
      return {
        name: 's3rver',
        endpoint: server.endpoint,
        credentials: S3RVER_CREDENTIALS,
        client: await server.client(),
        stop: () => server.stop(),
      }
    },
  },
  {
    name: 'moto',
    async start() {
      const server = await startPruneMoto()
      return {
        name: 'moto',
        endpoint: server.endpoint,
        credentials: MOTO_CREDENTIALS,
        client: await server.client(),
        stop: () => server.stop(),
      }
    },
  },
]

for (const kind of servers) {
  describe(`destination/inventory: S3 (${kind.name})`, () => {
    let server: Server
    let n = 0
    const bucketName = () => `prune-${kind.name}-${++n}`
    const inventory = (bucket: string, prefix = 'mirror/') =>
      createS3Inventory({bucket, prefix, endpoint: server.endpoint, credentials: server.credentials})

    before(async () => {
      server = await kind.start()
    })

    after(async () => {
      await server?.stop()
    })

    it('lists every object under the prefix, page by page (> 1,000 keys), keys relative to the prefix', async () => {
      const bucket = bucketName()
      await server.client.send(new s3sdk.CreateBucketCommand({Bucket: bucket}))
      const archives = Array.from({length: 1150}, (_, i) => archive('site1', 'live', i))
      const foreign = ['site1/live/notes.txt', 'loose-file', 'site1/live/deeper/x.sql.gz']
      await putMany(server.client, bucket, [
        ...[...archives, ...foreign].map((k) => `mirror/${k}`),
        'other/site1/live/outside-the-prefix.sql.gz',
        'mirror-not-a-folder.txt',
      ])
      const {pages, objects} = await listAll(inventory(bucket))
      expect(pages.length).to.be.greaterThan(1)
      expect(Math.max(...pages)).to.be.at.most(1000)
      expect(objects.map((o) => o.key).sort()).to.deep.equal([...archives, ...foreign].sort())
      const one = objects.find((o) => o.key === archives[0])!
      expect(one.size).to.equal(`body of mirror/${archives[0]}`.length)
    })

    it('removes in batches of 1,000 and leaves every other key alone', async () => {
      const bucket = bucketName()
      await server.client.send(new s3sdk.CreateBucketCommand({Bucket: bucket}))
      const doomed = Array.from({length: 1003}, (_, i) => archive('site2', 'dev', i))
      const kept = [archive('site2', 'dev', 5000), 'site2/dev/notes.txt']
      await putMany(server.client, bucket, [...[...doomed, ...kept].map((k) => `mirror/${k}`), `other/${doomed[0]}`])
      const {batches, outcomes} = await removeAll(inventory(bucket), doomed)
      expect(batches).to.deep.equal([1000, 3])
      expect(outcomes.map((o) => o.key)).to.deep.equal(doomed)
      expect(outcomes.every((o) => o.status === 'removed' && !o.deleteMarker)).to.equal(true)
      expect(await allKeys(server.client, bucket)).to.deep.equal(
        [...kept.map((k) => `mirror/${k}`), `other/${doomed[0]}`].sort(),
      )
    })

    it('reports an unsafe key as failed without sending it', async () => {
      const bucket = bucketName()
      await server.client.send(new s3sdk.CreateBucketCommand({Bucket: bucket}))
      // The SDK would normalize the key to "y" and delete that: it must never be sent.
      await putMany(server.client, bucket, ['y'])
      const {outcomes} = await removeAll(inventory(bucket, ''), ['x/../y'])
      expect(outcomes).to.deep.equal([
        {key: 'x/../y', status: 'failed', code: 'unsafe-key', message: 'Refusing the unsafe destination key "x/../y".'},
      ])
      expect(await allKeys(server.client, bucket)).to.deep.equal(['y'])
    })

    it('a missing bucket is an error that names it', async () => {
      let error: unknown
      try {
        await listAll(inventory('no-such-bucket-here'))
      } catch (error_) {
        error = error_
      }

      expect((error as {code?: string}).code).to.equal('no-such-bucket')
      expect((error as Error).message).to.contain('no-such-bucket-here')
    })

    it('a refused DeleteObjects reports every key of the batch as failed, none as removed', async () => {
      const bucket = bucketName()
      await server.client.send(new s3sdk.CreateBucketCommand({Bucket: bucket}))
      const keys = [archive('site6', 'live', 1), archive('site6', 'live', 2)]
      await putMany(
        server.client,
        bucket,
        keys.map((k) => `mirror/${k}`),
      )
      const proxy = await startRecordingProxy(server.endpoint)
      try {
        // GetObjectLockConfiguration, then DeleteObjects: both refused.
        proxy.inject({op: 'Other', status: 403})
        proxy.inject({op: 'DeleteObjects', status: 403})
        const refused = createS3Inventory({
          bucket,
          prefix: 'mirror/',
          endpoint: proxy.endpoint,
          credentials: server.credentials,
          maxAttempts: 1,
        })
        const {outcomes} = await removeAll(refused, keys)
        expect(outcomes.map((o) => [o.key, o.status, o.status === 'failed' && o.code])).to.deep.equal(
          keys.map((k) => [k, 'failed', 'access-denied']),
        )
      } finally {
        await proxy.close()
      }

      expect(await allKeys(server.client, bucket)).to.deep.equal(keys.map((k) => `mirror/${k}`))
    })

    if (kind.name !== 'moto') return

    it('a DeleteObjects that refuses some keys: those failed with its code, an unmentioned key not assumed gone', async () => {
      const bucket = bucketName()
      await server.client.send(new s3sdk.CreateBucketCommand({Bucket: bucket}))
      const keys = [archive('site7', 'live', 1), archive('site7', 'live', 2), archive('site7', 'live', 3)]
      await putMany(
        server.client,
        bucket,
        keys.map((k) => `mirror/${k}`),
      )
      const proxy = await startRecordingProxy(server.endpoint)
      try {
        // The answer S3 gives when a policy denies some keys of a batch (no server here does that).
        proxy.inject({
          op: 'DeleteObjects',
          status: 200,
          body:
            '<?xml version="1.0" encoding="UTF-8"?><DeleteResult>' +
            `<Deleted><Key>mirror/${keys[0]}</Key></Deleted>` +
            `<Error><Key>mirror/${keys[1]}</Key><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>` +
            '</DeleteResult>',
        })
        const partly = createS3Inventory({
          bucket,
          prefix: 'mirror/',
          endpoint: proxy.endpoint,
          credentials: server.credentials,
          maxAttempts: 1,
        })
        const {outcomes} = await removeAll(partly, keys)
        expect(outcomes).to.deep.equal([
          {key: keys[0], status: 'removed'},
          {
            key: keys[1],
            status: 'failed',
            code: 'InternalError',
            message: 'We encountered an internal error. Please try again.',
          },
          {key: keys[2], status: 'failed', code: 'no-answer', message: 'DeleteObjects did not mention it.'},
        ])
      } finally {
        await proxy.close()
      }
    })

    it('on a versioned bucket, says that a delete marker was written (the version stays)', async () => {
      const bucket = bucketName()
      await server.client.send(new s3sdk.CreateBucketCommand({Bucket: bucket}))
      await server.client.send(
        new s3sdk.PutBucketVersioningCommand({Bucket: bucket, VersioningConfiguration: {Status: 'Enabled'}}),
      )
      const key = archive('site3', 'live', 1)
      await putMany(server.client, bucket, [`mirror/${key}`])
      const {outcomes} = await removeAll(inventory(bucket), [key])
      expect(outcomes).to.deep.equal([{key, status: 'removed', deleteMarker: true}])
      const versions = await server.client.send(new s3sdk.ListObjectVersionsCommand({Bucket: bucket}))
      expect(versions.Versions?.map((v) => v.Key)).to.deep.equal([`mirror/${key}`])
      expect(versions.DeleteMarkers?.map((v) => v.Key)).to.deep.equal([`mirror/${key}`])
    })

    it('with Object Lock, a retained or held object is reported locked (with its date), and nothing is written over it', async () => {
      const bucket = bucketName()
      await server.client.send(new s3sdk.CreateBucketCommand({Bucket: bucket, ObjectLockEnabledForBucket: true}))
      const until = new Date(Date.now() + 10 * 86_400_000)
      until.setUTCMilliseconds(0)
      const retained = archive('site4', 'live', 1)
      const held = archive('site4', 'live', 2)
      const free = archive('site4', 'live', 3)
      await server.client.send(
        new s3sdk.PutObjectCommand({
          Bucket: bucket,
          Key: `mirror/${retained}`,
          Body: 'locked',
          ObjectLockMode: 'COMPLIANCE',
          ChecksumAlgorithm: 'CRC32',
          ObjectLockRetainUntilDate: until,
        }),
      )
      await server.client.send(
        new s3sdk.PutObjectCommand({
          Bucket: bucket,
          Key: `mirror/${held}`,
          Body: 'held',
          ObjectLockLegalHoldStatus: 'ON',
          ChecksumAlgorithm: 'CRC32',
        }),
      )
      await putMany(server.client, bucket, [`mirror/${free}`])

      const {outcomes} = await removeAll(inventory(bucket), [retained, held, free])
      expect(outcomes[0]).to.deep.include({key: retained, status: 'locked', mode: 'COMPLIANCE'})
      expect((outcomes[0] as {until?: Date}).until?.toISOString()).to.equal(until.toISOString())
      expect(outcomes[1]).to.deep.equal({key: held, status: 'locked', legalHold: true})
      expect(outcomes[2]).to.deep.include({key: free, status: 'removed'})
      const versions = await server.client.send(new s3sdk.ListObjectVersionsCommand({Bucket: bucket}))
      expect((versions.DeleteMarkers ?? []).map((v) => v.Key)).to.deep.equal([`mirror/${free}`])
      expect(await allKeys(server.client, bucket)).to.deep.equal([`mirror/${retained}`, `mirror/${held}`].sort())
    })

    it('a retention date in the past does not lock', async () => {
      const bucket = bucketName()
      await server.client.send(new s3sdk.CreateBucketCommand({Bucket: bucket, ObjectLockEnabledForBucket: true}))
      const key = archive('site5', 'live', 1)
      const until = new Date(Date.now() + 86_400_000)
      await server.client.send(
        new s3sdk.PutObjectCommand({
          Bucket: bucket,
          Key: `mirror/${key}`,
          Body: 'x',
          ObjectLockMode: 'GOVERNANCE',
          ChecksumAlgorithm: 'CRC32',
          ObjectLockRetainUntilDate: until,
        }),
      )
      const later = createS3Inventory({
        bucket,
        prefix: 'mirror/',
        endpoint: server.endpoint,
        credentials: server.credentials,
        now: () => new Date(until.getTime() + 1000),
      })
      const {outcomes} = await removeAll(later, [key])
      expect(outcomes).to.deep.equal([{key, status: 'removed', deleteMarker: true}])
    })
  })
}

/** A local completion record naming `file` at `size`. */
function record(file: string, size: number): string {
  return JSON.stringify({file, mtimeMs: 1, size, verifiedAt: '2024-01-01T00:00:00.000Z'})
}

describe('destination/inventory: local folder', () => {
  let root: string
  let outside: string

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'pbm-inventory-'))
    outside = await mkdtemp(path.join(tmpdir(), 'pbm-outside-'))
  })

  afterEach(async () => {
    await rm(root, {recursive: true, force: true})
    await rm(outside, {recursive: true, force: true})
  })

  async function put(rel: string, body = 'x'): Promise<void> {
    await mkdir(path.dirname(path.join(root, rel)), {recursive: true})
    await writeFile(path.join(root, rel), body)
  }

  it('lists regular files at <site>/<env>/ only: nothing hidden, deeper, higher, or linked', async () => {
    const a = archive('site1', 'live', 1)
    const b = archive('site1', 'dev', 2, 'code')
    await put(a, 'abc')
    await put(b)
    await put('site1/live/notes.txt')
    await put(`site1/live/.${path.basename(a)}.pbm.json`)
    await put(`site1/live/.${path.basename(a)}.partial`)
    await put('site1/live/deeper/file.sql.gz')
    await put('site1/top-level.txt')
    await put('root-level.txt')
    await put('.hidden-site/live/x.sql.gz')
    await put('site1/.hidden-env/x.sql.gz')
    await writeFile(path.join(outside, 'target.sql.gz'), 'outside')
    await symlink(path.join(outside, 'target.sql.gz'), path.join(root, 'site1/live/link.sql.gz'))
    await symlink(outside, path.join(root, 'site1/linked-env'))
    const {objects} = await listAll(createLocalInventory({root}))
    expect(objects.map((o) => [o.key, o.size])).to.deep.equal([
      [b, 1],
      ['site1/live/notes.txt', 1],
      [a, 3],
    ])
  })

  it('pages of at most 1,000', async () => {
    await mkdir(path.join(root, 's/e'), {recursive: true})
    await Promise.all(Array.from({length: 1500}, (_, i) => writeFile(path.join(root, 's/e', `f${i}`), '')))
    const {pages} = await listAll(createLocalInventory({root}))
    expect(pages).to.deep.equal([1000, 500])
  })

  it('a missing root is an error, not an empty mirror', async () => {
    let error: unknown
    try {
      await listAll(createLocalInventory({root: path.join(root, 'nope')}))
    } catch (error_) {
      error = error_
    }

    expect((error as {code?: string}).code).to.equal('no-such-folder')
  })

  it('removes files and their completion records; refuses links, folders and unsafe keys', async () => {
    const a = archive('site1', 'live', 1)
    const b = archive('site1', 'live', 2)
    const keep = archive('site1', 'live', 3)
    await put(a)
    await put(`site1/live/.${path.basename(a)}.pbm.json`, '{}')
    await put(b)
    await put(keep)
    await put(`site1/live/.${path.basename(keep)}.pbm.json`, '{}')
    await writeFile(path.join(outside, 'target'), 'outside')
    await symlink(path.join(outside, 'target'), path.join(root, 'site1/live/link.sql.gz'))
    await mkdir(path.join(root, 'site1/live/folder.sql.gz'))
    const {outcomes} = await removeAll(createLocalInventory({root}), [
      a,
      b,
      'site1/live/link.sql.gz',
      'site1/live/folder.sql.gz',
      '../escape',
      archive('site1', 'live', 99),
    ])
    expect(
      outcomes.map((o) => [
        o.key,
        o.status,
        o.status === 'failed' ? o.code : o.status === 'removed' && (o.alreadyGone ?? false),
      ]),
    ).to.deep.equal([
      [a, 'removed', false],
      [b, 'removed', false],
      ['site1/live/link.sql.gz', 'failed', 'not-a-file'],
      ['site1/live/folder.sql.gz', 'failed', 'not-a-file'],
      ['../escape', 'failed', 'unsafe-key'],
      [archive('site1', 'live', 99), 'removed', true],
    ])
    expect((await readdir(path.join(root, 'site1/live'))).sort()).to.deep.equal(
      [path.basename(keep), `.${path.basename(keep)}.pbm.json`, 'folder.sql.gz', 'link.sql.gz'].sort(),
    )
    expect((await stat(path.join(outside, 'target'))).size).to.equal(7)
  })

  it('a folder swapped for a link after the listing: nothing is removed through it', async () => {
    const a = archive('site1', 'live', 1)
    const b = archive('site2', 'live', 2)
    await put(a, 'mirror')
    await put(b, 'mirror')
    const inventory = createLocalInventory({root})
    expect((await listAll(inventory)).objects.map((o) => o.key)).to.deep.equal([a, b])
    // The same names outside the root, then: site1/live becomes a link to them, site2 a link to a copy of its tree.
    for (const key of [a, b]) {
      await mkdir(path.dirname(path.join(outside, key)), {recursive: true})
      await writeFile(path.join(outside, key), 'outside')
    }

    await rename(path.join(root, 'site1/live'), path.join(root, 'site1/.moved-live'))
    await symlink(path.join(outside, 'site1/live'), path.join(root, 'site1/live'))
    await rename(path.join(root, 'site2'), path.join(root, '.moved-site2'))
    await symlink(path.join(outside, 'site2'), path.join(root, 'site2'))
    const {outcomes} = await removeAll(inventory, [a, b])
    expect(outcomes.map((o) => [o.key, o.status, o.status === 'failed' && o.code])).to.deep.equal([
      [a, 'failed', 'unsafe-path'],
      [b, 'failed', 'unsafe-path'],
    ])
    expect((outcomes[0] as {message: string}).message).to.include(`now leads to ${path.join(outside, 'site1/live')}`)
    for (const key of [a, b]) expect((await stat(path.join(outside, key))).size, key).to.equal(7)
  })

  it('a root that is itself a link (resolved at the listing) is fine to remove under', async () => {
    const a = archive('site1', 'live', 1)
    await put(a)
    const linked = path.join(outside, 'mirror-link')
    await symlink(root, linked)
    const inventory = createLocalInventory({root: linked})
    expect((await listAll(inventory)).objects.map((o) => o.key)).to.deep.equal([a])
    const {outcomes} = await removeAll(inventory, [a])
    expect(outcomes.map((o) => o.status)).to.deep.equal(['removed'])
  })

  it("recorded(): only files whose completion record names them at their size are pbm's", async () => {
    const [good, none, resized, other] = [1, 2, 3, 4].map((day) => archive('site1', 'live', day))
    for (const key of [good, none, resized, other]) await put(key, 'abc')
    await put(`site1/live/.${path.basename(good)}.pbm.json`, record(path.basename(good), 3))
    await put(`site1/live/.${path.basename(resized)}.pbm.json`, record(path.basename(resized), 4))
    await put(`site1/live/.${path.basename(other)}.pbm.json`, record(path.basename(good), 3))
    const found = await createLocalInventory({root}).recorded([good, none, resized, other, '../escape'])
    expect([...found]).to.deep.equal([good])
  })

  it('removes in batches of 1,000', async () => {
    await mkdir(path.join(root, 's/e'), {recursive: true})
    const keys = Array.from({length: 1001}, (_, i) => `s/e/f${i}`)
    await Promise.all(keys.map((k) => writeFile(path.join(root, k), '')))
    const {batches, outcomes} = await removeAll(createLocalInventory({root}), keys)
    expect(batches).to.deep.equal([1000, 1])
    expect(outcomes.every((o) => o.status === 'removed' && !o.alreadyGone)).to.equal(true)
    expect(await readdir(path.join(root, 's/e'))).to.deep.equal([])
  })
})

// Keep the client factory honest: it is what the inventory and the tests share.
describe('destination/s3-client', () => {
  it('refuses an invalid bucket name as a usage error', () => {
    expect(() => createS3Inventory({bucket: 'A_B'})).to.throw(/not a valid S3 bucket name/)
  })

  it('builds a path-style client for a custom endpoint', async () => {
    const client = await createS3Client({endpoint: 'http://127.0.0.1:1', credentials: MOTO_CREDENTIALS})
    expect(client.config.forcePathStyle).to.equal(true)
    expect(await client.config.requestChecksumCalculation()).to.equal('WHEN_REQUIRED')
    client.destroy()
  })
})
