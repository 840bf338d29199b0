import type {ClientRequestArgs, IncomingMessage} from 'node:http'

import createDebug from 'debug'
import net from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'
import tls from 'node:tls'

import {InterruptedError, isAbortError, PbmError} from '../errors.js'
import {redact} from '../redact.js'
import {formatBytes} from '../util/bytes.js'
import {droppedBuffers} from '../util/garbage.js'
import {http, https} from '../util/http.js'
import {resolveTimeoutMs} from '../util/timeouts.js'
import {type GoogHash, parseContentLength, parseContentRange, parseGoogHash} from './headers.js'

const debug = createDebug('pbm:download')

export interface DownloadOptions {
  /** Ask Terminus for a freshly signed URL. */
  resolveUrl: (signal: AbortSignal) => Promise<string>
  signal: AbortSignal
  /** Consecutive failures without progress before giving up (default 5). */
  retries?: number
  /** Resumes in all before giving up, even when each made progress (default 20 x retries). */
  maxResumes?: number
  /** First backoff delay in ms (default 250), doubled per consecutive failure, capped at 8 s. */
  backoffMs?: number
  /** A connection that delivers nothing for this long while we wait is dropped and resumed (default: PBM_TIMEOUT, 30 s). */
  stallTimeoutMs?: number
  /** Called before each URL resolution, and with a short note (already redacted) before each retry. */
  onResolve?: (refresh: boolean) => void
  onRetry?: (note: string) => void
}

/** How many times in a row a URL may be rejected even after a fresh one was fetched. */
const MAX_REFRESHES = 3

/**
 * One continuous byte stream from a signed URL, whatever happens underneath: a dropped connection is
 * resumed with `Range: bytes=N-`, a rejected URL (400/401/403) is replaced by a fresh one and resumed
 * at the same byte, 408/429/5xx are retried with backoff.
 */
export class ResumableDownload {
  /** Exact size, from Content-Length or Content-Range, once known. */
  total?: number
  hash: GoogHash = {}
  /** Bytes delivered so far. */
  offset = 0
  resumes = 0
  urlRefreshes = 0
  private failures = 0
  private lastDropAt = -1
  private readonly maxResumes: number
  private refreshes = 0
  private url?: string
  private readonly retries: number
  private readonly backoffMs: number
  private readonly stallTimeoutMs: number

  constructor(private readonly options: DownloadOptions) {
    this.retries = options.retries ?? 5
    this.backoffMs = options.backoffMs ?? 250
    this.stallTimeoutMs = options.stallTimeoutMs ?? resolveTimeoutMs()
    this.maxResumes = options.maxResumes ?? Math.max(20, 20 * this.retries)
  }

  /** Learn the exact size (and announced hashes) with a one-byte request, without downloading. */
  async probe(): Promise<number | undefined> {
    const res = await this.respond(0, 0)
    res.destroy()
    return this.total
  }

  /**
   * The archive's bytes, in order, from `offset` to the end.
   * @yields one chunk of the archive at a time
   */
  async *chunks(): AsyncGenerator<Buffer, void, undefined> {
    for (let first = true; first || this.total === undefined || this.offset < this.total; first = false) {
      const res = await this.respond(this.offset)
      // A server that ignores Range answers 200 from byte 0: skip what we already have.
      let skip = res.statusCode === 200 ? this.offset : 0
      if (skip > 0) debug('server ignored Range, skipping %d bytes', skip)
      try {
        for await (const raw of res as AsyncIterable<Buffer>) {
          let chunk = raw
          if (skip > 0) {
            if (chunk.length <= skip) {
              skip -= chunk.length
              continue
            }

            chunk = chunk.subarray(skip)
            skip = 0
          }

          if (this.total !== undefined && this.offset + chunk.length > this.total) {
            throw new PbmError('download-failed', `The server sent more than the announced ${this.total} bytes.`)
          }

          this.offset += chunk.length
          // The previous chunk (a copy of the parser's) is dead by now: let it be collected early.
          droppedBuffers(raw.length)
          this.failures = 0
          this.refreshes = 0
          // The idle timeout counts only while we wait for bytes: not while the consumer holds this
          // chunk (backpressure from a slow disk or S3 stops reading from the socket).
          res.socket?.setTimeout(0)
          yield chunk
          res.socket?.setTimeout(this.stallTimeoutMs)
        }
      } catch (error) {
        if (this.options.signal.aborted) throw new InterruptedError()
        if (error instanceof PbmError) throw error
        // Dropped again and again at the same byte: the server's copy ends there.
        const code = this.failures > 0 && this.offset === this.lastDropAt ? 'truncated' : 'download-failed'
        this.lastDropAt = this.offset
        await this.failed(`connection dropped at ${formatBytes(this.offset)}`, error, code)
        this.resume()
        continue
      } finally {
        res.destroy()
      }

      if (this.total === undefined) return // no length known: the server's end is the end
      if (this.offset >= this.total) return
      this.lastDropAt = this.offset
      await this.failed(
        `connection ended early at ${formatBytes(this.offset)} of ${formatBytes(this.total)}`,
        undefined,
        'truncated',
      )
      this.resume()
    }
  }

