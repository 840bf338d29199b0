import type {S3Client} from '@aws-sdk/client-s3'

import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {createSandbox, type Sandbox} from '../../../sandbox/index.js'
import {
  DEFAULT_PRESIGN_SECONDS,
  MAX_PRESIGN_SECONDS,
  MIN_PRESIGN_SECONDS,
  presignGet,
  type S3Location,
  stageForImport,
  sweepExpiredStages,
} from '../../../src/destination/presign.js'
import {createS3Destination, makeClient} from '../../../src/destination/s3.js'
import {stageKey, stageMetadata} from '../../../src/destination/stage.js'
import {InterruptedError, PbmError} from '../../../src/errors.js'
import {MOTO_CREDENTIALS, startMotoRestore} from '../../helpers/moto-restore.js'
import {S3RVER_CREDENTIALS, startS3rver} from '../../helpers/s3.js'
import {failure, terminusFor} from '../terminus/helpers.js'

const DB = 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'
const BUCKET = 'pbm-restore'
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

function fetchBytes(url: string): Promise<{status: number; body: Buffer}> {
  return new Promise((resolve, reject) => {
    http
      .get(url, {agent: false}, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks)}))
      })
      .on('error', reject)
  })
}

const servers = [
  {
    name: 's3rver',
    async start() {
      const s = await startS3rver()
      return {endpoint: s.endpoint, credentials: S3RVER_CREDENTIALS, stop: () => s.stop()}
    },
  },
  {
    name: 'moto_server',
    async start() {
      const s = await startMotoRestore()
      return {endpoint: s.endpoint, credentials: MOTO_CREDENTIALS, stop: () => s.stop()}
    },
  },
]

