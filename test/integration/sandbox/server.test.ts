import {crc32c} from '@node-rs/crc32'
import {expect} from 'chai'
import {execa} from 'execa'
import {createHash} from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import zlib from 'node:zlib'

import {createSandbox, type Sandbox} from '../../../sandbox/index.js'
import {get, terminus} from './helpers.js'

function googHash(body: Buffer): string {
  const c = Buffer.alloc(4)
  c.writeUInt32BE(crc32c(body) >>> 0)
  return `crc32c=${c.toString('base64')},md5=${createHash('md5').update(body).digest('base64')}`
}

const FILES = 'alpha_live_2024-05-01T03-12-44_UTC_files.tar.gz'
const CODE = 'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz'
const DB = 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'

describe('sandbox archive server', () => {
  let sb: Sandbox
  let tmp: string

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pbm-sb-srv-'))
    sb = await createSandbox({
      sites: [
        {
          name: 'alpha',
          envs: [
            {
              name: 'live',
              backups: [{date: '2024-05-01T03:12:44Z', sizes: {code: 70_001, files: 3_456_789, database: 131_075}}],
            },
          ],
        },
      ],
    })
  })

  after(async () => {
    await sb.close()
    fs.rmSync(tmp, {force: true, recursive: true})
  })

  it('serves every archive at its exact size with Content-Length, Accept-Ranges and a true X-Goog-Hash', async () => {
    for (const a of sb.archives()) {
      const r = await get(sb.url(a.file))
      expect(r.status).to.equal(200)
      expect(r.error).to.equal(undefined)
      expect(r.body.length).to.equal(a.size)
      expect(r.headers['content-length']).to.equal(String(a.size))
      expect(r.headers['accept-ranges']).to.equal('bytes')
      expect(r.headers['x-goog-hash']).to.equal(googHash(r.body))
      expect(a.md5).to.equal(createHash('md5').update(r.body).digest('hex'))
      expect(r.headers['x-goog-hash']).to.include(`crc32c=${a.crc32c},`)
    }
  })

  it('serves real archives: gzip inflates cleanly, tar -t lists code and files, the db is a SQL dump', async () => {
    for (const file of [CODE, FILES]) {
      const r = await get(sb.url(file))
      const tar = zlib.gunzipSync(r.body)
      expect(tar.length % 512).to.equal(0)
      const target = path.join(tmp, file)
      fs.writeFileSync(target, r.body)
      const listed = await execa('tar', ['-tzf', target])
      const names = listed.stdout.split('\n')
      expect(names.length).to.be.greaterThan(0)
      expect(names[0]).to.match(file === CODE ? /^code\// : /^files_live\//)
    }

    const sql = zlib.gunzipSync((await get(sb.url(DB))).body).toString('utf8')
    expect(sql.startsWith('-- MySQL dump')).to.equal(true)
    expect(sql).to.include('CREATE TABLE')
    expect(sql).to.match(/INSERT INTO `sandbox_data` VALUES \(\d+,'[\da-f]+'\);\n/)
    expect(sql.trimEnd().endsWith('-- Dump completed')).to.equal(true)
  })

  it('is deterministic and exact at awkward sizes (stored-block boundaries, minimum sizes)', async () => {
    const sizes = [1053, 1054, 65_535, 65_540 + 1100, 131_080 + 600, 2_000_001]
    const sizedSb = await createSandbox({
      sites: [
        {
          name: 's',
          envs: sizes.map((n, i) => ({
            name: `e${i}`,
            backups: [{date: '2024-01-01T00:00:00Z', sizes: {code: n, files: n, database: Math.max(n, 1500)}}],
          })),
        },
      ],
    })
    try {
      for (const a of sizedSb.archives()) {
        const body = Buffer.concat([...sizedSb.bytes(a.file)])
        expect(body.length, a.file).to.equal(a.size)
        const inflated = zlib.gunzipSync(body)
        if (a.element !== 'database') expect(inflated.length % 512).to.equal(0)
        expect(createHash('md5').update(body).digest('hex')).to.equal(a.md5)
      }
    } finally {
      await sizedSb.close()
    }

    // The same spec gives the same bytes.
    const again = await createSandbox({
      sites: [
        {
          name: 'alpha',
          envs: [
            {
              name: 'live',
              backups: [{date: '2024-05-01T03:12:44Z', sizes: {code: 70_001, files: 3_456_789, database: 131_075}}],
            },
          ],
        },
      ],
    })
    try {
      expect(again.archive(FILES).md5).to.equal(sb.archive(FILES).md5)
    } finally {
      await again.close()
    }
  })

  it('rejects sizes below the minimum', async () => {
    let error: Error | undefined
    try {
      await createSandbox({sites: [{name: 'x', envs: [{name: 'live', backups: [{sizes: {code: 100}}]}]}]})
    } catch (error_) {
      error = error_ as Error
    }

    expect(error?.message).to.match(/below the minimum/)
  })

  it('answers Range: bytes=N- and bytes=N-M with 206 and Content-Range, and 416 past the end', async () => {
    const a = sb.archive(FILES)
    const full = (await get(sb.url(FILES))).body
    const open = await get(sb.url(FILES), {range: 'bytes=1000000-'})
    expect(open.status).to.equal(206)
    expect(open.headers['content-range']).to.equal(`bytes 1000000-${a.size - 1}/${a.size}`)
    expect(open.headers['content-length']).to.equal(String(a.size - 1_000_000))
    expect(open.body.equals(full.subarray(1_000_000))).to.equal(true)
    // X-Goog-Hash describes the whole object, as on GCS.
    expect(open.headers['x-goog-hash']).to.equal(googHash(full))

    const mid = await get(sb.url(FILES), {range: 'bytes=65530-131090'})
    expect(mid.status).to.equal(206)
    expect(mid.headers['content-range']).to.equal(`bytes 65530-131090/${a.size}`)
    expect(mid.body.equals(full.subarray(65_530, 131_091))).to.equal(true)

    const tail = await get(sb.url(FILES), {range: `bytes=${a.size - 3}-`})
    expect(tail.body.equals(full.subarray(a.size - 3))).to.equal(true)

    const past = await get(sb.url(FILES), {range: `bytes=${a.size}-`})
    expect(past.status).to.equal(416)
    expect(past.headers['content-range']).to.equal(`bytes */${a.size}`)
    expect(sb.stats(FILES).ranges).to.include('bytes=1000000-')
  })

  it('checks the signature (403) and the expiry (400), with GCS-style XML errors', async () => {
    const url = new URL(sb.url(DB))
    const tampered = new URL(url)
    tampered.searchParams.set('Signature', 'AAAA' + url.searchParams.get('Signature')!.slice(4))
    const bad = await get(tampered.toString())
    expect(bad.status).to.equal(403)
    expect(bad.headers['content-type']).to.match(/^application\/xml/)
    expect(bad.body.toString()).to.match(
      /^<\?xml version='1.0' encoding='UTF-8'\?><Error><Code>SignatureDoesNotMatch<\/Code>/,
    )

    const otherPath = new URL(url)
    otherPath.pathname = otherPath.pathname.replace(DB, CODE)
    expect((await get(otherPath.toString())).status).to.equal(403)

    const longer = new URL(url)
    longer.searchParams.set('Expires', String(Number(url.searchParams.get('Expires')) + 3600))
    expect((await get(longer.toString())).status).to.equal(403)

    const unsigned = new URL(url)
    unsigned.search = ''
    expect((await get(unsigned.toString())).status).to.equal(403)

    const expired = await get(sb.url(DB, {expires: Math.floor(Date.now() / 1000) - 5}))
    expect(expired.status).to.equal(400)
    expect(expired.body.toString()).to.match(
      /<Error><Code>ExpiredToken<\/Code><Message>The provided token has expired.<\/Message>/,
    )
    expect(sb.stats(DB).statuses).to.include.members([403, 400])
  })

  it('honours the urlLifetimeSec of the spec in the URLs terminus prints', async () => {
    const short = await createSandbox({
      urlLifetimeSec: 120,
      sites: [{name: 'alpha', envs: [{name: 'live', backups: [{date: '2024-05-01T03:12:44Z'}]}]}],
    })
    try {
      const before = Math.floor(Date.now() / 1000)
      const url = (await terminus(short, ['backup:get', 'alpha.live', '--element=db'])).stdout.trim()
      const after = Math.floor(Date.now() / 1000)
      // Signed for 120 s (not the default) from the moment terminus ran: long enough that a loaded
      // machine still fetches it in time; no waiting for it to run out: the server's refusal of a URL
      // past its Expires is shown with one signed in the past.
      const expires = Number(new URL(url).searchParams.get('Expires'))
      expect(expires).to.be.within(before + 120, after + 120)
      expect((await get(url)).status).to.equal(200)
      const file = decodeURIComponent(new URL(url).pathname.split('/').at(-1)!)
      expect((await get(short.url(file, {expires: before - 1}))).status).to.equal(400)
      expect((await get(short.url(file, {expires: after + 60}))).status).to.equal(200)
    } finally {
      await short.close()
    }
  })

  it('serves what terminus backup:get points at, including backups made by backup:create', async () => {
    await terminus(sb, ['backup:create', 'alpha.live', '--element=code'])
    const url = (await terminus(sb, ['backup:get', 'alpha.live', '--element=code'])).stdout.trim()
    const file = decodeURIComponent(new URL(url).pathname.split('/').at(-1)!)
    expect(file).to.not.equal(CODE)
    const a = sb.archive(file)
    expect(a.size).to.equal(70_001)
    const r = await get(url)
    expect(r.status).to.equal(200)
    expect(r.body.length).to.equal(a.size)
    expect(createHash('md5').update(r.body).digest('hex')).to.equal(a.md5)
    expect(r.headers['x-goog-hash']).to.equal(googHash(r.body))
    zlib.gunzipSync(r.body)
  })

  it('streams a 2 GB archive at speed with small memory', async function () {
    this.timeout(60_000)
    const big = await createSandbox({
      sites: [
        {
          name: 'big',
          envs: [
            {
              name: 'live',
              backups: [{date: '2024-05-01T03:12:44Z', elements: ['files'], sizes: {files: 2 * 1024 ** 3}}],
            },
          ],
        },
      ],
    })
    try {
      const {file} = big.archives()[0]
      if (globalThis.gc) globalThis.gc()
      const rss0 = process.memoryUsage().rss
      let peak = rss0
      const timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss)
      }, 50)
      let n = 0
      let c = 0
      let xlen = -1
      let last = Buffer.alloc(0)
      const t0 = Date.now()
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.get(big.url(file), {agent: false}, resolve).on('error', reject)
      })
      // Count and checksum (CRC32C is native and fast); the bytes' gzip validity is checked at smaller sizes.
      await pipeline(
        res,
        new Writable({
          highWaterMark: 1 << 20,
          write(chunk: Buffer, _enc, cb) {
            n += chunk.length
            c = crc32c(chunk, c)
            if (n === chunk.length) xlen = chunk.readUInt16LE(10)
            last = Buffer.concat([last, chunk.subarray(-8)]).subarray(-8)
            cb()
          },
        }),
      )
      const r = {error: res.complete ? undefined : 'incomplete', status: res.statusCode}
      clearInterval(timer)
      const secs = (Date.now() - t0) / 1000
      expect(r.status).to.equal(200)
      expect(r.error).to.equal(undefined)
      expect(n).to.equal(2 * 1024 ** 3)
      // The gzip header's FEXTRA pads to the exact size; the trailer's ISIZE fits the stored-block layout.
      expect(xlen).to.be.within(4, 1024)
      const isize = last.readUInt32LE(4)
      expect(isize % 512).to.equal(0)
      expect(12 + xlen + isize + 5 * Math.ceil(isize / 65_535) + 8).to.equal(n)
      // The first full response computes and caches the hashes on the way.
      const cb = Buffer.alloc(4)
      cb.writeUInt32BE(c >>> 0)
      expect(big.archive(file).crc32c).to.equal(cb.toString('base64'))
      expect(peak - rss0, `rss grew by ${((peak - rss0) / 1e6).toFixed(0)} MB`).to.be.lessThan(100 * 1024 * 1024)
      console.log(
        `      2 GB in ${secs.toFixed(1)} s (${(n / secs / 1e6).toFixed(0)} MB/s), rss +${((peak - rss0) / 1e6).toFixed(0)} MB`,
      )
      // A second request carries the cached hash.
      const head = await get(big.url(file), {range: `bytes=${n - 10}-`})
      expect(head.headers['x-goog-hash']).to.match(
        new RegExp(`^crc32c=${cb.toString('base64').replaceAll('+', String.raw`\+`)},md5=`),
      )
    } finally {
      await big.close()
    }
  })
})
