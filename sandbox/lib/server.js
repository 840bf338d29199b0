// @ts-check
/* eslint-disable jsdoc/require-param-description, jsdoc/require-returns-description */
// The archive server: GCS-shaped signed URLs, real archives generated while streaming, Range, X-Goog-Hash,
// and faults on demand.
import {crc32c} from '@node-rs/crc32'
import {createHash, timingSafeEqual} from 'node:crypto'
import {EventEmitter} from 'node:events'
import http from 'node:http'
import {setTimeout as sleep} from 'node:timers/promises'

import {hashRecord} from './archive.js'
import {BUCKET, EAGER_HASH_LIMIT} from './state.js'

/**
 * @typedef {{dropAfter?: number, truncateAt?: number, corruptAt?: number, expireAfter?: number,
 *   stallAfter?: number, times?: number, status5xxOnce?: number, rateBytesPerSec?: number}} Fault
 * @typedef {{fault: Fault, remaining: number, status5xxPending: boolean}} FaultState
 * @typedef {{requests: number, bytesServed: number, statuses: number[], ranges: string[]}} Stats
 */

const XML = "<?xml version='1.0' encoding='UTF-8'?>"

/** @param {string} code @param {string} message @param {string} [details] */
function xmlError(code, message, details) {
  return `${XML}<Error><Code>${code}</Code><Message>${message}</Message>${details ? `<Details>${details}</Details>` : ''}</Error>`
}

