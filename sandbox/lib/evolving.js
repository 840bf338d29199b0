// @ts-check
/* eslint-disable jsdoc/require-param-description, jsdoc/require-returns-description */
// Deterministic "nights" of one site.env: one automated backup set per night (03:00 UTC of successive
// days) whose files and database evolve as a real site's do, so that a store that deduplicates (restic)
// has something to deduplicate. The content of night k is a function of (seed, k) and the sizes asked
// for; it is generated while streaming, at any offset (Range), and never held in memory.
//
// files: a ustar tar of media files of 100 KB-5 MB (log-uniform, ~1.25 MB on average) until the size
//   asked for; each later night changes (new content, often a new size) or adds 1-3 % of the files.
//   File content is AES-128-CTR keystream keyed by (seed, file, version): incompressible, unique, and
//   computable at any offset. Stored deflate blocks, as the sandbox's other archives.
// database: a mysqldump-like SQL dump of four tables (extended INSERTs of fixed-width rows with hex
//   payloads); each later night rewrites a few rows in a few tables and appends rows (watchdog mostly).
import {createCipheriv, createHash} from 'node:crypto'

import {StoredGzip, ustarHeader} from './archive.js'

export const DAY = 86_400
export const EVOLVING_DEFAULTS = Object.freeze({
  changeRate: /** @type {[number, number]} */ ([0.01, 0.03]),
  databaseBytes: 100e6,
  filesBytes: 1e9,
  first: '2026-11-01T03:00:00Z',
})
const MIN_FILE = 100 * 1024
const MAX_FILE = 5 * 1024 * 1024
/** Of the files a night touches, this share is new; the others get new content. */
const ADDED_SHARE = 0.3
const STATEMENT_BYTES = 1024 * 1024
const ZERO = Buffer.alloc(256 * 1024)

/**
 * What a night's content depends on (stored in each backup record, and in the env's config).
 * @typedef {{seed: string, night: number, first: number, filesBytes: number, databaseBytes: number,
 *   changeRate: [number, number]}} Evolution
 * @typedef {{id: number, version: number, size: number, mtime: number, name: string}} MediaFile
 * @typedef {{name: string, row: number, rows: number, updated: boolean, grows: [number, number]}} TableSpec
 */

/**
 * The spec's `evolving` with defaults applied and checked (night not included).
 * @param {any} spec
 * @returns {Omit<Evolution, 'night'>}
 */
export function evolutionOf(spec) {
  const seed = String(spec.seed ?? '')
  if (!seed) throw new Error('sandbox: evolving needs a seed')
  const first = toEpochSeconds(spec.first ?? EVOLVING_DEFAULTS.first)
  const filesBytes = spec.filesBytes ?? EVOLVING_DEFAULTS.filesBytes
  const databaseBytes = spec.databaseBytes ?? EVOLVING_DEFAULTS.databaseBytes
  const changeRate = spec.changeRate ?? EVOLVING_DEFAULTS.changeRate
  if (!(filesBytes >= MIN_FILE) || !(databaseBytes >= 16 * 1024)) {
    throw new Error(`sandbox: evolving sizes must be at least ${MIN_FILE} (files) and 16384 (database) bytes`)
  }

  if (!(changeRate[0] >= 0 && changeRate[1] >= changeRate[0] && changeRate[1] <= 1)) {
    throw new Error('sandbox: evolving changeRate must be [min, max] within 0..1')
  }

  return {changeRate: [changeRate[0], changeRate[1]], databaseBytes, filesBytes, first, seed}
}

/** @param {string | number} date */
function toEpochSeconds(date) {
  if (typeof date === 'number') return Math.floor(date)
  const ms = Date.parse(date)
  if (Number.isNaN(ms)) throw new Error(`sandbox: invalid evolving first date ${date}`)
  return Math.floor(ms / 1000)
}

/** @param {number} night @param {number} first */
export function nightEpoch(night, first) {
  if (!Number.isSafeInteger(night) || night < 1) throw new Error(`sandbox: a night is an integer >= 1 (${night})`)
  return first + (night - 1) * DAY
}

/**
 * A seeded PRNG (mulberry32 from SHA-256 of the parts): uniform in [0, 1).
 * @param {...(string | number)} parts
 */