  private resume(): void {
    this.resumes++
    if (this.resumes > this.maxResumes) {
      throw new PbmError('download-failed', `Download failed: the connection dropped ${this.resumes} times.`, {
        hint: 'The network or the archive server is unstable; try again later.',
      })
    }
  }

  /** Count a failure, give up past the budget, else wait the backoff and tell the UI. */
  private async failed(what: string, cause?: unknown, code = 'download-failed'): Promise<void> {
    this.failures++
    const reason = cause ? `: ${redact(String((cause as Error).message ?? cause))}` : ''
    if (this.failures > this.retries) {
      throw new PbmError(code, `Download failed (${what}${reason}) after ${this.retries} retries.`, {
        cause,
        hint: code === 'truncated' ? 'The server keeps ending the archive early; try again later.' : undefined,
      })
    }

    const delay = Math.min(8000, this.backoffMs * 2 ** (this.failures - 1)) * (0.8 + Math.random() * 0.4)
    this.options.onRetry?.(`${what}, resuming (retry ${this.failures} of ${this.retries})`)
    debug('%s%s; retry in %d ms', what, reason, Math.round(delay))
    try {
      await sleep(delay, undefined, {signal: this.options.signal})
    } catch {
      throw new InterruptedError()
    }
  }

  private async resolve(refresh: boolean): Promise<string> {
    this.options.onResolve?.(refresh)
    let url: string
    try {
      url = await this.options.resolveUrl(this.options.signal)
    } catch (error) {
      if (this.options.signal.aborted || isAbortError(error)) throw new InterruptedError()
      if (error instanceof PbmError) throw error
      throw new PbmError(
        'url-failed',
        `Could not get a download URL: ${redact(String((error as Error).message ?? error))}`,
        {cause: error},
      )
    }

    url = url.trim()
    let parsed: URL | undefined
    try {
      parsed = new URL(url)
    } catch {}

    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      throw new PbmError('url-failed', 'Terminus did not print a download URL.')
    }

