/** Parsers for the HTTP headers the download depends on. Pure functions, unit-tested. */

export interface GoogHash {
  /** hex */
  md5?: string
  /** hex, 8 digits */
  crc32c?: string
}

/**
 * `X-Goog-Hash: crc32c=n03x6A==,md5=Ojk9c3dhfxgoKVVHYwFbHQ==` (Node joins repeated headers with
 * ", "). Unknown or malformed entries are ignored.
 */
export function parseGoogHash(header?: string | string[]): GoogHash {
  const out: GoogHash = {}
  if (header === undefined) return out
  const text = Array.isArray(header) ? header.join(',') : header
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    const name = part.slice(0, eq).trim().toLowerCase()
    const value = part.slice(eq + 1).trim()
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) continue
    const bytes = Buffer.from(value, 'base64')
    if (name === 'md5' && bytes.length === 16) out.md5 = bytes.toString('hex')
    if (name === 'crc32c' && bytes.length === 4) out.crc32c = bytes.toString('hex')
  }

  return out
}

export interface ContentRange {
  start: number
  end: number
  /** undefined for `*` */
  total?: number
}

/** `Content-Range: bytes 100-199/1000` (or `bytes 0-0/*`); undefined when malformed. */
export function parseContentRange(header?: string): ContentRange | undefined {
  if (!header) return undefined
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header)
  if (!m) return undefined
  const start = Number(m[1])
  const end = Number(m[2])
  const total = m[3] === '*' ? undefined : Number(m[3])
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined
  if (total !== undefined && (!Number.isSafeInteger(total) || end >= total)) return undefined
  return {start, end, total}
}

/** A non-negative integer Content-Length, or undefined. */
export function parseContentLength(header?: string): number | undefined {
  if (header === undefined || !/^\s*\d+\s*$/.test(header)) return undefined
  const n = Number(header)
  return Number.isSafeInteger(n) ? n : undefined
}

export {crcHex} from '../util/crc.js'