function rng(...parts) {
  let a = createHash('sha256').update(JSON.stringify(parts)).digest().readUInt32LE(0)
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** @param {...(string | number)} parts */
function keyOf(...parts) {
  return createHash('sha256').update(JSON.stringify(parts)).digest().subarray(0, 16)
}

/**
 * An AES-128-CTR keystream, readable at any offset; sequential reads reuse one cipher.
 */
class KeyStream {
  /** @param {Buffer} key */
  constructor(key) {
    this.key = key
    this.next = -1
    /** @type {import('node:crypto').Cipher | undefined} */
    this.cipher = undefined
  }

  /** @param {number} offset @param {number} n */
  read(offset, n) {
    if (offset !== this.next || !this.cipher) {
      const block = Math.floor(offset / 16)
      const iv = Buffer.alloc(16)
      iv.writeUInt32BE(Math.floor(block / 2 ** 32), 8)
      iv.writeUInt32BE(block >>> 0, 12)
      this.cipher = createCipheriv('aes-128-ctr', this.key, iv)
      const skip = offset - block * 16
      if (skip) this.cipher.update(ZERO.subarray(0, skip))
    }

    const parts = []
    let left = n
    while (left > 0) {
      const k = Math.min(left, ZERO.length)
      parts.push(this.cipher.update(ZERO.subarray(0, k)))
      left -= k
    }

    this.next = offset + n
    return parts.length === 1 ? parts[0] : Buffer.concat(parts)
  }
}

/** A media file's size: log-uniform in [100 KB, 5 MB]. @param {() => number} r */
function mediaSize(r) {
  return Math.round(MIN_FILE * (MAX_FILE / MIN_FILE) ** r())
}

const STEMS = ['banner', 'hero', 'gallery', 'portrait', 'product', 'team', 'event', 'report', 'brochure', 'clip']

/** @param {number} id @param {number} size @param {number} mtime @param {string} env @param {() => number} r */
function mediaName(id, size, mtime, env, r) {
  const month = new Date(mtime * 1000).toISOString().slice(0, 7)
  const ext = size < 400_000 ? 'jpg' : size < 2_000_000 ? (r() < 0.5 ? 'png' : 'jpg') : r() < 0.5 ? 'pdf' : 'mp4'
  const stem = STEMS[Math.floor(r() * STEMS.length)]
  return `files_${env}/${month}/${stem}-${String(id).padStart(6, '0')}.${ext}`
}

/**
 * The media files of night `ev.night`, by id; night 1 fills `filesBytes`, every later night touches
 * 1-3 % (changeRate) of the previous night's files. Also says which files night k touched.
 * @param {Evolution} ev @param {string} env
 * @returns {{files: MediaFile[], touched: number[]}}
 */
export function mediaFiles(ev, env) {
  /** @type {MediaFile[]} */
  const files = []
  const r1 = rng(ev.seed, 'files', 1)
  const history = 4 * 365 * DAY
  let total = 0
  while (total < ev.filesBytes) {
    const id = files.length + 1
    const size = Math.min(mediaSize(r1), Math.max(1, ev.filesBytes - total))
    // Uploaded over the four years before night 1, in id order.
    const mtime = ev.first - DAY - Math.floor((1 - total / ev.filesBytes) * history)
    files.push({id, version: 1, size, mtime, name: mediaName(id, size, mtime, env, r1)})
    total += size
  }

  /** @type {number[]} */
  let touched = files.map((f) => f.id)
  for (let night = 2; night <= ev.night; night++) {
    const r = rng(ev.seed, 'files', night)
    const rate = ev.changeRate[0] + r() * (ev.changeRate[1] - ev.changeRate[0])
    const count = Math.max(1, Math.round(rate * files.length))
    const mtime = nightEpoch(night, ev.first) - 3600 - Math.floor(r() * 20 * 3600)
    const changed = new Set()
    touched = []
    for (let i = 0; i < count; i++) {
      if (r() < ADDED_SHARE) {
        const id = files.length + 1
        const size = mediaSize(r)
        files.push({id, version: night, size, mtime, name: mediaName(id, size, mtime, env, r)})
        touched.push(id)
        continue
      }

      let index = Math.floor(r() * files.length)
      while (changed.has(index)) index = (index + 1) % files.length
      changed.add(index)
      const f = files[index]
      // A replaced image or document: new content, new size, same name.
      files[index] = {...f, version: night, size: mediaSize(r), mtime}
      touched.push(f.id)
    }
  }

  return {files, touched}
}

/** @param {number} n */
function padded512(n) {
  return Math.ceil(n / 512) * 512
}

/** The files archive of one night: a ustar tar of the night's media files. */
export class EvolvingFiles extends StoredGzip {
  /** @param {import('./archive.js').ArchiveMeta} meta @param {Evolution} ev */
  constructor(meta, ev) {
    const {files} = mediaFiles(ev, meta.env)
    /** Start of each entry (header) in the tar; the last element is the end-of-archive blocks' start. */
    const starts = [0]
    let end = 0
    for (const f of files) {
      end += 512 + padded512(f.size)
      starts.push(end)
    }

    super(meta, end + 1024, 4)
    this.files = files
    this.starts = starts
    /** @type {{i: number, buf: Buffer} | undefined} */
    this.headerCache = undefined
    /** @type {{i: number, stream: KeyStream} | undefined} */
    this.streamCache = undefined
    this.seed = ev.seed
  }

  /** @param {number} p */
  entryAt(p) {
    let lo = 0
    let hi = this.files.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.starts[mid] <= p) lo = mid
      else hi = mid - 1
    }

    return lo
  }

  /**
   * @override
   * @param {number} p @param {number} max
   */
  content(p, max) {
    const dataEnd = this.starts[this.files.length]
    if (p >= dataEnd) return ZERO.subarray(0, Math.min(max, this.u - p, ZERO.length))
    const i = this.entryAt(p)
    const f = this.files[i]
    const q = p - this.starts[i]
    if (q < 512) {
      if (this.headerCache?.i !== i) this.headerCache = {i, buf: ustarHeader(f.name, f.size, f.mtime)}
      return this.headerCache.buf.subarray(q, Math.min(512, q + max))
    }

    const d = q - 512
    if (d >= f.size) return ZERO.subarray(0, Math.min(max, padded512(f.size) - d))
    if (this.streamCache?.i !== i) {
      this.streamCache = {i, stream: new KeyStream(keyOf(this.seed, 'file', f.id, f.version))}
    }

    return this.streamCache.stream.read(d, Math.min(max, f.size - d, ZERO.length))
  }
}

