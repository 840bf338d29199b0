import {randomUUID} from 'node:crypto'

import {UsageError} from '../errors.js'
import {redact} from '../redact.js'
import {http, https} from './http.js'

/**
 * Health pings for cron monitoring, in the convention of healthchecks.io (and of borgmatic's hook):
 * `URL/start` when a run begins, `URL` on success, `URL/fail` (or `URL/<exit status>`) on failure,
 * each a POST whose text body shows up in the monitor. A ping is never allowed to fail a backup: every
 * problem comes back as a warning. The ping URL is itself a credential (anyone holding it can report
 * success), so warnings name only its origin.
 */

/** healthchecks.io stores up to 100 kB per ping, a self-hosted instance 10 kB by default (PING_BODY_LIMIT). */
export const PING_BODY_LIMIT = 10_000
export const DEFAULT_PING_TIMEOUT_MS = 5000
/** A bare check UUID is a healthchecks.io ping URL, as borgmatic reads it. */
const HC_PING = 'https://hc-ping.com/'
const UUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i
const TRUNCATED = '\n[...truncated]\n'

/** `--ping` / `PBM_PING`: an http(s) ping URL, or a bare healthchecks.io check UUID. */
export function parsePingUrl(text: string, source = '--ping'): URL {
  const value = text.trim()
  if (UUID.test(value)) return new URL(HC_PING + value)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`${source} must be a ping URL (https://...) or a healthchecks.io check UUID.`)
  }

  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${source} must be an http or https URL, got ${url.protocol} (${url.origin}).`)
  }

  if (url.username || url.password) {
    throw new UsageError(`${source} must not carry a user name or password.`)
  }

  return url
}

export type PingOutcome = {ok: true} | {ok: false; warning: string}

export interface PingerOptions {
  timeoutMs?: number
  /**
   * Sent as `rid` with every ping, so that the monitor pairs each start with its own end when runs
   * overlap (shards of one Job pinging one check). Default: a random UUID per Pinger.
   */
  runId?: string | false
  userAgent?: string
}

export class Pinger {
  readonly runId?: string
  private readonly url: URL
  private readonly timeoutMs: number
  private readonly userAgent: string

  constructor(url: string | URL, options: PingerOptions = {}) {
    this.url = typeof url === 'string' ? parsePingUrl(url) : new URL(url.href)
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PING_TIMEOUT_MS
    this.runId = options.runId === false ? undefined : (options.runId ?? randomUUID())
    this.userAgent = options.userAgent ?? 'pbm (pantheon-backup-mirror)'
  }

  /** Where the pings go, safe to show: the origin alone. */
  get origin(): string {
    return this.url.origin
  }

  start(body = ''): Promise<PingOutcome> {
    return this.send('start', body)
  }

  success(body = ''): Promise<PingOutcome> {
    return this.send('', body)
  }

  fail(body = ''): Promise<PingOutcome> {
    return this.send('fail', body)
  }

  /** healthchecks.io's exit-status form: 0 is success, 1-255 a failure that shows the code. */
  exitStatus(code: number, body = ''): Promise<PingOutcome> {
    const status = Number.isInteger(code) && code >= 0 && code <= 255 ? code : 1
    return this.send(String(status), body)
  }

  /** The URL of one ping: the suffix after the path, then the run ID among any query the user gave. */
  urlFor(suffix: string): URL {
    const url = new URL(this.url.href)
    if (suffix) url.pathname = `${url.pathname.replace(/\/+$/, '')}/${suffix}`
    if (this.runId) url.searchParams.set('rid', this.runId)
    return url
  }

  private async send(suffix: string, body: string): Promise<PingOutcome> {
    const what = suffix === '' ? 'success' : suffix
    try {
      const status = await post(this.urlFor(suffix), limitBody(body), {
        headers: {'content-type': 'text/plain; charset=utf-8', 'user-agent': this.userAgent},
        signal: AbortSignal.timeout(this.timeoutMs),
      })
      if (status >= 200 && status < 300) return {ok: true}
      return {ok: false, warning: `The ${what} ping to ${this.origin} was answered ${status}.`}
    } catch (error) {
      const reason =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
          ? `no answer within ${this.timeoutMs / 1000} s`
          : describe(error)
      return {ok: false, warning: `The ${what} ping to ${this.origin} failed: ${reason}.`}
    }
  }
}

/** The system's code (ECONNREFUSED, ENOTFOUND...) when there is one, else the message; never a URL. */
function describe(error: unknown): string {
  const {code, cause} = error as {code?: string; cause?: {code?: string; message?: string}}
  const text = code ?? cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))
  return redact(text).replaceAll(/https?:\/\/\S+/g, '<url>')
}

/** Redacted and cut to PING_BODY_LIMIT bytes (UTF-8), on a character boundary, marked when cut. */
export function limitBody(body: string): string {
  const text = redact(body)
  if (Buffer.byteLength(text) <= PING_BODY_LIMIT) return text
  const room = PING_BODY_LIMIT - Buffer.byteLength(TRUNCATED)
  let cut = Buffer.from(text).subarray(0, room).toString('utf8')
  // A multi-byte character cut in half decodes to U+FFFD: drop it.
  cut = cut.replace(/\uFFFD$/, '')
  return cut + TRUNCATED
}

export interface PingSummary {
  /** e.g. `backup:mirror`. */
  command: string
  /** e.g. `3/8`. */
  shard?: string
  /** Named counts, in order: transferred, skipped, failed... */
  counts: Record<string, number>
  bytes?: number
  durationMs?: number
  /** The first errors, as `target: message` (they are redacted again here). */
  errors?: Array<{target?: string; code?: string; message: string}>
}

/** How many errors a ping lists; the rest are counted. */
export const PING_ERRORS = 10

/** The short text body of a ping: one line of counts, then the first errors. */
export function pingBody(summary: PingSummary): string {
  const head = [
    `pbm ${summary.command}${summary.shard ? ` (shard ${summary.shard})` : ''}:`,
    Object.entries(summary.counts)
      .map(([name, n]) => `${n} ${name}`)
      .join(', '),
  ].join(' ')
  const extra = [
    summary.bytes === undefined ? '' : `${summary.bytes} bytes`,
    summary.durationMs === undefined ? '' : `${Math.round(summary.durationMs / 1000)} s`,
  ].filter(Boolean)
  const lines = [extra.length > 0 ? `${head}; ${extra.join(', ')}` : head]
  const errors = summary.errors ?? []
  for (const e of errors.slice(0, PING_ERRORS)) {
    lines.push(`- ${e.target ? `${e.target}: ` : ''}${e.message}${e.code ? ` [${e.code}]` : ''}`)
  }

  if (errors.length > PING_ERRORS) lines.push(`- and ${errors.length - PING_ERRORS} more`)
  return limitBody(lines.join('\n') + '\n')
}

const MAX_REDIRECTS = 5

/**
 * Send `body` with `method` to `url` and answer the final status, following redirects as fetch does
 * (303, and 301 or 302 after a POST, continue as a GET without a body; 307 and 308 repeat the
 * request). With node:http, not fetch: fetch's HTTP parser is WebAssembly, which `node --jitless`
 * (the smaller pod of docs/MEMORY.md) does not have.
 */
async function post(
  url: URL,
  body: string | undefined,
  options: {headers: Record<string, string>; signal: AbortSignal},
  redirects = MAX_REDIRECTS,
): Promise<number> {
  const {location, status} = await new Promise<{location?: string; status: number}>((resolve, reject) => {
    const headers = body === undefined ? {'user-agent': options.headers['user-agent']} : options.headers
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        headers: body === undefined ? headers : {...headers, 'content-length': Buffer.byteLength(body)},
        method: body === undefined ? 'GET' : 'POST',
        signal: options.signal,
      },
      (response) => {
        // Drain the answer so that the connection is released.
        response.resume()
        response.on('error', reject)
        response.on('end', () => resolve({location: response.headers.location, status: response.statusCode ?? 0}))
      },
    )
    request.on('error', reject)
    request.end(body)
  })
  if (![301, 302, 303, 307, 308].includes(status) || !location || redirects === 0) return status
  const next = new URL(location, url)
  if (next.protocol !== 'https:' && next.protocol !== 'http:') return status
  const keep = status === 307 || status === 308
  return post(next, keep ? body : undefined, options, redirects - 1)
}