for (const server of servers) {
  describe(`presigned URLs and restore stages against ${server.name}`, () => {
    let stop: () => Promise<void>
    let location: S3Location
    let s3: S3Client
    let s3sdk: typeof import('@aws-sdk/client-s3')
    let sb: Sandbox
    let archive: Buffer
    let dir: string

    const exists = async (key: string): Promise<boolean> => {
      try {
        await s3.send(new s3sdk.HeadObjectCommand({Bucket: BUCKET, Key: key}))
        return true
      } catch (error) {
        if ((error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode === 404) return false
        throw error
      }
    }

    const keysUnder = async (prefix: string): Promise<string[]> => {
      const res = await s3.send(new s3sdk.ListObjectsV2Command({Bucket: BUCKET, Prefix: prefix}))
      return (res.Contents ?? []).map((o) => o.Key!)
    }

    before(async () => {
      const started = await server.start()
      stop = started.stop
      location = {bucket: BUCKET, endpoint: started.endpoint, credentials: started.credentials, region: 'us-east-1'}
      s3 = await makeClient(location, location.endpoint)
      s3sdk = await import('@aws-sdk/client-s3')
      await s3.send(new s3sdk.CreateBucketCommand({Bucket: BUCKET}))
      sb = await createSandbox({
        sites: [
          {
            name: 'alpha',
            envs: [
              {name: 'live', backups: [{date: '2024-05-01T03:12:44Z', sizes: {database: 300_000}}]},
              {name: 'dev'},
            ],
          },
        ],
      })
      archive = Buffer.concat([...sb.bytes(DB)])
      await s3.send(new s3sdk.PutObjectCommand({Bucket: BUCKET, Key: `mirror/alpha/live/${DB}`, Body: archive}))
      dir = mkdtempSync(path.join(tmpdir(), 'pbm-stage-test-'))
    })

    after(async () => {
      rmSync(dir, {force: true, recursive: true})
      await sb?.close()
      s3?.destroy()
      await stop?.()
    })

    it('presigns a GET for the stated lifetime (default 30 min) that fetches the object', async () => {
      expect(DEFAULT_PRESIGN_SECONDS).to.equal(30 * 60)
      const {url, expiresAt} = await presignGet(location, `mirror/alpha/live/${DB}`)
      const q = new URL(url).searchParams
      expect(q.get('X-Amz-Expires')).to.equal(String(DEFAULT_PRESIGN_SECONDS))
      expect(q.get('X-Amz-Signature')).to.match(/^[\da-f]{64}$/)
      expect(expiresAt.getTime() - Date.now()).to.be.within(
        DEFAULT_PRESIGN_SECONDS * 1000 - 60_000,
        DEFAULT_PRESIGN_SECONDS * 1000,
      )
      const got = await fetchBytes(url)
      expect(got.status).to.equal(200)
      expect(md5(got.body)).to.equal(md5(archive))
      const week = await presignGet(location, `mirror/alpha/live/${DB}`, {expiresInSeconds: MAX_PRESIGN_SECONDS})
      expect(new URL(week.url).searchParams.get('X-Amz-Expires')).to.equal('604800')
    })

    it('refuses a lifetime above 7 days, under 5 minutes, or a fraction (usage error, exit 2)', async () => {
      for (const seconds of [MAX_PRESIGN_SECONDS + 1, MIN_PRESIGN_SECONDS - 1, 0, 1.5]) {
        const error = await failure(presignGet(location, 'x', {expiresInSeconds: seconds}))
        expect(error).to.be.instanceOf(PbmError)
        expect(error).to.include({code: 'bad-lifetime', exitCode: 2})
      }
    })

    it('round trip: a presigned URL from pbm, imported by terminus import:database, lands with the right MD5', async () => {
      const {url} = await presignGet(location, `mirror/alpha/live/${DB}`)
      expect(url).to.include('X-Amz-Signature=').and.to.include('&')
      await terminusFor(sb).importDatabase('alpha', 'dev', url)
      expect(sb.imports('alpha', 'dev').at(-1)).to.include({
        element: 'database',
        md5: sb.archive(DB).md5,
        size: archive.length,
      })
      expect(md5(archive)).to.equal(sb.archive(DB).md5)
    })

    it('stages a local archive privately, imports it, and remove() deletes it (twice is fine)', async () => {
      const file = path.join(dir, DB)
      writeFileSync(file, archive, {mode: 0o600})
      const stage = await stageForImport(location, file, {md5: md5(archive), prefix: 'staging/'})
      expect(stage.key).to.match(
        new RegExp(`^staging/pbm-stage-\\d+-[\\da-f]{12}-${DB.replaceAll('.', String.raw`\.`)}$`),
      )
      expect(stage.where).to.equal(`s3://${BUCKET}/${stage.key}`)
      expect(await exists(stage.key)).to.equal(true)
      const acl = await s3.send(new s3sdk.GetObjectAclCommand({Bucket: BUCKET, Key: stage.key}))
      const publicGrants = (acl.Grants ?? []).filter((g) => /AllUsers|AuthenticatedUsers/.test(g.Grantee?.URI ?? ''))
      expect(publicGrants).to.deep.equal([])
      // Marked as a stage, with its URL's expiry: what a later run's sweep reads.
      const head = await s3.send(new s3sdk.HeadObjectCommand({Bucket: BUCKET, Key: stage.key}))
      expect(head.Metadata).to.deep.equal(stageMetadata(stage.expiresAt))
      if (server.name === 'moto_server') {
        const tags = await s3.send(new s3sdk.GetObjectTaggingCommand({Bucket: BUCKET, Key: stage.key}))
        expect(Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value]))).to.deep.equal(
          stageMetadata(stage.expiresAt),
        )
      }

      await terminusFor(sb).importDatabase('alpha', 'dev', stage.url)
      expect(sb.imports('alpha', 'dev').at(-1)).to.include({md5: md5(archive)})

      await stage.remove()
      expect(await exists(stage.key)).to.equal(false)
      await stage.remove()
      expect(await keysUnder('staging/')).to.deep.equal([])

      // The URL of a removed stage: Pantheon cannot fetch it, and the error carries no signature.
      const error = await failure(terminusFor(sb).importDatabase('alpha', 'dev', stage.url))
      expect(error).to.include({code: 'bad-url'})
      const signature = new URL(stage.url).searchParams.get('X-Amz-Signature')!
      const credential = new URL(stage.url).searchParams.get('X-Amz-Credential')!
      for (const text of [
        error.message,
        error.hint,
        (error as {command?: string}).command,
        (error as {terminusMessage?: string}).terminusMessage,
      ]) {
        expect(text ?? '').not.to.include(signature)
        expect(text ?? '').not.to.include(credential)
      }
    })

    it('a stage that cannot be uploaded leaves nothing behind; an aborted one is an interruption', async () => {
      const file = path.join(dir, DB)
      writeFileSync(file, archive, {mode: 0o600})
      const missing = await failure(stageForImport({...location, bucket: 'pbm-no-such-bucket'}, file))
      expect(missing).to.include({code: 'no-such-bucket'})

      const controller = new AbortController()
      controller.abort()
      const aborted = await failure(stageForImport(location, file, {prefix: 'aborted/', signal: controller.signal}))
      expect(aborted).to.be.instanceOf(InterruptedError)
      expect(await keysUnder('aborted/')).to.deep.equal([])
    })

    it('sweeps only expired pbm stages: not a fresh one, not a stage name without pbm’s marker, not a marked object under another name', async () => {
      const file = path.join(dir, DB)
      writeFileSync(file, archive, {mode: 0o600})
      const expiredKey = stageKey('sweep/', DB)
      const longAgo = new Date(Date.now() - 86_400_000)
      const put = (Key: string, Metadata: Record<string, string>) =>
        s3.send(new s3sdk.PutObjectCommand({Body: archive, Bucket: BUCKET, Key, Metadata}))
      await put(expiredKey, stageMetadata(longAgo))
      const unmarked = stageKey('sweep/', DB)
      await put(unmarked, {})
      const otherName = `sweep/${DB}`
      await put(otherName, stageMetadata(longAgo))
      const fresh = await stageForImport(location, file, {prefix: 'sweep/'})

      const swept = await sweepExpiredStages({...location, prefix: 'sweep/'})
      expect(swept).to.deep.equal([{expiredAt: longAgo, where: `s3://${BUCKET}/${expiredKey}`}])
      expect((await keysUnder('sweep/')).sort()).to.deep.equal([fresh.key, otherName, unmarked].sort())
      await fresh.remove()
    })

    it('refuses to stage a file that is not the verified archive (Content-MD5, and what was sent), and leaves nothing', async () => {
      const file = path.join(dir, DB)
      writeFileSync(file, archive, {mode: 0o600})
      const error = await failure(stageForImport(location, file, {md5: md5(Buffer.from('other')), prefix: 'changed/'}))
      expect(error).to.include({code: 'changed-since-verified'})
      expect(await keysUnder('changed/')).to.deep.equal([])
    })
  })
}