/** Tables of the dump at databaseBytes = 100 MB (row: bytes of one row's text; grows: rows a night appends). */
const TABLES = /** @type {TableSpec[]} */ ([
  {name: 'users_field_data', row: 321, rows: 20_000, updated: true, grows: [0, 5]},
  {name: 'node_field_data', row: 401, rows: 60_000, updated: true, grows: [5, 30]},
  {name: 'node__body', row: 2001, rows: 30_000, updated: true, grows: [5, 30]},
  {name: 'watchdog', row: 301, rows: 50_000, updated: false, grows: [500, 1500]},
])
const TABLES_BYTES = TABLES.reduce((sum, t) => sum + t.row * t.rows, 0)

/**
 * The tables of night `ev.night`: row counts, and the rows rewritten since night 1 (id -> night).
 * @param {Evolution} ev
 */
export function databaseTables(ev) {
  const scale = ev.databaseBytes / TABLES_BYTES
  const tables = TABLES.map((t) => ({
    ...t,
    rows: Math.max(1, Math.round(t.rows * scale)),
    grows: /** @type {[number, number]} */ (t.grows.map((g) => Math.round(g * Math.min(1, scale * 10)))),
    /** @type {Map<number, number>} */
    changed: new Map(),
  }))
  for (let night = 2; night <= ev.night; night++) {
    const r = rng(ev.seed, 'database', night)
    for (const t of tables) {
      t.rows += t.grows[0] + Math.floor(r() * (t.grows[1] - t.grows[0] + 1))
      if (!t.updated || r() < 1 / 3) continue
      const n = 3 + Math.floor(r() * 28)
      for (let i = 0; i < n; i++) t.changed.set(1 + Math.floor(r() * t.rows), night)
    }
  }

  return tables
}

/** @param {number} n @param {number} width */
function pad(n, width) {
  return String(n).padStart(width, '0')
}

