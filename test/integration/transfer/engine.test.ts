import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdirSync, writeFileSync} from 'node:fs'
import {mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import http from 'node:http'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'

import type {Sandbox, SandboxArchive} from '../../../sandbox/index.js'

import {createSandbox} from '../../../sandbox/index.js'
import {createLocalDestination, createS3Destination, type Destination, META} from '../../../src/destination/index.js'
import {
  type Progress,
  transferArchive,
  TransferError,
  TransferInterrupted,
  type TransferJob,
} from '../../../src/transfer/index.js'
import {failure} from '../../helpers/errors.js'
import {
  type RecordingProxy,
  S3RVER_CREDENTIALS,
  type S3Server,
  startRecordingProxy,
  startS3rver,
} from '../../helpers/s3.js'

const BUCKET = 'pbm-engine'
const MiB = 1024 * 1024

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

/** An archive server that announces no hash (no X-Goog-Hash), with Range support. */
async function serveWithoutHash(body: Buffer): Promise<{url: string; close(): Promise<void>}> {
  const server = http.createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    if (m) {
      const start = Number(m[1])
      const end = m[2] ? Number(m[2]) : body.length - 1
      res.writeHead(206, {'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${body.length}`})
      res.end(body.subarray(start, end + 1))
      return
    }

    res.writeHead(200, {'content-length': body.length})
    res.end(body)
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as {port: number}
  return {
    url: `http://127.0.0.1:${port}/archive.sql.gz?Signature=secret`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function bytesAt(url: string): Promise<Buffer> {
  return Buffer.from(await (await fetch(url)).arrayBuffer())
}

/** Every file under dir, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, {recursive: true, withFileTypes: true}).catch(() => [])
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort()
}

describe('transfer engine (sandbox archive server + s3rver)', function () {
  this.timeout(60_000)
  let sb: Sandbox
  let s3: S3Server
  let proxy: RecordingProxy
  let tmp: string
  let big: SandboxArchive // 12 MB code archive: multipart with 5 MiB parts
  let files: SandboxArchive
  let db: SandboxArchive
  let n = 0
  let prefix: string
  let urlCalls: number

  before(async () => {
    ;[sb, s3] = await Promise.all([
      createSandbox({
        sites: [
          {
            name: 'alpha',
            envs: [
              {name: 'live', backups: [{date: '2024-05-01T03:12:44Z', sizes: {code: 12e6, files: 3e6, database: 2e6}}]},
            ],
          },
        ],
      }),
      startS3rver(),
    ])
    proxy = await startRecordingProxy(s3.endpoint)
    await s3.createBucket(BUCKET)
    tmp = await mkdtemp(path.join(tmpdir(), 'pbm-engine-'))
    const byElement = (el: string) => sb.archives().find((a) => a.element === el)!
    big = byElement('code')
    files = byElement('files')
    db = byElement('database')
  })

  after(async () => {
    await proxy?.close()
    await s3?.stop()
    await sb?.close()
    if (tmp) await rm(tmp, {recursive: true, force: true})
  })

  beforeEach(() => {
    n++
    prefix = `t${n}/`
    sb.clearFaults()
    sb.resetStats()
    proxy.clearFaults()
    urlCalls = 0
  })

  afterEach(() => {
    // Whatever happened in the test, no multipart upload may be left open.
    expect(proxy.openUploads()).to.deep.equal([])
  })

  const s3Dest = (opts: {bucket?: string; credentials?: typeof S3RVER_CREDENTIALS} = {}) =>
    createS3Destination({
      bucket: opts.bucket ?? BUCKET,
      prefix,
      endpoint: proxy.endpoint,
      credentials: opts.credentials ?? S3RVER_CREDENTIALS,
      partSize: 5 * MiB,
      queueSize: 2,
    })
  const localDir = () => path.join(tmp, `t${n}`)
  const keyOf = (a: SandboxArchive) => `${a.site}/${a.env}/${a.file}`

  function job(a: SandboxArchive, destinations: Destination[], extra: Partial<TransferJob> = {}): TransferJob {
    return {
      archive: {site: a.site, env: a.env, element: a.element, folder: a.folder, file: a.file},
      key: keyOf(a),
      async resolveUrl() {
        urlCalls++
        // The sandbox signs deterministically per second and revokes by signature: vary the expiry
        // as a later real signing would.
        return sb.url(a.file, {lifetimeSec: 3600 + urlCalls})
      },
      destinations,
      backoffMs: 10,
      ...extra,
    }
  }

  async function expectInS3(a: SandboxArchive) {
    const got = await s3.getObject(BUCKET, prefix + keyOf(a))
    expect(got, 'object stored').to.not.equal(undefined)
    expect(got!.length).to.equal(a.size)
    expect(md5(got!)).to.equal(a.md5)
  }

  async function expectLocal(a: SandboxArchive) {
    const got = await readFile(path.join(localDir(), keyOf(a)))
    expect(got.length).to.equal(a.size)
    expect(md5(got)).to.equal(a.md5)
    // The archive and its completion record, nothing else (no partial file, no lock), both private.
    const record = path.posix.join(path.posix.dirname(keyOf(a)), `.${a.file}.pbm.json`)
    expect(await filesUnder(localDir())).to.deep.equal([record, keyOf(a)])
    for (const file of [keyOf(a), record]) {
      expect((await stat(path.join(localDir(), file))).mode & 0o777, file).to.equal(0o600)
    }

    expect(JSON.parse(await readFile(path.join(localDir(), record), 'utf8'))).to.include({md5: a.md5, size: a.size})
  }

  async function expectNothingStored(a: SandboxArchive) {
    expect(await s3.listKeys(BUCKET, prefix)).to.deep.equal([])
    expect(await filesUnder(localDir())).to.deep.equal([])
    expect(await s3.getObject(BUCKET, prefix + keyOf(a))).to.equal(undefined)
  }

  const uploadsOf = (a: SandboxArchive) => proxy.uploads().filter((u) => u.path === `/${BUCKET}/${prefix}${keyOf(a)}`)

  it('streams a multipart archive to S3: stored bytes equal the source, with pbm metadata, in one pass', async () => {
    const events: Progress[] = []
    const r = await transferArchive(job(big, [s3Dest()], {onProgress: (p) => events.push(p), progressIntervalMs: 0}))
    expect(r).to.deep.include({bytes: big.size, md5: big.md5, resumes: 0, urlRefreshes: 0})
    expect(r.crc32c).to.equal(Buffer.from(big.crc32c, 'base64').toString('hex'))
    expect(r.destinations).to.deep.equal([{location: `s3://${BUCKET}/${prefix}${keyOf(big)}`, status: 'transferred'}])
    await expectInS3(big)
    const head = await s3.headObject(BUCKET, prefix + keyOf(big))
    expect(head!.metadata).to.deep.include({
      [META.site]: 'alpha',
      [META.env]: 'live',
      [META.element]: 'code',
      [META.folder]: big.folder,
      [META.size]: String(big.size),
      [META.md5]: big.md5,
    })
    expect(head!.metadata[META.verified]).to.include('md5')
    expect(uploadsOf(big).map((u) => u.ended)).to.deep.equal(['completed'])
    expect(sb.stats(big.file).bytesServed).to.equal(big.size)
    const phases = [...new Set(events.map((e) => e.phase))]
    expect(phases).to.deep.equal(['checking', 'resolving', 'downloading', 'verifying', 'committing', 'done'])
    expect(events.at(-1)).to.deep.include({bytes: big.size, total: big.size})
  })

  it('writes to a local folder through a .partial file', async () => {
    const r = await transferArchive(job(db, [createLocalDestination({root: localDir()})]))
    expect(r.destinations[0]).to.deep.equal({location: path.join(localDir(), keyOf(db)), status: 'transferred'})
    await expectLocal(db)
  })

  it('writes to an exact file (pick --to FILE)', async () => {
    const file = path.join(localDir(), 'here.sql.gz')
    await transferArchive(job(db, [createLocalDestination({file})]))
    expect(md5(await readFile(file))).to.equal(db.md5)
    expect(await filesUnder(localDir())).to.deep.equal(['.here.sql.gz.pbm.json', 'here.sql.gz'])
  })

  it('writes to S3 and a local folder at once from one download', async () => {
    const r = await transferArchive(job(big, [s3Dest(), createLocalDestination({root: localDir()})]))
    expect(r.destinations.map((d) => d.status)).to.deep.equal(['transferred', 'transferred'])
    await expectInS3(big)
    await expectLocal(big)
    expect(sb.stats(big.file).requests).to.equal(1)
  })

  it('resumes a dropped connection where it stopped instead of starting over', async () => {
    sb.setFault(big.file, {dropAfter: 7e6})
    const notes: string[] = []
    const r = await transferArchive(
      job(big, [s3Dest(), createLocalDestination({root: localDir()})], {
        onProgress: (p) => p.note && notes.push(p.note),
      }),
    )
    expect(r.resumes).to.equal(1)
    await expectInS3(big)
    await expectLocal(big)
    const stats = sb.stats(big.file)
    expect(stats.requests).to.equal(2)
    expect(stats.ranges).to.have.length(1)
    expect(stats.ranges[0]).to.match(/^bytes=\d+-$/)
    expect(stats.bytesServed).to.be.below(big.size + 2 * MiB)
    expect(notes.join('\n')).to.match(/connection dropped at [\d.]+ MB/)
    expect(notes.join('\n')).not.to.match(/Signature|\?/)
  })

  it('fetches a fresh URL when the URL expires mid-stream, and resumes at the same byte', async () => {
    sb.setFault(big.file, {expireAfter: 6e6})
    const r = await transferArchive(job(big, [s3Dest()]))
    expect(r.urlRefreshes).to.equal(1)
    expect(urlCalls).to.equal(2)
    await expectInS3(big)
    expect(sb.stats(big.file).bytesServed).to.be.below(big.size + 2 * MiB)
  })

  it('retries a 503 from the archive server', async () => {
    sb.setFault(files.file, {status5xxOnce: 503})
    const r = await transferArchive(job(files, [s3Dest()]))
    expect(r.bytes).to.equal(files.size)
    await expectInS3(files)
    expect(sb.stats(files.file).statuses).to.deep.equal([503, 200])
  })

  it('gets its URL from the sandbox terminus (backup:get prints a signed URL)', async () => {
    const run = promisify(execFile)
    const r = await transferArchive(
      job(db, [createLocalDestination({root: localDir()})], {
        async resolveUrl() {
          const {stdout} = await run(
            sb.terminusPath,
            ['backup:get', `${db.site}.${db.env}`, `--file=${db.file}`, '-n'],
            {
              env: {...process.env, ...sb.env},
            },
          )
          return stdout
        },
      }),
    )
    expect(r.md5).to.equal(db.md5)
    await expectLocal(db)
  })

  it('fails a truncated archive: nothing under the final name, the multipart upload aborted', async () => {
    sb.setFault(big.file, {truncateAt: 11e6, times: Infinity})
    const err = await failure(
      transferArchive(job(big, [s3Dest(), createLocalDestination({root: localDir()})], {retries: 2})),
    )
    expect(err.code).to.equal('truncated')
    await expectNothingStored(big)
    expect(uploadsOf(big).map((u) => u.ended)).to.deep.equal(['aborted'])
  })

  it('fails a corrupt archive: nothing under the final name, the multipart upload aborted', async () => {
    sb.setFault(big.file, {corruptAt: 11e6})
    const err = await failure(transferArchive(job(big, [s3Dest(), createLocalDestination({root: localDir()})])))
    expect(err.code).to.be.oneOf(['corrupt', 'checksum-mismatch'])
    await expectNothingStored(big)
    expect(uploadsOf(big).map((u) => u.ended)).to.deep.equal(['aborted'])
    expect(proxy.requests.filter((r) => r.op === 'CompleteMultipartUpload' && r.path.includes(prefix))).to.deep.equal(
      [],
    )
  })

  it('retries an S3 error on one part', async () => {
    proxy.inject({op: 'UploadPart', status: 500})
    await transferArchive(job(big, [s3Dest()]))
    await expectInS3(big)
    const parts = proxy.requests.filter((r) => r.op === 'UploadPart' && r.path.includes(prefix))
    const failed = parts.filter((p) => p.status === 500)
    expect(failed).to.have.length(1)
    expect(parts.some((p) => p.partNumber === failed[0].partNumber && p.status === 200)).to.equal(true)
    expect(uploadsOf(big).map((u) => u.ended)).to.deep.equal(['completed'])
  })

  it('fails with upload-failed when S3 keeps failing, aborting the upload and the local file', async () => {
    proxy.inject({op: 'UploadPart', status: 500, times: 1000})
    const err = await failure(transferArchive(job(big, [s3Dest(), createLocalDestination({root: localDir()})])))
    expect(err.code).to.equal('upload-failed')
    // Each destination says why: S3 failed, the local folder because of it.
    const {destinations} = err as TransferError
    expect(destinations.map((d) => [d.status, d.error?.code])).to.deep.equal([
      ['failed', 'upload-failed'],
      ['failed', 'upload-failed'],
    ])
    expect(destinations[0].error!.message).to.match(/^S3 InternalError/)
    expect(destinations[1].error!.message).to.match(
      /^Not stored, because s3:\/\/pbm-engine\/.* failed: S3 InternalError/,
    )
    proxy.clearFaults()
    await expectNothingStored(big)
    expect(uploadsOf(big).map((u) => u.ended)).to.deep.equal(['aborted'])
  })

  it('stops on cancellation mid-transfer: nothing under a final name, the upload aborted, the local partial kept', async () => {
    sb.setFault(big.file, {rateBytesPerSec: 5e6})
    const controller = new AbortController()
    let seen = 0
    const p = transferArchive(
      job(big, [s3Dest(), createLocalDestination({root: localDir()})], {
        signal: controller.signal,
        onProgress(pr) {
          seen = pr.bytes
          if (pr.bytes > 6 * MiB) controller.abort()
        },
        progressIntervalMs: 50,
      }),
    )
    const err = await failure(p)
    expect(err.code).to.equal('interrupted')
    expect(err.exitCode).to.equal(130)
    expect(seen)
      .to.be.above(6 * MiB)
      .and.below(big.size)
    expect(await s3.listKeys(BUCKET, prefix)).to.deep.equal([])
    expect(uploadsOf(big).map((u) => u.ended)).to.deep.equal(['aborted'])
    // Ctrl-C is no harsher than a crash: the partial stays (lock released) for the next run to resume.
    const left = await filesUnder(localDir())
    expect(left).to.have.length(1)
    expect(left[0]).to.match(/\/\.[^/]+\.\d+-[\da-f]{8}\.partial$/)
    expect((err as TransferInterrupted).destinations.map((d) => [d.status, d.kept])).to.deep.equal([
      ['failed', undefined],
      ['failed', (await stat(path.join(localDir(), left[0]))).size],
    ])
    await rm(path.join(localDir(), left[0]))
  })

  it('skips on a re-run: S3 by its metadata without downloading, local by its MD5', async () => {
    const dests = () => [s3Dest(), createLocalDestination({root: localDir()})]
    await transferArchive(job(files, dests()))
    sb.resetStats()
    const r = await transferArchive(job(files, dests()))
    expect(r.destinations.map((d) => [d.status, d.reason])).to.deep.equal([
      ['skipped', 'already mirrored'],
      ['skipped', 'already mirrored'],
    ])
    // The size and MD5 of the archive already there.
    expect(r.bytes).to.equal(files.size)
    expect(r.md5).to.equal(files.md5)
    // Not one request: S3 by pbm's metadata, the local folder by pbm's completion record.
    expect(sb.stats(files.file).ranges).to.deep.equal([])
    expect(sb.stats(files.file).bytesServed).to.equal(0)

    sb.resetStats()
    const calls = urlCalls
    const s3Only = await transferArchive(job(files, [s3Dest()]))
    expect(s3Only.destinations[0].status).to.equal('skipped')
    expect(s3Only).to.deep.include({bytes: files.size, md5: files.md5})
    expect(sb.stats(files.file).requests).to.equal(0)
    expect(urlCalls).to.equal(calls)
  })

  it('transfers only to the destination that lacks the archive', async () => {
    await transferArchive(job(db, [createLocalDestination({root: localDir()})]))
    sb.resetStats()
    const r = await transferArchive(job(db, [s3Dest(), createLocalDestination({root: localDir()})]))
    expect(r.destinations.map((d) => d.status)).to.deep.equal(['transferred', 'skipped'])
    await expectInS3(db)
    await expectLocal(db)
  })

  it('refuses to overwrite a different object, and overwrites it with force', async () => {
    await s3.putObject(BUCKET, prefix + keyOf(files), 'something else')
    const err = await failure(transferArchive(job(files, [s3Dest()])))
    expect(err.code).to.equal('exists-different')
    expect(err.hint).to.include('--force')
    expect((await s3.getObject(BUCKET, prefix + keyOf(files)))!.toString()).to.equal('something else')
    expect(sb.stats(files.file).bytesServed).to.be.at.most(1)

    const r = await transferArchive(job(files, [s3Dest()], {force: true}))
    expect(r.destinations[0].status).to.equal('transferred')
    await expectInS3(files)
  })

  it('refuses to overwrite a different local file, and overwrites it with force', async () => {
    const target = path.join(localDir(), keyOf(db))
    await transferArchive(job(db, [createLocalDestination({root: localDir()})]))
    await writeFile(target, 'short')
    const err = await failure(transferArchive(job(db, [createLocalDestination({root: localDir()})])))
    expect(err.code).to.equal('exists-different')
    expect(await readFile(target, 'utf8')).to.equal('short')
    await transferArchive(job(db, [createLocalDestination({root: localDir()})], {force: true}))
    await expectLocal(db)
  })

  it('fails at preflight for a missing bucket, before any download', async () => {
    const err = await failure(transferArchive(job(files, [s3Dest({bucket: 'no-such-bucket-here'})])))
    expect(err.code).to.equal('no-such-bucket')
    expect(urlCalls).to.equal(0)
    expect(sb.stats(files.file).requests).to.equal(0)
  })

  it('fails at preflight for bad credentials, before any download', async () => {
    const err = await failure(
      transferArchive(job(files, [s3Dest({credentials: {accessKeyId: 'WRONG', secretAccessKey: 'WRONG'}})])),
    )
    expect(err.code).to.equal('bad-credentials')
    expect(urlCalls).to.equal(0)
    expect(sb.stats(files.file).requests).to.equal(0)
  })

  it('refuses a filename with / or .. from Terminus before anything is written', async () => {
    for (const file of [
      '../alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz',
      'x/alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz',
    ]) {
      const j = job(big, [s3Dest(), createLocalDestination({root: localDir()})])
      j.archive.file = file
      const err = await failure(transferArchive(j))
      expect(err.code).to.equal('unsafe-filename')
    }

    expect(urlCalls).to.equal(0)
    await expectNothingStored(big)
  })

  it('refuses an archive whose extension does not match its element', async () => {
    const j = job(db, [createLocalDestination({root: localDir()})])
    j.archive.element = 'code'
    expect((await failure(transferArchive(j))).code).to.equal('bad-extension')
    expect(urlCalls).to.equal(0)
  })

  it('never lets the signed URL into an error', async () => {
    sb.setFault(files.file, {dropAfter: 1000, times: Infinity})
    const err = await failure(transferArchive(job(files, [createLocalDestination({root: localDir()})], {retries: 1})))
    expect(err.code).to.equal('download-failed')
    expect(err.message).to.match(/dropped 21 times/)
    expect(`${err.message} ${err.hint ?? ''}`).not.to.match(/Signature|GoogleAccessId|Expires=/)
    await expectNothingStored(files)
  })

  it('never lets the signed URL into an error, even when the fault quotes it', async () => {
    // Terminus failing after printing the URL (as a wrapped error box does): the cause carries it.
    const signed = sb.url(files.file)
    const secret = /Signature=([^&]+)/.exec(signed)![1] // as printed: URL-encoded
    const fault = new Error(`backup:get failed after printing\n${signed}\n[error] Connection reset`)
    expect(fault.message).to.contain(secret) // the test can fail: the URL is in the fault
    const j = job(files, [createLocalDestination({root: localDir()})], {retries: 1})
    j.resolveUrl = async () => {
      throw fault
    }

    const err = await failure(transferArchive(j))
    expect(err.code).to.equal('url-failed')
    expect(err.message).to.contain('Connection reset')
    const shown = `${err.message} ${err.hint ?? ''} ${String((err as {cause?: unknown}).cause ?? '')}`
    expect(shown).not.to.contain(secret)
    expect(shown).not.to.contain(decodeURIComponent(secret))
    expect(shown).not.to.match(/GoogleAccessId=(?!<redacted>)/)
    await expectNothingStored(files)
  })

  describe('what is already there is checked, never assumed', () => {
    it('--to FILE: refuses a different backup of the same size; skips the same archive by its MD5', async () => {
      const file = path.join(localDir(), 'chosen.sql.gz')
      await mkdir(localDir(), {recursive: true})
      const other = randomBytes(db.size)
      await writeFile(file, other)
      const err = await failure(transferArchive(job(db, [createLocalDestination({file})])))
      expect(err.code).to.equal('exists-different')
      expect(err.message).to.match(/different content \(MD5 [\da-f]{32}, the archive's is [\da-f]{32}\)/)
      expect(err.hint).to.include('--force')
      expect(md5(await readFile(file))).to.equal(md5(other))
      expect(sb.stats(db.file).bytesServed).to.be.at.most(1)

      await transferArchive(job(db, [createLocalDestination({file})], {force: true}))
      expect(md5(await readFile(file))).to.equal(db.md5)
      const events: Progress[] = []
      const again = await transferArchive(
        job(db, [createLocalDestination({file})], {onProgress: (p) => events.push(p)}),
      )
      expect(again.destinations).to.deep.equal([{location: file, reason: 'already mirrored', status: 'skipped'}])
      expect(again).to.deep.include({bytes: db.size, md5: db.md5})
      // The completion record written with the archive: nothing re-read.
      expect(events.map((e) => e.note)).not.to.include('hashing what is already there')
    })

    it('refuses a zero-filled local file of the right size', async () => {
      const target = path.join(localDir(), keyOf(db))
      await mkdir(path.dirname(target), {recursive: true})
      await writeFile(target, Buffer.alloc(db.size))
      const err = await failure(transferArchive(job(db, [createLocalDestination({root: localDir()})])))
      expect(err.code).to.equal('exists-different')
      expect(await readFile(target)).to.deep.equal(Buffer.alloc(db.size))
    })

    it('does not skip a local file when the archive server announces no MD5 to check it with', async () => {
      const bytes = await bytesAt(sb.url(db.file))
      const server = await serveWithoutHash(bytes)
      try {
        const target = path.join(localDir(), keyOf(db))
        await mkdir(path.dirname(target), {recursive: true})
        await writeFile(target, bytes)
        const noHash = {resolveUrl: async () => server.url}
        const err = await failure(transferArchive(job(db, [createLocalDestination({root: localDir()})], noHash)))
        expect(err.code).to.equal('exists-different')
        expect(err.message).to.match(/could not be verified: the archive server announced no MD5/)
        expect(err.message).not.to.include('secret')

        const forced = await transferArchive(
          job(db, [createLocalDestination({root: localDir()})], {...noHash, force: true}),
        )
        expect(forced.destinations[0].status).to.equal('transferred')
        await expectLocal(db)
      } finally {
        await server.close()
      }
    })

    it('S3: refuses an object without pbm metadata of the same size; skips one whose plain ETag is the MD5', async () => {
      const key = prefix + keyOf(files)
      const other = randomBytes(files.size)
      await s3.putObject(BUCKET, key, other)
      const err = await failure(transferArchive(job(files, [s3Dest()])))
      expect(err.code).to.equal('exists-different')
      expect(err.message).to.match(/its ETag [\da-f]{32} is not the archive's MD5/)
      expect(md5((await s3.getObject(BUCKET, key))!)).to.equal(md5(other))
      expect(sb.stats(files.file).bytesServed).to.be.at.most(1)

      await s3.putObject(BUCKET, key, await bytesAt(sb.url(files.file)))
      sb.resetStats()
      const r = await transferArchive(job(files, [s3Dest()]))
      expect(r.destinations[0]).to.deep.include({status: 'skipped', reason: 'same content, by ETag'})
      expect(r).to.deep.include({bytes: files.size, md5: files.md5})
      expect(sb.stats(files.file).bytesServed).to.be.at.most(1)
    })

    it('S3: does not trust pbm metadata whose recorded size is not the stored size', async () => {
      const key = prefix + keyOf(files)
      await s3.putObject(BUCKET, key, randomBytes(files.size), {
        [META.verified]: 'md5,length,gzip',
        [META.size]: String(files.size + 1),
        [META.md5]: files.md5,
      })
      const err = await failure(transferArchive(job(files, [s3Dest()])))
      expect(err.code).to.equal('exists-different')
    })

    it('S3: refuses pbm metadata that disagrees with the source once the source is known', async () => {
      const key = prefix + keyOf(files)
      const planted = randomBytes(files.size)
      await s3.putObject(BUCKET, key, planted, {
        [META.verified]: 'md5,length,gzip',
        [META.size]: String(files.size),
        [META.md5]: '0'.repeat(32),
      })
      // The local destination makes the download happen: S3's record is checked against the source.
      const r = await transferArchive(job(files, [s3Dest(), createLocalDestination({root: localDir()})]))
      expect(r.destinations.map((d) => [d.status, d.error?.code])).to.deep.equal([
        ['failed', 'exists-different'],
        ['transferred', undefined],
      ])
      expect(r.destinations[0].error!.message).to.match(/pbm recorded MD5 0{32}, the archive's is [\da-f]{32}/)
      expect(md5((await s3.getObject(BUCKET, key))!)).to.equal(md5(planted))
      await expectLocal(files)
    })
  })

  describe('each destination has its own outcome', () => {
    it('transfers to the free local folder when S3 holds a different object', async () => {
      await s3.putObject(BUCKET, prefix + keyOf(db), 'something else')
      const r = await transferArchive(job(db, [s3Dest(), createLocalDestination({root: localDir()})]))
      expect(r.destinations).to.have.length(2)
      expect(r.destinations[0]).to.deep.include({location: `s3://${BUCKET}/${prefix}${keyOf(db)}`, status: 'failed'})
      expect(r.destinations[0].error!.code).to.equal('exists-different')
      expect(r.destinations[0].error!.message).to.include(`s3://${BUCKET}/${prefix}${keyOf(db)} already exists`)
      expect(r.destinations[0].error!.message).to.include('--force')
      expect(r.destinations[1]).to.deep.equal({location: path.join(localDir(), keyOf(db)), status: 'transferred'})
      expect(r).to.deep.include({bytes: db.size, md5: db.md5})
      expect((await s3.getObject(BUCKET, prefix + keyOf(db)))!.toString()).to.equal('something else')
      await expectLocal(db)
    })

    it('transfers to the free bucket when the local file is different', async () => {
      const target = path.join(localDir(), keyOf(db))
      await mkdir(path.dirname(target), {recursive: true})
      await writeFile(target, 'short')
      const r = await transferArchive(job(db, [s3Dest(), createLocalDestination({root: localDir()})]))
      expect(r.destinations.map((d) => [d.status, d.error?.code])).to.deep.equal([
        ['transferred', undefined],
        ['failed', 'exists-different'],
      ])
      expect(r.destinations[1].error!.message).to.include(`${target} already exists`)
      await expectInS3(db)
      expect(await readFile(target, 'utf8')).to.equal('short')
    })

    it('throws when no destination can take the archive, telling each its own reason', async () => {
      await s3.putObject(BUCKET, prefix + keyOf(db), 'something else')
      const target = path.join(localDir(), keyOf(db))
      await mkdir(path.dirname(target), {recursive: true})
      await writeFile(target, 'short')
      const err = await failure(transferArchive(job(db, [s3Dest(), createLocalDestination({root: localDir()})])))
      expect(err).to.be.instanceOf(TransferError)
      expect(err.code).to.equal('exists-different')
      const {destinations} = err as TransferError
      expect(destinations.map((d) => [d.status, d.error?.code])).to.deep.equal([
        ['failed', 'exists-different'],
        ['failed', 'exists-different'],
      ])
      expect(destinations[0].error!.message).to.include(`s3://${BUCKET}/`)
      expect(destinations[1].error!.message).to.include(target)
      expect(sb.stats(db.file).bytesServed).to.be.at.most(1)
    })

    it('reports a failed S3 commit on S3 only: the local copy is complete and verified', async () => {
      proxy.inject({op: 'CompleteMultipartUpload', status: 500, times: 10})
      const r = await transferArchive(job(big, [s3Dest(), createLocalDestination({root: localDir()})]))
      expect(r.destinations.map((d) => [d.status, d.error?.code])).to.deep.equal([
        ['failed', 'upload-failed'],
        ['transferred', undefined],
      ])
      expect(r).to.deep.include({bytes: big.size, md5: big.md5})
      await expectLocal(big)
      expect(await s3.listKeys(BUCKET, prefix)).to.deep.equal([])
      expect(uploadsOf(big).map((u) => u.ended)).to.deep.equal(['aborted'])
    })

    it('reports a failed local rename on the local folder only: the S3 object is stored', async () => {
      const target = path.join(localDir(), keyOf(db))
      const r = await transferArchive(
        job(db, [s3Dest(), createLocalDestination({root: localDir()})], {
          onProgress(p) {
            // Something takes the final name between verification and the rename.
            if (p.phase === 'committing') {
              mkdirSync(target)
              writeFileSync(path.join(target, 'in-the-way'), '')
            }
          },
        }),
      )
      expect(r.destinations.map((d) => d.status)).to.deep.equal(['transferred', 'failed'])
      expect(r.destinations[1].error!.message).to.include(target)
      await expectInS3(db)
      expect(await filesUnder(localDir())).to.deep.equal([path.join(keyOf(db), 'in-the-way')])
    })
  })
})
