import type {AddressInfo} from 'node:net'

import {expect} from 'chai'
import {createHash, randomBytes} from 'node:crypto'
import {once} from 'node:events'
import http from 'node:http'
import {setTimeout as hold} from 'node:timers/promises'

import {ResumableDownload} from '../../../src/transfer/download.js'

const body = randomBytes(4 * 1024 * 1024 + 321)
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

/** Serves `body` with Range; the first response goes silent (socket open) after `stallAfter` bytes. */
async function serve(stallAfter?: number) {
  let first = true
  const ranges: string[] = []
  const server = http.createServer((req, res) => {
    ranges.push(req.headers.range ?? '')
    const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0)
    const headers: http.OutgoingHttpHeaders = {'content-length': String(body.length - start)}
    if (start > 0) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`
    res.writeHead(start > 0 ? 206 : 200, headers)
    if (first && stallAfter !== undefined) {
      first = false
      res.write(body.subarray(start, start + stallAfter)) // then nothing, and no end
      return
    }

    res.end(body.subarray(start))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.tar.gz`,
    ranges,
    close() {
      server.closeAllConnections()
      server.close()
    },
  }
}

describe('transfer/download: the idle timeout counts only while waiting for bytes', () => {
  const STALL_MS = 300

  it('a server gone silent mid-body is dropped after the idle timeout and resumed with Range', async () => {
    const server = await serve(1_000_000)
    try {
      const d = new ResumableDownload({
        resolveUrl: async () => server.url,
        signal: new AbortController().signal,
        backoffMs: 1,
        stallTimeoutMs: STALL_MS,
      })
      const parts: Buffer[] = []
      for await (const chunk of d.chunks()) parts.push(chunk)
      expect(md5(Buffer.concat(parts))).to.equal(md5(body))
      expect(d.resumes).to.equal(1)
      expect(server.ranges).to.have.length(2)
      expect(server.ranges[1]).to.match(/^bytes=\d+-$/)
      expect(Number(/\d+/.exec(server.ranges[1])![0])).to.be.within(1, 1_000_000)
    } finally {
      server.close()
    }
  })

  it('a consumer that holds chunks longer than the idle timeout (backpressure) does not trip it', async () => {
    const server = await serve()
    try {
      const d = new ResumableDownload({
        resolveUrl: async () => server.url,
        signal: new AbortController().signal,
        backoffMs: 1,
        stallTimeoutMs: STALL_MS,
      })
      const parts: Buffer[] = []
      let held = 0
      for await (const chunk of d.chunks()) {
        parts.push(chunk)
        // The injected fault is the slow consumer itself: a destination that takes 3x the idle
        // timeout to accept a chunk, three times during the download.
        if (held < 3 && parts.length % 8 === 1) {
          held++
          await hold(3 * STALL_MS)
        }
      }

      expect(held).to.equal(3)
      expect(d.resumes, 'a held-back download was dropped as idle').to.equal(0)
      expect(server.ranges).to.deep.equal([''])
      expect(md5(Buffer.concat(parts))).to.equal(md5(body))
    } finally {
      server.close()
    }
  })
})
