import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {createLocalDestination, createS3Destination, type Destination} from '../../../src/destination/index.js'
import {PbmError} from '../../../src/errors.js'
import {failure} from '../../helpers/errors.js'
import {
  type RecordingProxy,
  S3RVER_CREDENTIALS,
  type S3Server,
  startRecordingProxy,
  startS3rver,
} from '../../helpers/s3.js'

const META = {site: 'alpha', env: 'live', element: 'code', folder: '1_backup', file: 'a.tar.gz'} as const

describe('destinations', function () {
  this.timeout(30_000)

  describe('S3 (s3rver behind the recording proxy)', () => {
    let s3: S3Server
    let proxy: RecordingProxy
    const dest = (o: Partial<Parameters<typeof createS3Destination>[0]> = {}): Destination =>
      createS3Destination({
        bucket: 'pbm-dest',
        prefix: 'pre/',
        endpoint: proxy.endpoint,
        credentials: S3RVER_CREDENTIALS,
        ...o,
      })

    before(async () => {
      s3 = await startS3rver()
      proxy = await startRecordingProxy(s3.endpoint)
      await s3.createBucket('pbm-dest')
    })

    after(async () => {
      await proxy?.close()
      await s3?.stop()
    })

    afterEach(() => expect(proxy.openUploads()).to.deep.equal([]))

    it('describes keys as s3:// URLs with the prefix', () => {
      expect(dest().describe('alpha/live/a.tar.gz')).to.equal('s3://pbm-dest/pre/alpha/live/a.tar.gz')
    })

    it('preflight leaves no object behind and runs once per destination', async () => {
      const d = dest()
      await d.preflight()
      await d.preflight()
      expect(await s3.listKeys('pbm-dest')).to.deep.equal([])
      expect(proxy.requests.filter((r) => r.op === 'CreateMultipartUpload')).to.have.length(1)
      expect(proxy.uploads().every((u) => u.ended === 'aborted')).to.equal(true)
    })

    it('preflight names the problem: missing bucket, bad credentials, unreachable endpoint', async () => {
      expect((await failure(dest({bucket: 'nope-nope'}).preflight())).code).to.equal('no-such-bucket')
      const bad = await failure(dest({credentials: {accessKeyId: 'X', secretAccessKey: 'Y'}}).preflight())
      expect(bad.code).to.equal('bad-credentials')
      expect(bad.hint).to.match(/AWS_PROFILE|--profile/)
      const down = await failure(dest({endpoint: 'http://127.0.0.1:9', maxAttempts: 1}).preflight())
      expect(down.code).to.equal('endpoint-unreachable')
    })

    it('preflight maps AccessDenied', async () => {
      proxy.inject({op: 'CreateMultipartUpload', status: 403, code: 'AccessDenied'})
      expect((await failure(dest().preflight())).code).to.equal('access-denied')
    })

    it('refuses an invalid bucket name at once', () => {
      expect(() => createS3Destination({bucket: 'Bad_Bucket'})).to.throw(PbmError, /not a valid S3 bucket name/)
    })

    it('inspect tells missing, foreign and pbm-complete objects apart', async () => {
      const d = dest()
      expect(await d.inspect('x/none.tar.gz')).to.equal(undefined)
      await s3.putObject('pbm-dest', 'pre/x/foreign.tar.gz', 'abc')
      // The ETag without its quotes: a plain MD5 for a single-part object.
      expect(await d.inspect('x/foreign.tar.gz')).to.deep.equal({
        size: 3,
        md5: undefined,
        complete: false,
        folder: undefined,
        etag: createHash('md5').update('abc').digest('hex'),
      })
      const sink = await d.open('x/ours.tar.gz', {...META, size: 4, md5: 'f'.repeat(32)}, new AbortController().signal)
      await sink.write(Buffer.from('data'))
      await sink.commit()
      expect(await d.inspect('x/ours.tar.gz')).to.deep.include({
        size: 4,
        recordedSize: 4,
        md5: 'f'.repeat(32),
        complete: true,
        folder: '1_backup',
      })
      // A pbm-source-size that is not a number matches no size.
      await s3.putObject('pbm-dest', 'pre/x/odd.tar.gz', 'abc', {'pbm-verified': 'length', 'pbm-source-size': 'three'})
      expect((await d.inspect('x/odd.tar.gz'))!.recordedSize).to.be.NaN
    })

    it('writes parts from its buffer pool byte-exact, signed without a payload hash, and completes only on commit', async () => {
      const d = dest({partSize: 5 * 1024 * 1024, queueSize: 2})
      const sink = await d.open('x/pool.tar.gz', META, new AbortController().signal)
      const chunks = Array.from({length: 23}, (_, i) => Buffer.alloc(700 * 1024 + i, i))
      for (const c of chunks) await sink.write(c)
      expect(await s3.listKeys('pbm-dest', 'pre/x/pool')).to.deep.equal([])
      await sink.commit()
      const parts = proxy.requests.filter((r) => r.op === 'UploadPart' && r.path.endsWith('pool.tar.gz'))
      expect(parts.map((p) => p.partNumber)).to.deep.equal([1, 2, 3, 4])
      expect(parts.every((p) => p.contentSha256 === 'UNSIGNED-PAYLOAD' && p.status === 200)).to.equal(true)
      expect(await s3.getObject('pbm-dest', 'pre/x/pool.tar.gz')).to.deep.equal(Buffer.concat(chunks))
      expect(
        proxy
          .uploads()
          .filter((u) => u.path.endsWith('pool.tar.gz'))
          .map((u) => u.ended),
      ).to.deep.equal(['completed'])
    })

    it('uploads at once share their destination part buffers, each byte-exact, even after one is aborted', async () => {
      const d = dest({partSize: 5 * 1024 * 1024, queueSize: 2})
      const {signal} = new AbortController()
      const gone = await d.open('x/shared-gone.tar.gz', META, signal)
      for (let i = 0; i < 12; i++) await gone.write(Buffer.alloc(1024 * 1024, 200 + i))
      const bodies = [0, 1, 2].map((n) =>
        Array.from({length: 13 + n * 3}, (_, i) => Buffer.alloc(1024 * 1024 + 7 * i, n * 50 + i)),
      )
      const sinks = await Promise.all(bodies.map((_, n) => d.open(`x/shared-${n}.tar.gz`, META, signal)))
      await gone.abort()
      await Promise.all(
        sinks.map(async (sink, n) => {
          for (const c of bodies[n]) await sink.write(c)
          await sink.commit()
        }),
      )
      for (const [n, body] of bodies.entries())
        expect(await s3.getObject('pbm-dest', `pre/x/shared-${n}.tar.gz`), `shared-${n}`).to.deep.equal(
          Buffer.concat(body),
        )
      expect(await s3.listKeys('pbm-dest', 'pre/x/shared-gone')).to.deep.equal([])
    })

    it('an aborted sink stores nothing', async () => {
      const d = dest({partSize: 5 * 1024 * 1024})
      const sink = await d.open('x/aborted.tar.gz', META, new AbortController().signal)
      for (let i = 0; i < 12; i++) await sink.write(Buffer.alloc(1024 * 1024, i))
      await sink.abort()
      expect(await s3.listKeys('pbm-dest', 'pre/x/aborted')).to.deep.equal([])
      expect(
        proxy
          .uploads()
          .filter((u) => u.path.endsWith('aborted.tar.gz'))
          .map((u) => u.ended),
      ).to.deep.equal(['aborted'])
    })
  })

  describe('local', () => {
    let tmp: string

    before(async () => {
      tmp = await mkdtemp(path.join(tmpdir(), 'pbm-local-'))
    })

    after(() => rm(tmp, {recursive: true, force: true}))

    it('writes .partial, renames on commit, deletes on abort', async () => {
      const d = createLocalDestination({root: path.join(tmp, 'a')})
      await d.preflight()
      const sink = await d.open('s/e/f.tar.gz', META, new AbortController().signal)
      await sink.write(Buffer.from('hello'))
      // A partial file unique to this run, private from the start, under this run's lock; folders 0700.
      const during = await readdir(path.join(tmp, 'a/s/e'))
      expect(during).to.have.length(2)
      expect(during[0]).to.match(new RegExp(String.raw`^\.f\.tar\.gz\.${process.pid}-[\da-f]{8}\.partial$`))
      expect(during[1]).to.equal('.f.tar.gz.pbm.lock')
      expect((await stat(path.join(tmp, 'a/s/e', during[0]))).mode & 0o777).to.equal(0o600)
      for (const dir of ['a', 'a/s', 'a/s/e'])
        expect((await stat(path.join(tmp, dir))).mode & 0o777, dir).to.equal(0o700)
      const helloMd5 = createHash('md5').update('hello').digest('hex')
      await sink.commit({bytes: 5, md5: helloMd5})
      expect(await readdir(path.join(tmp, 'a/s/e'))).to.deep.equal(['.f.tar.gz.pbm.json', 'f.tar.gz'])
      expect((await stat(path.join(tmp, 'a/s/e/f.tar.gz'))).mode & 0o777).to.equal(0o600)
      expect(await readFile(path.join(tmp, 'a/s/e/f.tar.gz'), 'utf8')).to.equal('hello')
      expect(await d.inspect('s/e/f.tar.gz')).to.deep.equal({
        size: 5,
        complete: true,
        recordedSize: 5,
        md5: helloMd5,
        folder: META.folder,
      })
      expect((await d.hash!('s/e/f.tar.gz')).md5).to.equal(helloMd5)
      expect((await failure(d.hash!('s/e/none.tar.gz'))).code).to.equal('read-failed')

      const other = await d.open('s/e/g.tar.gz', META, new AbortController().signal)
      await other.write(Buffer.from('x'))
      await other.abort()
      expect(await readdir(path.join(tmp, 'a/s/e'))).to.deep.equal(['.f.tar.gz.pbm.json', 'f.tar.gz'])
    })

    it('preflight refuses a folder it cannot create', async () => {
      await writeFile(path.join(tmp, 'plain-file'), 'x')
      const err = await failure(createLocalDestination({root: path.join(tmp, 'plain-file', 'sub')}).preflight())
      expect(err.code).to.equal('not-writable')
    })

    it('refuses keys that leave the root', () => {
      const d = createLocalDestination({root: tmp})
      expect(() => d.describe('../x.tar.gz')).to.throw(PbmError)
      expect(() => d.describe('/etc/x.tar.gz')).to.throw(PbmError)
    })
  })
})
