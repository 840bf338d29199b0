import type {AddressInfo} from 'node:net'

import {expect} from 'chai'
import {createHash, randomBytes} from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import {setTimeout as sleep} from 'node:timers/promises'

import {ResumableDownload} from '../../../src/transfer/download.js'

// A self-signed certificate for localhost, for these tests only (valid until 2125).
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHP6C7TRdrHmYfQhy
cCTQT1N/0KaNugwXZuVPNUOTA/ahRANCAAQzTyCH1hJJ4QlJAnTR47FafafiHo2m
yJBwgZCL8RFNKF1XxaY3jDGCToDF00GOVrnt8h9pkgRVjgOzDGgjDt5L
-----END PRIVATE KEY-----`
const CERT = `-----BEGIN CERTIFICATE-----
MIIBlDCCATugAwIBAgIUOPsCWWVZF8C+DE5NfvoPai9QuZYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNjEyMzE1N1oYDzIxMjYxMTAy
MTIzMTU3WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQzTyCH1hJJ4QlJAnTR47FafafiHo2myJBwgZCL8RFNKF1XxaY3jDGC
ToDF00GOVrnt8h9pkgRVjgOzDGgjDt5Lo2kwZzAdBgNVHQ4EFgQUllnnjxpCI9Ec
g7mvTMD2DKaXDQkwHwYDVR0jBBgwFoAUllnnjxpCI9Ecg7mvTMD2DKaXDQkwDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwID
RwAwRAIgR5IH5F7OURXIDqph8NvlmpW/2k8lIEVHQhy+oelZ3L0CIAyO0uzbzBXy
IZ+9/HcTIehDkUWWhMqrWmngIOxYMbJ5
-----END CERTIFICATE-----`

const body = randomBytes(8 * 1024 * 1024 + 12_345)
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

/** Serves `body` with Range support; the first response is cut after `dropAfter` bytes. */
function handler(dropAfter?: number): http.RequestListener {
  let first = true
  return (req, res) => {
    const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0)
    const headers: http.OutgoingHttpHeaders = {'content-length': String(body.length - start)}
    if (start > 0) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`
    res.writeHead(start > 0 ? 206 : 200, headers)
    if (first && dropAfter !== undefined) {
      first = false
      res.write(body.subarray(start, start + dropAfter), () => res.destroy())
      return
    }

    res.end(body.subarray(start))
  }
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return (server.address() as AddressInfo).port
}

/**
 * Download everything with a slow consumer (reads pile up in the kernel and the parser meanwhile).
 * The chunks are kept as handed out, not copied: a buffer reused for a later read would change a
 * chunk already received, and the MD5 of the whole would no longer match.
 */
async function fetchAll(url: string): Promise<{data: Buffer; resumes: number}> {
  const d = new ResumableDownload({resolveUrl: async () => url, signal: new AbortController().signal, backoffMs: 1})
  const parts: Buffer[] = []
  let i = 0
  for await (const chunk of d.chunks()) {
    parts.push(chunk)
    if (i++ % 16 === 0) await sleep(2)
  }

  return {data: Buffer.concat(parts), resumes: d.resumes}
}

describe('transfer/download (own socket read buffer)', () => {
  const servers: http.Server[] = []

  afterEach(async () => {
    for (const s of servers.splice(0)) s.close()
  })

  it('delivers the exact bytes over http, through a dropped connection and a resume', async () => {
    const server = http.createServer(handler(3 * 1024 * 1024 + 7))
    servers.push(server)
    const port = await listen(server)
    const {data, resumes} = await fetchAll(`http://127.0.0.1:${port}/a.tar.gz`)
    expect(resumes).to.equal(1)
    expect(md5(data)).to.equal(md5(body))
  })

  it('delivers the exact bytes over https (TLS reads into the same kind of buffer), through a dropped connection and a resume', async () => {
    const server = https.createServer({key: KEY, cert: CERT}, handler(2 * 1024 * 1024 + 3))
    servers.push(server)
    const port = await listen(server)
    const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED
    const emit = process.emitWarning
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0' // the test certificate is self-signed
    process.emitWarning = () => {}
    try {
      const {data, resumes} = await fetchAll(`https://localhost:${port}/a.tar.gz`)
      expect(resumes).to.equal(1)
      expect(md5(data)).to.equal(md5(body))
    } finally {
      process.emitWarning = emit
      if (previous === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous
    }
  })
})