    if (refresh) this.urlRefreshes++
    this.url = url
    return url
  }

  /** A 200/206 response whose body starts at byte `start`, after retries and URL refreshes. */
  private async respond(start: number, end?: number): Promise<IncomingMessage> {
    for (;;) {
      const url = this.url ?? (await this.resolve(false))
      let res: IncomingMessage
      try {
        res = await this.get(url, start, end)
      } catch (error) {
        if (this.options.signal.aborted) throw new InterruptedError()
        await this.failed(`cannot connect at ${formatBytes(start)}`, error)
        continue
      }

      const status = res.statusCode ?? 0
      if (status === 200 || status === 206) {
        try {
          this.accept(res, start)
        } catch (error) {
          res.destroy()
          throw error
        }

        return res
      }

      res.destroy()
      if (status === 400 || status === 401 || status === 403) {
        this.refreshes++
        if (this.refreshes > MAX_REFRESHES) {
          throw new PbmError(
            'url-rejected',
            `The archive server keeps refusing the backup URL (HTTP ${status}), even freshly signed.`,
            {
              hint: 'Check that the backup still exists and that your Terminus session can read it.',
            },
          )
        }

        this.options.onRetry?.(`URL rejected (HTTP ${status}) at ${formatBytes(start)}, fetching a fresh one`)
        await this.resolve(true)
        continue
      }

      if (status === 404 || status === 410) {
        throw new PbmError('download-failed', `The archive is gone from the server (HTTP ${status}).`, {
          hint: 'The backup may have expired or been deleted; list the backups again.',
        })
      }

      if (status === 408 || status === 429 || status >= 500) {
        await this.failed(`HTTP ${status} at ${formatBytes(start)}`)
        continue
      }

      throw new PbmError('download-failed', `Unexpected answer from the archive server: HTTP ${status}.`)
    }
  }

  /** Check a 200/206 answer against what we asked and what we know; learn size and hashes. */
  private accept(res: IncomingMessage, start: number): void {
    let total: number | undefined
    if (res.statusCode === 206) {
      const range = parseContentRange(res.headers['content-range'])
      if (!range || range.start !== start) {
        throw new PbmError(
          'download-failed',
          `The archive server answered a different range (${res.headers['content-range'] ?? 'none'}) than bytes ${start}-.`,
        )
      }

      total = range.total
    } else {
      total = parseContentLength(res.headers['content-length'])
    }

    if (total !== undefined) {
      if (this.total !== undefined && this.total !== total) {
        throw new PbmError(
          'source-changed',
          `The archive changed size on the server (${this.total} then ${total} bytes).`,
        )
      }

      this.total = total
    }

    const hash = parseGoogHash(res.headers['x-goog-hash'])
    for (const k of ['md5', 'crc32c'] as const) {
      if (hash[k] === undefined) continue
      if (this.hash[k] !== undefined && this.hash[k] !== hash[k]) {
        throw new PbmError('source-changed', `The archive changed on the server during the download (${k} differs).`)
      }

      this.hash[k] = hash[k]
    }
  }

  private get(url: string, start: number, end?: number): Promise<IncomingMessage> {
    const headers: Record<string, string> = {'user-agent': 'pantheon-backup-mirror', 'accept-encoding': 'identity'}
    if (start > 0 || end !== undefined) headers.range = `bytes=${start}-${end ?? ''}`
    const secure = url.startsWith('https:')
    const mod = secure ? https : http
    return new Promise((resolve, reject) => {
      const req = mod.get(
        url,
        {
          headers,
          signal: this.options.signal,
          defaultPort: secure ? 443 : 80,
          createConnection: (o) => connect(o, secure),
        },
        resolve,
      )
      req.on('error', (error) => reject(sanitize(error)))
      req.setTimeout(this.stallTimeoutMs, () => req.destroy(new Error(`no data for ${this.stallTimeoutMs / 1000} s`)))
    })
  }
}

/** Bytes one socket read may deliver (one buffer per connection, reused for every read). */
const READ_BUFFER = 256 * 1024

/**
 * The connection of one download: the socket reads into one buffer of its own (net's `onread`)
 * and hands each read to the HTTP parser as a 'data' event, instead of allocating a new 64 KiB
 * buffer per read (plain TCP) or per TLS record. The parser copies the body out of what it is given
 * before returning (the body chunks are their own buffers), so the buffer is free again when the
 * callback returns; pause/resume (backpressure) stop and start reading as usual. Without an agent,
 * each request has its own connection (Connection: close); a download makes one request at a time.
 */
function connect(options: ClientRequestArgs, secure: boolean): net.Socket {
  const host = (options.hostname ?? options.host ?? 'localhost').replace(/^\[(.*)]$/, '$1')
  const port = Number(options.port)
  const buffer = Buffer.allocUnsafe(READ_BUFFER)
  const onread = {
    buffer,
    callback(n: number, buf: Uint8Array): boolean {
      socket.emit('data', (buf as Buffer).subarray(0, n))
      return true
    },
  }
  // tls.connect takes `onread` too (Node's docs; its types omit it).
  const socket: net.Socket = secure
    ? tls.connect({host, port, servername: net.isIP(host) ? undefined : host, onread} as tls.ConnectionOptions)
    : net.connect({host, port, onread})
  return socket
}

/** Node's errors can quote the URL: keep only a redacted message. */
function sanitize(error: Error): Error {
  if (isAbortError(error)) return error
  const clean = new Error(redact(error.message))
  ;(clean as {code?: string}).code = (error as {code?: string}).code
  return clean
}