describe('presigned URLs on a versioned bucket (moto_server)', () => {
  const VERSIONED = 'pbm-versioned'
  let stop: () => Promise<void>
  let location: S3Location
  let s3: S3Client
  let s3sdk: typeof import('@aws-sdk/client-s3')

  before(async () => {
    const s = await startMotoRestore()
    stop = () => s.stop()
    location = {bucket: VERSIONED, credentials: MOTO_CREDENTIALS, endpoint: s.endpoint, region: 'us-east-1'}
    s3 = await makeClient(location, location.endpoint)
    s3sdk = await import('@aws-sdk/client-s3')
    await s3.send(new s3sdk.CreateBucketCommand({Bucket: VERSIONED}))
    await s3.send(
      new s3sdk.PutBucketVersioningCommand({Bucket: VERSIONED, VersioningConfiguration: {Status: 'Enabled'}}),
    )
  })

  after(async () => {
    s3?.destroy()
    await stop?.()
  })

  it('a URL naming the inspected version serves that version after the key was written again', async () => {
    const key = `alpha/live/${DB}`
    await s3.send(new s3sdk.PutObjectCommand({Body: 'verified', Bucket: VERSIONED, Key: key}))
    const destination = createS3Destination({...location})
    const inspected = await destination.inspect(key)
    expect(inspected?.versionId).to.be.a('string').and.not.equal('null')
    await s3.send(new s3sdk.PutObjectCommand({Body: 'replaced', Bucket: VERSIONED, Key: key}))
    const {url} = await presignGet(location, key, {versionId: inspected!.versionId})
    expect(new URL(url).searchParams.get('versionId')).to.equal(inspected!.versionId)
    expect((await fetchBytes(url)).body.toString()).to.equal('verified')
  })

  it('a removed stage is gone with its data (its version deleted, not hidden behind a delete marker)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pbm-stage-test-'))
    try {
      const file = path.join(dir, DB)
      writeFileSync(file, 'stage', {mode: 0o600})
      const stage = await stageForImport(location, file, {prefix: 'removed/'})
      await stage.remove()
      const versions = await s3.send(new s3sdk.ListObjectVersionsCommand({Bucket: VERSIONED, Prefix: 'removed/'}))
      expect(versions.Versions ?? []).to.deep.equal([])
      expect(versions.DeleteMarkers ?? []).to.deep.equal([])
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })

  it('a swept stage is gone with its data (its version deleted, not hidden behind a delete marker)', async () => {
    const key = stageKey('sweep/', DB)
    await s3.send(
      new s3sdk.PutObjectCommand({
        Body: 'stage',
        Bucket: VERSIONED,
        Key: key,
        Metadata: stageMetadata(new Date(Date.now() - 86_400_000)),
      }),
    )
    const swept = await sweepExpiredStages({...location, prefix: 'sweep/'})
    expect(swept.map((s) => s.where)).to.deep.equal([`s3://${VERSIONED}/${key}`])
    const versions = await s3.send(new s3sdk.ListObjectVersionsCommand({Bucket: VERSIONED, Prefix: 'sweep/'}))
    expect(versions.Versions ?? []).to.deep.equal([])
    expect(versions.DeleteMarkers ?? []).to.deep.equal([])
  })
})
