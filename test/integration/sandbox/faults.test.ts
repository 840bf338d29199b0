import {expect} from 'chai'
import {createHash} from 'node:crypto'

import {createSandbox, type Sandbox} from '../../../sandbox/index.js'
import {get, terminus} from './helpers.js'

const SIZE = 600_000
const FILES = 'alpha_live_2024-05-01T03-12-44_UTC_files.tar.gz'
const DB = 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

describe('sandbox faults', () => {
  let sb: Sandbox
  let good: Buffer

  before(async () => {
    sb = await createSandbox({
      sites: [
        {
          name: 'alpha',
          envs: [
            {
              name: 'live',
              backups: [
                {
                  date: '2024-05-01T03:12:44Z',
                  sizes: {code: SIZE, files: SIZE, database: SIZE},
                  faults: {database: {dropAfter: 1234}},
                },
              ],
            },
          ],
        },
      ],
    })
    good = Buffer.concat([...sb.bytes(FILES)])
  })

  beforeEach(() => {
    sb.clearFaults()
    sb.resetStats()
  })

  after(async () => {
    await sb.close()
  })

  it('applies faults given in the spec (database: dropAfter)', async () => {
    // The spec's fault is cleared by beforeEach; set up a fresh sandbox to see it.
    const fresh = await createSandbox({
      sites: [
        {
          name: 'alpha',
          envs: [{name: 'live', backups: [{date: '2024-05-01T03:12:44Z', faults: {db: {dropAfter: 100}}}]}],
        },
      ],
    })
    try {
      const r = await get(fresh.url(DB))
      expect(r.status).to.equal(200)
      expect(r.body.length).to.equal(100)
      expect(r.error).to.not.equal(undefined)
      const again = await get(fresh.url(DB))
      expect(again.error).to.equal(undefined)
      expect(again.body.length).to.equal(fresh.archive(DB).size)
    } finally {
      await fresh.close()
    }
  })

  it('dropAfter destroys the connection after N body bytes, once by default', async () => {
    sb.setFault(FILES, {dropAfter: 100_000})
    const first = await get(sb.url(FILES))
    expect(first.status).to.equal(200)
    expect(first.headers['content-length']).to.equal(String(SIZE))
    expect(first.body.length).to.equal(100_000)
    expect(first.error).to.not.equal(undefined)
    expect(first.body.equals(good.subarray(0, 100_000))).to.equal(true)
    // A resume with Range works and the fault is spent.
    const rest = await get(sb.url(FILES), {range: 'bytes=100000-'})
    expect(rest.status).to.equal(206)
    expect(rest.error).to.equal(undefined)
    expect(Buffer.concat([first.body, rest.body]).equals(good)).to.equal(true)
    expect(sb.stats(FILES)).to.deep.equal({
      requests: 2,
      bytesServed: SIZE,
      statuses: [200, 206],
      ranges: ['bytes=100000-'],
    })
  })

  it('dropAfter with times: Infinity drops every response, counting body bytes per response', async () => {
    sb.setFault(FILES, {dropAfter: 250_000, times: Infinity})
    const parts: Buffer[] = []
    let offset = 0
    let requests = 0
    while (offset < SIZE && requests < 10) {
      const r = await get(sb.url(FILES), offset ? {range: `bytes=${offset}-`} : {})
      requests++
      parts.push(r.body)
      offset += r.body.length
      if (offset < SIZE) {
        expect(r.body.length).to.equal(250_000)
        expect(r.error).to.not.equal(undefined)
      }
    }

    expect(requests).to.equal(3)
    expect(Buffer.concat(parts).equals(good)).to.equal(true)
    expect(sb.stats(FILES).ranges).to.deep.equal(['bytes=250000-', 'bytes=500000-'])
  })

  it('truncateAt sends the full Content-Length but ends the body cleanly at offset N', async () => {
    sb.setFault(FILES, {truncateAt: 300_000})
    const r = await get(sb.url(FILES))
    expect(r.status).to.equal(200)
    expect(r.headers['content-length']).to.equal(String(SIZE))
    expect(r.body.length).to.equal(300_000)
    expect(r.error).to.equal('aborted')
    expect(r.body.equals(good.subarray(0, 300_000))).to.equal(true)
    const again = await get(sb.url(FILES))
    expect(again.body.length).to.equal(SIZE)
  })

  it('corruptAt flips one byte while the headers advertise the good content', async () => {
    sb.setFault(FILES, {corruptAt: 400_000})
    const r = await get(sb.url(FILES))
    expect(r.status).to.equal(200)
    expect(r.error).to.equal(undefined)
    expect(r.body.length).to.equal(SIZE)
    const diff = [...r.body.keys()].filter((i) => r.body[i] !== good[i])
    expect(diff).to.deep.equal([400_000])
    expect(r.headers['x-goog-hash']).to.include(`md5=${createHash('md5').update(good).digest('base64')}`)
    expect(md5(r.body)).to.not.equal(sb.archive(FILES).md5)
    // A range that does not cover the offset is clean and does not spend the fault.
    const before = await get(sb.url(FILES), {range: 'bytes=0-1000'})
    expect(before.body.equals(good.subarray(0, 1001))).to.equal(true)
    sb.setFault(FILES, {corruptAt: 400_000, times: 2})
    expect(md5((await get(sb.url(FILES))).body)).to.not.equal(sb.archive(FILES).md5)
    expect(md5((await get(sb.url(FILES))).body)).to.not.equal(sb.archive(FILES).md5)
    expect(md5((await get(sb.url(FILES))).body)).to.equal(sb.archive(FILES).md5)
  })

  it('expireAfter drops the connection and the used URL answers 400 ExpiredToken from then on', async () => {
    sb.setFault(FILES, {expireAfter: 50_000})
    const url = (await terminus(sb, ['backup:get', 'alpha.live', '--element=files'])).stdout.trim()
    const first = await get(url)
    expect(first.body.length).to.equal(50_000)
    expect(first.error).to.not.equal(undefined)
    const retry = await get(url, {range: 'bytes=50000-'})
    expect(retry.status).to.equal(400)
    expect(retry.body.toString()).to.include('<Code>ExpiredToken</Code>')
    // A fresh URL (a later second, so a different signature) works.
    await new Promise((resolve) => {
      setTimeout(resolve, 1000)
    })
    const fresh = (await terminus(sb, ['backup:get', 'alpha.live', '--element=files'])).stdout.trim()
    expect(fresh).to.not.equal(url)
    const rest = await get(fresh, {range: 'bytes=50000-'})
    expect(rest.status).to.equal(206)
    expect(Buffer.concat([first.body, rest.body]).equals(good)).to.equal(true)
    expect(sb.stats(FILES).statuses).to.deep.equal([200, 400, 206])
  })

  it('status5xxOnce answers the first request with that status and an XML body', async () => {
    sb.setFault(FILES, {status5xxOnce: 503})
    const r = await get(sb.url(FILES))
    expect(r.status).to.equal(503)
    expect(r.body.toString()).to.match(/^<\?xml .*<Error><Code>ServiceUnavailable<\/Code>/)
    const again = await get(sb.url(FILES))
    expect(again.status).to.equal(200)
    expect(again.body.equals(good)).to.equal(true)
    expect(sb.stats(FILES).statuses).to.deep.equal([503, 200])
  })

  it('rateBytesPerSec throttles the stream', async () => {
    sb.setFault(FILES, {rateBytesPerSec: 1_000_000})
    const t0 = Date.now()
    const r = await get(sb.url(FILES))
    const ms = Date.now() - t0
    expect(r.body.equals(good)).to.equal(true)
    expect(ms).to.be.within(500, 2000)
    sb.clearFaults()
    const t1 = Date.now()
    await get(sb.url(FILES))
    expect(Date.now() - t1).to.be.lessThan(300)
  })

  it('latencyMs in the spec slows every terminus call', async () => {
    const slow = await createSandbox({latencyMs: 400, sites: [{name: 'alpha'}]})
    try {
      const t0 = Date.now()
      const r = await terminus(slow, ['env:list', 'alpha', '--format=json'])
      expect(r.exitCode).to.equal(0)
      expect(Date.now() - t0).to.be.at.least(400)
      expect(Object.keys(JSON.parse(r.stdout))).to.deep.equal(['dev', 'test', 'live'])
    } finally {
      await slow.close()
    }
  })
})
