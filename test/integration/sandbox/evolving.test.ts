import {crc32c} from '@node-rs/crc32'
import {expect} from 'chai'
import {execa} from 'execa'
import {createHash} from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'

import {createSandbox, type Sandbox, type SandboxArchive} from '../../../sandbox/index.js'
import {get, terminus} from './helpers.js'

const MB = 1_000_000

/** Each tar member's name and the SHA-256 of its data, read from the content as gunzip gives it. */
function tarMembers(chunks: Iterable<Buffer>): Map<string, string> {
  const members = new Map<string, string>()
  let buf: Buffer = Buffer.alloc(0)
  let member: {hash: ReturnType<typeof createHash>; left: number; name: string; pad: number} | undefined
  for (const chunk of chunks) {
    buf = buf.length > 0 ? Buffer.concat([buf, chunk]) : chunk
    for (;;) {
      if (member) {
        const take = Math.min(member.left, buf.length)
        member.hash.update(buf.subarray(0, take))
        member.left -= take
        buf = buf.subarray(take)
        if (member.left > 0) break
        if (buf.length < member.pad) break
        buf = buf.subarray(member.pad)
        members.set(member.name, member.hash.digest('hex'))
        member = undefined
      }

      if (buf.length < 512) break
      const header = buf.subarray(0, 512)
      buf = buf.subarray(512)
      if (header.every((b) => b === 0)) continue
      const name = header.toString('latin1', 0, 100).replace(/\0.*$/s, '')
      const size = Number.parseInt(header.toString('latin1', 124, 135), 8)
      member = {hash: createHash('sha256'), left: size, name, pad: (512 - (size % 512)) % 512}
    }
  }

  return members
}

function md5Of(chunks: Iterable<Buffer>): string {
  const h = createHash('md5')
  for (const c of chunks) h.update(c)
  return h.digest('hex')
}

function night(archives: SandboxArchive[], day: string, element: 'database' | 'files'): SandboxArchive {
  const a = archives.find((x) => x.element === element && x.file.includes(`_2026-11-${day}T03-00-00_UTC_`))
  if (!a) throw new Error(`no ${element} archive of 2026-11-${day}`)
  return a
}