export class ArchiveServer {
  /** @param {import('./state.js').State} state */
  constructor(state) {
    this.state = state
    /** @type {Map<string, FaultState>} */
    this.faults = new Map()
    /** @type {Map<string, Stats>} */
    this.stats = new Map()
    /** Emits `served` (file, bytesServed so far) after each piece written: tests wait on it, not on a clock. */
    this.events = new EventEmitter()
    this.events.setMaxListeners(0)
    /** Signatures revoked by expireAfter. @type {Set<string>} */
    this.revoked = new Set()
    /** @type {Map<string, import('./archive.js').StoredGzip>} */
    this.archives = new Map()
    /** @type {Set<import('node:net').Socket>} */
    this.sockets = new Set()
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        if (res.headersSent) {
          res.destroy()
        } else {
          res.writeHead(500, {'content-type': 'text/plain'})
          res.end(String(error?.stack ?? error))
        }
      })
    })
    this.server.on('connection', (s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    this.url = ''
  }

  /** @returns {Promise<string>} */
  async listen() {
    await new Promise((/** @type {(v?: unknown) => void} */ resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, '127.0.0.1', () => resolve())
    })
    const addr = /** @type {import('node:net').AddressInfo} */ (this.server.address())
    this.url = `http://127.0.0.1:${addr.port}`
    return this.url
  }

  async close() {
    for (const s of this.sockets) s.destroy()
    await new Promise((/** @type {(v?: unknown) => void} */ resolve) => {
      this.server.close(() => resolve())
    })
  }

  /** @param {string} file @param {Fault} fault */
  setFault(file, fault) {
    this.faults.set(file, {
      fault,
      remaining: fault.times ?? 1,
      status5xxPending: fault.status5xxOnce !== undefined,
    })
  }

  clearFaults() {
    this.faults.clear()
    this.revoked.clear()
  }

  /** @param {string} file @returns {Stats} */
  statsFor(file) {
    let s = this.stats.get(file)
    if (!s) {
      s = {requests: 0, bytesServed: 0, statuses: [], ranges: []}
      this.stats.set(file, s)
    }

    return s
  }

  /** @param {import('./state.js').BackupRecord} r */
  archive(r) {
    const key = `${r.file}:${r.size}`
    let a = this.archives.get(key)
    if (!a) {
      a = this.state.archiveOf(r)
      if (this.archives.size > 64) this.archives.delete(/** @type {string} */ (this.archives.keys().next().value))
      this.archives.set(key, a)
    }

    return a
  }

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  async handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const parts = url.pathname.split('/').map((p) => decodeURIComponent(p))
    const file = parts.at(-1) ?? ''
    const stats = this.statsFor(file)
    stats.requests++
    if (req.headers.range) stats.ranges.push(String(req.headers.range))

    /** @param {number} status @param {string} body @param {Record<string,string>} [headers] */
    const send = (status, body, headers = {}) => {
      stats.statuses.push(status)
      res.writeHead(status, {
        'content-type': 'application/xml; charset=UTF-8',
        'content-length': Buffer.byteLength(body),
        ...headers,
      })
      res.end(req.method === 'HEAD' ? undefined : body)
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, xmlError('MethodNotAllowed', 'The specified method is not allowed against this resource.'), {
        allow: 'GET, HEAD',
      })
      return
    }

    const expires = url.searchParams.get('Expires')
    const signature = url.searchParams.get('Signature')
    if (!expires || !signature || !url.searchParams.get('GoogleAccessId')) {
      send(
        403,
        xmlError(
          'AccessDenied',
          'Access denied.',
          'Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object.',
        ),
      )
      return
    }

    const expected = Buffer.from(this.state.sign(url.pathname, Number(expires)))
    const given = Buffer.from(signature)
    if (expected.length !== given.length || !timingSafeEqual(expected, given) || !/^\d+$/.test(expires)) {
      send(
        403,
        xmlError(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your Google secret key and signing method.',
        ).replace('</Error>', `<StringToSign>GET\n\n\n${expires}\n${url.pathname}</StringToSign></Error>`),
      )
      return
    }

    if (Number(expires) * 1000 < Date.now() || this.revoked.has(signature)) {
      send(
        400,
        xmlError(
          'ExpiredToken',
          'The provided token has expired.',
          `Request signature expired at: ${new Date(Number(expires) * 1000).toISOString().replace('.000Z', '+00:00')}`,
        ),
      )
      return
    }

    // /gcs-pantheon-backups/<site-uuid>/<env>/<folder>/<file>
    const [, bucket, siteId, envName, folder] = parts
    const site = parts.length === 6 && bucket === BUCKET ? this.state.site(siteId) : undefined
    const record = site
      ? this.state.backups(site.name, envName).find((b) => b.file === file && b.folder === folder)
      : undefined
    if (!record) {
      send(404, xmlError('NoSuchKey', 'The specified key does not exist.', `No such object: ${url.pathname.slice(1)}`))
      return
    }

    const fs = this.faults.get(file)
    if (fs?.status5xxPending) {
      fs.status5xxPending = false
      const status = /** @type {number} */ (fs.fault.status5xxOnce)
      send(
        status,
        xmlError(
          status === 503 ? 'ServiceUnavailable' : 'InternalError',
          'We encountered an internal error. Please try again.',
        ),
      )
      return
    }

    const a = this.archive(record)
    const {size} = record
    let hashes = this.state.cachedHashes(record)
    if (!hashes && size <= EAGER_HASH_LIMIT) {
      hashes = a.computeHashes()
      this.state.saveHashes(record, hashes)
    }

    let start = 0
    let end = size // exclusive
    let partial = false
    const {range} = req.headers
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(String(range).trim())
      if (m && (m[1] !== '' || m[2] !== '')) {
        if (m[1] === '') {
          start = Math.max(0, size - Number(m[2]))
        } else {
          start = Number(m[1])
          if (m[2] !== '') end = Math.min(size, Number(m[2]) + 1)
        }

        if (start >= size || start >= end) {
          send(416, xmlError('InvalidRange', 'The requested range cannot be satisfied.', range), {
            'content-range': `bytes */${size}`,
          })
          return
        }

        partial = true
      }
    }

    const f = fs && fs.remaining > 0 ? fs.fault : undefined
    /** @type {Record<string, string | number>} */
    const headers = {
      'content-type': record.element === 'database' ? 'application/gzip' : 'application/x-gzip',
      'content-length': end - start,
      'accept-ranges': 'bytes',
      'last-modified': new Date(record.date * 1000).toUTCString(),
      'x-goog-stored-content-length': size,
      'x-goog-storage-class': 'STANDARD',
      'cache-control': 'private, max-age=0',
    }
    if (hashes) {
      headers['x-goog-hash'] = `crc32c=${hashes.crc32c},md5=${hashes.md5b64}`
      headers.etag = `"${hashes.md5}"`
    }

    if (partial) headers['content-range'] = `bytes ${start}-${end - 1}/${size}`
    if (f) headers.connection = 'close'
    const status = partial ? 206 : 200
    stats.statuses.push(status)
    res.writeHead(status, headers)
    res.flushHeaders()
    if (req.method === 'HEAD') {
      res.end()
      return
    }

    // Which faults trigger in this response (body-relative limit for drop/expire, absolute for truncate/corrupt).
    let stopAt = end // absolute offset where the body stops
    /** @type {'drop' | 'expire' | 'stall' | 'truncate' | undefined} */
    let stopKind
    if (f?.dropAfter !== undefined && start + f.dropAfter < stopAt) {
      stopAt = start + f.dropAfter
      stopKind = 'drop'
    }

    if (f?.expireAfter !== undefined && start + f.expireAfter < stopAt) {
      stopAt = start + f.expireAfter
      stopKind = 'expire'
    }

    if (f?.stallAfter !== undefined && start + f.stallAfter < stopAt) {
      stopAt = start + f.stallAfter
      stopKind = 'stall'
    }

    if (f?.truncateAt !== undefined && f.truncateAt >= start && f.truncateAt < stopAt) {
      stopAt = f.truncateAt
      stopKind = 'truncate'
    }

    const corrupt = f?.corruptAt !== undefined && f.corruptAt >= start && f.corruptAt < stopAt ? f.corruptAt : undefined
    if (fs && f && (stopKind || corrupt !== undefined)) fs.remaining--
    const rate = fs?.fault.rateBytesPerSec
    const hashing = !hashes && start === 0 && end === size && !stopKind && corrupt === undefined
    const md5 = hashing ? createHash('md5') : undefined
    let c32 = 0

    let closed = false
    res.on('close', () => {
      closed = true
    })
    const t0 = Date.now()
    let sent = 0
    let pos = start
    for (const chunk of a.chunks(start, stopAt)) {
      if (closed) return
      if (md5) {
        md5.update(chunk)
        c32 = crc32c(chunk, c32)
      }

      if (corrupt !== undefined && corrupt >= pos && corrupt < pos + chunk.length) chunk[corrupt - pos] ^= 0xff
      pos += chunk.length
      const pieces = rate ? split(chunk, Math.max(1024, Math.floor(rate / 10))) : [chunk]
      for (const piece of pieces) {
        if (closed) return
        const ok = res.write(piece)
        sent += piece.length
        stats.bytesServed += piece.length
        this.events.emit('served', file, stats.bytesServed)
        if (!ok) await waitDrain(res)
        if (rate) {
          const due = t0 + (sent / rate) * 1000
          const wait = due - Date.now()
          if (wait > 0) await sleep(wait)
        }
      }
    }

    if (closed) return
    // Go silent with the connection open: the client must notice by itself (an idle timeout).
    if (stopKind === 'stall') return
    if (stopKind === 'drop' || stopKind === 'expire') {
      if (stopKind === 'expire') this.revoked.add(/** @type {string} */ (signature))
      // Let the bytes written so far reach the client, then cut the connection without a clean end.
      await flush(res)
      res.socket?.destroy()
      return
    }

    res.end()
    if (md5) this.state.saveHashes(record, hashRecord(md5.digest(), c32, a))
  }
}

/** @param {Buffer} b @param {number} n */
function split(b, n) {
  const out = []
  for (let i = 0; i < b.length; i += n) out.push(b.subarray(i, i + n))
  return out
}

/** @param {http.ServerResponse} res */
function waitDrain(res) {
  return new Promise((/** @type {(v?: unknown) => void} */ resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }

    res.on('drain', done)
    res.on('close', done)
  })
}

/** Wait until everything written has left the socket buffer. @param {http.ServerResponse} res */
async function flush(res) {
  const s = res.socket
  if (!s) return
  await new Promise((/** @type {(v?: unknown) => void} */ resolve) => {
    // An empty write's callback runs once the preceding data is handed to the kernel.
    s.write('', () => resolve())
  })
}