/** The database archive of one night: a SQL dump (mysqldump's shape) of the night's tables. */
export class EvolvingDatabase extends StoredGzip {
  /** @param {import('./archive.js').ArchiveMeta} meta @param {Evolution} ev */
  constructor(meta, ev) {
    const tables = databaseTables(ev)
    const when = new Date(meta.epoch * 1000).toISOString().replace('T', ' ').slice(0, 19)
    /** @type {Array<{start: number, end: number, text?: Buffer, table?: (typeof tables)[number], perStatement?: number, prefix?: Buffer}>} */
    const segments = []
    let at = 0
    /** @param {string} s */
    const text = (s) => {
      const buf = Buffer.from(s)
      segments.push({start: at, end: at + buf.length, text: buf})
      at += buf.length
    }

    text(
      [
        '-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)',
        '--',
        '-- Host: 127.0.0.1    Database: pantheon',
        '-- ------------------------------------------------------',
        '-- Server version\t8.0.36',
        '',
        '/*!40101 SET NAMES utf8mb4 */;',
        "/*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;",
        '',
        '',
      ].join('\n'),
    )
    for (const t of tables) {
      text(
        [
          '--',
          `-- Table structure for table \`${t.name}\``,
          '--',
          '',
          `DROP TABLE IF EXISTS \`${t.name}\`;`,
          `CREATE TABLE \`${t.name}\` (`,
          '  `id` int unsigned NOT NULL,',
          '  `rev` int unsigned NOT NULL,',
          '  `data` longtext NOT NULL,',
          '  PRIMARY KEY (`id`)',
          ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;',
          '',
          `LOCK TABLES \`${t.name}\` WRITE;`,
          `/*!40000 ALTER TABLE \`${t.name}\` DISABLE KEYS */;`,
          '',
        ].join('\n'),
      )
      const prefix = Buffer.from(`INSERT INTO \`${t.name}\` VALUES `)
      const perStatement = Math.max(1, Math.floor(STATEMENT_BYTES / (t.row + 1)))
      const statements = Math.ceil(t.rows / perStatement)
      const bytes = statements * (prefix.length + 1) + t.rows * (t.row + 1)
      segments.push({start: at, end: at + bytes, table: t, perStatement, prefix})
      at += bytes
      text(`/*!40000 ALTER TABLE \`${t.name}\` ENABLE KEYS */;\nUNLOCK TABLES;\n\n`)
    }

    text(`-- Dump completed on ${when}\n`)
    super(meta, at, 4)
    this.segments = segments
    this.seed = ev.seed
    /** @type {{segment: number, j: number, buf: Buffer} | undefined} */
    this.statementCache = undefined
  }

  /**
   * @override
   * @param {number} p @param {number} max
   */
  content(p, max) {
    const s = this.segments.findIndex((x) => p < x.end)
    const seg = this.segments[s]
    const q = p - seg.start
    if (seg.text) return seg.text.subarray(q, Math.min(seg.text.length, q + max))
    const t = /** @type {NonNullable<typeof seg.table>} */ (seg.table)
    const per = /** @type {number} */ (seg.perStatement)
    const {prefix} = /** @type {{prefix: Buffer}} */ (seg)
    const full = prefix.length + 1 + per * (t.row + 1)
    const j = Math.floor(q / full)
    if (this.statementCache?.segment !== s || this.statementCache.j !== j) {
      this.statementCache = {
        segment: s,
        j,
        buf: this.statement(t, prefix, j * per + 1, Math.min(t.rows, (j + 1) * per)),
      }
    }

    const r = q - j * full
    const {buf} = this.statementCache
    return buf.subarray(r, Math.min(buf.length, r + max))
  }

  /**
   * `INSERT INTO t VALUES (row),(row),...;\n` for rows first..last (1-based ids).
   * @param {ReturnType<typeof databaseTables>[number]} t @param {Buffer} prefix @param {number} first @param {number} last
   */
  statement(t, prefix, first, last) {
    const hexLen = t.row - 21
    const half = Math.ceil(hexLen / 2)
    const n = last - first + 1
    const base = new KeyStream(keyOf(this.seed, 'table', t.name)).read((first - 1) * half, n * half).toString('hex')
    const buf = Buffer.allocUnsafe(prefix.length + n * (t.row + 1) + 1)
    let o = prefix.copy(buf, 0)
    for (let id = first; id <= last; id++) {
      const rev = t.changed.get(id) ?? 0
      const i = id - first
      const hex = rev
        ? new KeyStream(keyOf(this.seed, 'row', t.name, id, rev)).read(0, half).toString('hex').slice(0, hexLen)
        : base.slice(i * 2 * half, i * 2 * half + hexLen)
      o += buf.write(`(${pad(id, 10)},${pad(rev, 5)},'${hex}')${id === last ? ';' : ','}`, o, 'latin1')
    }

    buf[o++] = 0x0a
    return buf
  }
}

/**
 * The archive of an evolving night's element (code stays the sandbox's plain archive of its size).
 * @param {import('./archive.js').ArchiveMeta} meta @param {Evolution} ev
 */
export function evolvingArchive(meta, ev) {
  if (meta.element === 'files') return new EvolvingFiles(meta, ev)
  if (meta.element === 'database') return new EvolvingDatabase(meta, ev)
}