describe('sandbox evolving nights (spec evolving, sb.setNight)', () => {
  let sb: Sandbox
  let tmp: string
  const evolving = {databaseBytes: 2 * MB, filesBytes: 200 * MB, seed: 'shop'}

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pbm-sb-evolving-'))
    sb = await createSandbox({sites: [{envs: [{evolving, name: 'live'}], name: 'shop'}]})
  })

  after(async () => {
    await sb.close()
    fs.rmSync(tmp, {force: true, recursive: true})
  })

  it('lists one automated set a night at 03:00 UTC of successive days, as Pantheon names them', async () => {
    expect(sb.archives().map((a) => a.file)).to.deep.equal([
      'shop_live_2026-11-01T03-00-00_UTC_code.tar.gz',
      'shop_live_2026-11-01T03-00-00_UTC_files.tar.gz',
      'shop_live_2026-11-01T03-00-00_UTC_database.sql.gz',
    ])
    const listed = await sb.setNight('shop', 'live', 3)
    expect(listed.map((a) => a.file)).to.deep.equal(sb.archives().map((a) => a.file))
    const r = await terminus(sb, ['backup:list', 'shop.live', '--format=json'])
    expect(r.exitCode).to.equal(0)
    const listing = JSON.parse(r.stdout) as Record<string, {file: string; initiator: string}>
    const rows = Object.values(listing)
    expect(rows.map((x) => x.file).sort()).to.deep.equal(
      ['01', '02', '03'].flatMap((d) =>
        ['code.tar.gz', 'database.sql.gz', 'files.tar.gz'].map((e) => `shop_live_2026-11-${d}T03-00-00_UTC_${e}`),
      ),
    )
    const epoch3 = Date.parse('2026-11-03T03:00:00Z') / 1000
    expect(Object.keys(listing).filter((id) => id.startsWith(`${epoch3}_`))).to.deep.equal(
      ['code', 'files', 'database'].map((e) => `${epoch3}_automated_${e}`),
    )
    expect(rows.every((x) => x.initiator === 'automated')).to.equal(true)
  })

  it('gives night k the same bytes for the same seed and different bytes for another seed', async () => {
    const twin = await createSandbox({
      sites: [{envs: [{evolving: {...evolving, night: 3}, name: 'live'}], name: 'shop'}],
    })
    const other = await createSandbox({
      sites: [{envs: [{evolving: {...evolving, night: 3, seed: 'other'}, name: 'live'}], name: 'shop'}],
    })
    try {
      await sb.setNight('shop', 'live', 3)
      for (const element of ['files', 'database'] as const) {
        const mine = night(sb.archives(), '03', element)
        const its = night(twin.archives(), '03', element)
        expect(its.size).to.equal(mine.size)
        expect(md5Of(twin.bytes(its.file))).to.equal(md5Of(sb.bytes(mine.file)))
        expect(its.md5).to.equal(mine.md5)
        expect(md5Of(other.bytes(night(other.archives(), '03', element).file))).to.not.equal(mine.md5)
      }
    } finally {
      await Promise.all([twin.close(), other.close()])
    }
  })

  it('changes or adds 1-3 % of the media files from one night to the next, the rest byte for byte', async () => {
    await sb.setNight('shop', 'live', 6)
    const archives = sb.archives()
    let previous = tarMembers(sb.content(night(archives, '01', 'files').file))
    expect(previous.size).to.be.greaterThan(100)
    for (const day of ['02', '03', '04', '05', '06']) {
      const members = tarMembers(sb.content(night(archives, day, 'files').file))
      const added = [...members.keys()].filter((name) => !previous.has(name)).length
      const changed = [...members.keys()].filter(
        (name) => previous.has(name) && previous.get(name) !== members.get(name),
      )
      const removed = [...previous.keys()].filter((name) => !members.has(name)).length
      const fraction = (added + changed.length) / previous.size
      expect(removed, `night ${day}`).to.equal(0)
      expect(fraction, `night ${day}: ${added} added, ${changed.length} changed of ${previous.size}`).to.be.within(
        0.009,
        0.031,
      )
      previous = members
    }
  })

  it('serves each night as a valid gzip (tar -tzf lists the media; the dump gunzips) with a true X-Goog-Hash and Range', async () => {
    await sb.setNight('shop', 'live', 2)
    for (const a of sb.archives().filter((x) => x.element !== 'code' && x.file.includes('_2026-11-02T'))) {
      // Hashed up front, as a bench does: past 64 MiB the server would hash on the first full response.
      expect(a.md5).to.match(/^[\da-f]{32}$/)
      const r = await get(sb.url(a.file))
      expect(r.status).to.equal(200)
      expect(r.body.length).to.equal(a.size)
      const c = Buffer.alloc(4)
      c.writeUInt32BE(crc32c(r.body) >>> 0)
      expect(r.headers['x-goog-hash']).to.equal(
        `crc32c=${c.toString('base64')},md5=${createHash('md5').update(r.body).digest('base64')}`,
      )
      const from = Math.floor(a.size / 3)
      const part = await get(sb.url(a.file), {range: `bytes=${from}-`})
      expect(part.status).to.equal(206)
      expect(part.body.equals(r.body.subarray(from))).to.equal(true)
      const target = path.join(tmp, a.file)
      fs.writeFileSync(target, r.body)
      if (a.element === 'files') {
        const listed = (await execa('tar', ['-tzf', target])).stdout.split('\n')
        expect(listed.length).to.be.greaterThan(100)
        for (const name of listed) expect(name).to.match(/^files_live\/\d{4}-\d{2}\/[a-z]+-\d{6}\.(jpg|png|pdf|mp4)$/)
      } else {
        await execa('gzip', ['-t', target])
        const sql = zlib.gunzipSync(r.body).toString('latin1')
        expect(sql.startsWith('-- MySQL dump')).to.equal(true)
        const day = /_2026-11-(\d\d)T/.exec(a.file)?.[1]
        expect(sql.endsWith(`\n-- Dump completed on 2026-11-${day} 03:00:00\n`)).to.equal(true)
        expect(sql).to.match(/^INSERT INTO `watchdog` VALUES \(\d{10},\d{5},'[\da-f]+'\),/m)
      }
    }
  })

  it('rewrites a few rows in a few tables and appends rows to the dump each night', async () => {
    await sb.setNight('shop', 'live', 4)
    const rows = (day: string) => {
      const sql = Buffer.concat([...sb.content(night(sb.archives(), day, 'database').file)]).toString('latin1')
      const all = new Map<string, string>()
      for (const m of sql.matchAll(/INSERT INTO `(\w+)` VALUES ([^\n]*);\n/g)) {
        for (const row of m[2].split('),(')) {
          const bare = row.replaceAll(/^\(|\)$/g, '')
          all.set(`${m[1]}:${bare.slice(0, 10)}`, bare)
        }
      }

      return all
    }

    const before = rows('03')
    const after = rows('04')
    const appended = [...after.keys()].filter((k) => !before.has(k))
    const rewritten = [...before.keys()].filter((k) => after.get(k) !== before.get(k) && after.has(k))
    expect([...before.keys()].every((k) => after.has(k))).to.equal(true)
    expect(appended.some((k) => k.startsWith('watchdog:'))).to.equal(true)
    expect(rewritten.length).to.be.within(1, 100)
    expect(new Set(rewritten.map((k) => k.split(':')[0])).size).to.be.within(1, 3)
    expect(rewritten.every((k) => /^\d{10},00004,/.test(String(after.get(k))))).to.equal(true)
  })

  it('streams a 1 GB night of media with small memory', async () => {
    const big = await createSandbox({
      sites: [{envs: [{evolving: {databaseBytes: 2 * MB, seed: 'big'}, name: 'live'}], name: 'shop'}],
    })
    try {
      const files = night(big.archives(), '01', 'files')
      expect(files.size).to.be.within(1e9, 1.01e9)
      const rss0 = process.memoryUsage().rss
      let peak = rss0
      let bytes = 0
      for (const chunk of big.bytes(files.file)) {
        bytes += chunk.length
        if (bytes % (64 * 1024 * 1024) < chunk.length) peak = Math.max(peak, process.memoryUsage().rss)
      }

      expect(bytes).to.equal(files.size)
      expect(peak - rss0).to.be.below(64 * 1024 * 1024)
    } finally {
      await big.close()
    }
  })
})
