// @ts-check
/* eslint-disable jsdoc/require-param-description, jsdoc/require-returns-description */
// Deterministic, streamable backup archives of an exact size.
//
// Every archive is a gzip member whose deflate stream uses only *stored* blocks, so the compressed size
// and the position of every byte are computable: the gzip header carries an FEXTRA field that pads the
// file to the exact size asked for. Code and files archives hold a ustar tar, database archives a SQL
// dump. Content comes from a 64 KiB pseudo-random pattern per archive, so generating a byte range is
// mostly zero-copy and nothing of the archive is ever held in memory as a whole.
import {crc32c} from '@node-rs/crc32'
import {createHash} from 'node:crypto'
import zlib from 'node:zlib'

export const BLOCK = 65535
const BLOCK_TOTAL = BLOCK + 5
const PATTERN = 65536
const TAR_FILE_DATA = 1024 * 1024
const TAR_ENTRY = 512 + TAR_FILE_DATA
const SQL_LINE = 128
const SQL_FOOTER_MIN = '-- Dump completed\n'.length
const OUT_CHUNK = 256 * 1024

/**
 * @typedef {{site: string, env: string, folder: string, element: string, size: number, file: string, epoch: number}} ArchiveMeta
 * @typedef {{md5: string, crc32c: string, md5b64: string, contentCrc: number, size: number}} ArchiveHashes
 */

/** @param {string} element */
export function extensionFor(element) {
  return element === 'database' ? 'sql.gz' : 'tar.gz'
}

/**
 * The smallest size an archive of this element can have.
 * @param {string} element
 */
export function minimumSize(element) {
  return element === 'database' ? 24 + sqlHeader('x', 'x', 'x').length + SQL_FOOTER_MIN + 5 : 24 + 1024 + 5
}

/** @param {string} site @param {string} env @param {string} folder */
function sqlHeader(site, env, folder) {
  return Buffer.from(
    [
      '-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)',
      '--',
      '-- Host: 127.0.0.1    Database: pantheon',
      '-- ------------------------------------------------------',
      `-- Server version\t8.0.36 (pbm sandbox: ${site}.${env} ${folder})`,
      '',
      '/*!40101 SET NAMES utf8mb4 */;',
      "/*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;",
      '',
      'DROP TABLE IF EXISTS `sandbox_data`;',
      'CREATE TABLE `sandbox_data` (',
      '  `id` int NOT NULL,',
      '  `payload` varchar(255) NOT NULL',
      ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;',
      '',
      'LOCK TABLES `sandbox_data` WRITE;',
      '',
    ].join('\n'),
  )
}

/**
 * @param {Buffer} seed
 * @param {number} length
 */
function prng(seed, length) {
  const out = Buffer.allocUnsafe(length)
  let off = 0
  let counter = 0
  while (off < length) {
    const h = createHash('sha256').update(seed).update(String(counter++)).digest()
    off += h.copy(out, off)
  }

  return out
}

/**
 * Find the largest content size U (a multiple of align) and the FEXTRA length X so that
 * 12 + X + U + 5 * blocks(U) + 8 == size, with 4 <= X <= 65535.
 * @param {number} size @param {number} align @param {number} minU
 */
function fit(size, align, minU) {
  let u = size - 24 - 5 * Math.ceil(size / BLOCK)
  u = Math.floor(u / align) * align
  while (u >= minU) {
    const x = size - 20 - u - 5 * blocks(u)
    if (x >= 4 && x <= 65535) return {u, x}
    u -= align
  }
}

/** @param {number} u */
function blocks(u) {
  return Math.max(1, Math.ceil(u / BLOCK))
}

/**
 * @param {string} s @param {number} len
 */
function octal(s, len) {
  return s.padStart(len - 1, '0') + '\0'
}

/**
 * A gzip member of stored deflate blocks around content that a subclass generates (`content(p, max)`):
 * the framing (header with FEXTRA padding, 5-byte block headers, trailer) and the streaming and hashing
 * of it, so every byte's position is computable and nothing is held in memory.
 */
/**
 * A ustar header of a regular file (mode 644, owner pantheon).
 * @param {string} name @param {number} size @param {number} mtime epoch seconds
 */
export function ustarHeader(name, size, mtime) {
  const buf = Buffer.alloc(512)
  buf.write(name, 0, 100, 'utf8')
  buf.write(octal('644', 8), 100, 'latin1')
  buf.write(octal('1750', 8), 108, 'latin1')
  buf.write(octal('1750', 8), 116, 'latin1')
  buf.write(octal(size.toString(8), 12), 124, 'latin1')
  buf.write(octal((mtime >>> 0).toString(8), 12), 136, 'latin1')
  buf.write('        ', 148, 'latin1')
  buf.write('0', 156, 'latin1')
  buf.write('ustar\u000000', 257, 'latin1')
  buf.write('pantheon', 265, 'latin1')
  buf.write('pantheon', 297, 'latin1')
  let sum = 0
  for (let k = 0; k < 512; k++) sum += buf[k]
  buf.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1')
  return buf
}

export class StoredGzip {
  /**
   * @param {ArchiveMeta} meta
   * @param {number} u the content's length
   * @param {number} x the FEXTRA field's length (4..65535): pads the member to its size
   */
  constructor(meta, u, x) {
    this.meta = meta
    this.u = u
    this.x = x
    this.nb = blocks(u)
    this.h = 12 + x
    this.t = this.h + u + 5 * this.nb
    this.size = this.t + 8
    const header = Buffer.alloc(this.h)
    header[0] = 0x1f
    header[1] = 0x8b
    header[2] = 8
    header[3] = 4 // FEXTRA
    header.writeUInt32LE(meta.epoch >>> 0, 4)
    header[8] = 0
    header[9] = 3
    header.writeUInt16LE(x, 10)
    header[12] = 0x50 // 'P'
    header[13] = 0x42 // 'B'
    header.writeUInt16LE(x - 4, 14)
    this.gzHeader = header
    /** @type {number | undefined} */
    this.contentCrc = undefined
  }

  // eslint-disable-next-line jsdoc/require-returns-check
  /**
   * Uncompressed content from position p, at most max bytes (at least one).
   * @param {number} _p @param {number} _max
   * @returns {Buffer} the subclass's
   */
  content(_p, _max) {
    throw new Error('sandbox: StoredGzip.content is abstract')
  }

  /**
   * The uncompressed content [start, end) as chunks (what gunzip gives).
   * @param {number} start @param {number} end
   * @yields {Buffer}
   * @returns {Generator<Buffer>}
   */
  *contentChunks(start = 0, end = this.u) {
    let p = start
    while (p < end) {
      const c = this.content(p, end - p)
      yield c
      p += c.length
    }
  }

  /**
   * The CRC32 of the whole uncompressed content (for the gzip trailer); one pass, then remembered.
   */
  computeContentCrc() {
    if (this.contentCrc !== undefined) return this.contentCrc
    let crc = 0
    let p = 0
    while (p < this.u) {
      const c = this.content(p, this.u - p)
      crc = zlib.crc32(c, crc)
      p += c.length
    }

    this.contentCrc = crc
    return crc
  }

  /**
   * Compressed bytes [start, end) as chunks of up to 256 KiB.
   * @param {number} start @param {number} end
   * @yields {Buffer}
   * @returns {Generator<Buffer>}
   */
  *chunks(start = 0, end = this.size) {
    let crc = 0
    const tracking = start === 0 && this.contentCrc === undefined
    let pos = start
    while (pos < end) {
      const out = Buffer.allocUnsafe(Math.min(OUT_CHUNK, end - pos))
      let o = 0
      while (o < out.length) {
        const max = out.length - o
        let piece
        if (pos < this.h) {
          piece = this.gzHeader.subarray(pos, Math.min(this.h, pos + max))
        } else if (pos < this.t) {
          const rel = pos - this.h
          const j = Math.floor(rel / BLOCK_TOTAL)
          const r = rel - j * BLOCK_TOTAL
          if (r < 5) {
            const bh = Buffer.allocUnsafe(5)
            const len = Math.min(BLOCK, this.u - j * BLOCK)
            bh[0] = j === this.nb - 1 ? 1 : 0
            bh.writeUInt16LE(len, 1)
            bh.writeUInt16LE(~len & 0xffff, 3)
            piece = bh.subarray(r, Math.min(5, r + max))
          } else {
            const c = j * BLOCK + (r - 5)
            const blockEnd = Math.min(this.u, (j + 1) * BLOCK)
            piece = this.content(c, Math.min(max, blockEnd - c))
            if (tracking) crc = zlib.crc32(piece, crc)
          }
        } else {
          if (tracking && this.contentCrc === undefined) this.contentCrc = crc >>> 0
          const trailer = Buffer.allocUnsafe(8)
          trailer.writeUInt32LE(this.computeContentCrc() >>> 0, 0)
          trailer.writeUInt32LE(this.u % 2 ** 32, 4)
          const r = pos - this.t
          piece = trailer.subarray(r, Math.min(8, r + max))
        }

        piece.copy(out, o)
        o += piece.length
        pos += piece.length
      }

      yield out
    }
  }

  /** MD5 and CRC32C of the whole archive, one pass. @returns {ArchiveHashes} */
  computeHashes() {
    const md5 = createHash('md5')
    let c = 0
    for (const chunk of this.chunks(0, this.size)) {
      md5.update(chunk)
      c = crc32c(chunk, c)
    }

    return hashRecord(md5.digest(), c, this)
  }
}

export class Archive extends StoredGzip {
  /** @param {ArchiveMeta} meta */
  constructor(meta) {
    const {site, env, folder, element, size, file} = meta
    if (!Number.isSafeInteger(size) || size < minimumSize(element)) {
      throw new Error(`sandbox: archive ${file} size ${size} is below the minimum of ${minimumSize(element)} bytes`)
    }

    const kind = element === 'database' ? 'sql' : 'tar'
    const head = kind === 'sql' ? sqlHeader(site, env, folder) : undefined
    const f = head ? fit(size, 1, head.length + SQL_FOOTER_MIN) : fit(size, 512, 1024)
    if (!f) throw new Error(`sandbox: cannot lay out ${file} at ${size} bytes`)
    super(meta, f.u, f.x)
    if (this.size !== size) throw new Error('sandbox: layout arithmetic is wrong')
    this.kind = kind
    this.seed = createHash('sha256')
      .update(JSON.stringify([site, env, folder, element, size]))
      .digest()
    const pattern = prng(this.seed, PATTERN)
    if (head) {
      // 512 lines of 128 bytes: INSERT statements with hex payloads.
      const prefix = 'INSERT INTO `sandbox_data` VALUES ('
      const hexLen = SQL_LINE - prefix.length - 10 - 2 - 4
      const lines = []
      for (let i = 0; i < PATTERN / SQL_LINE; i++) {
        const hex = pattern
          .subarray(i * 64, i * 64 + 64)
          .toString('hex')
          .slice(0, hexLen)
        lines.push(`${prefix}${String(i + 1).padStart(10, '0')},'${hex}');\n`)
      }

      const text = Buffer.from(lines.join(''))
      this.pattern2 = Buffer.concat([text, text])
      this.head = head
      this.lines = Math.floor((this.u - head.length - SQL_FOOTER_MIN) / SQL_LINE)
      const footLen = this.u - head.length - this.lines * SQL_LINE
      this.foot = Buffer.from('-- Dump completed' + ' '.repeat(footLen - SQL_FOOTER_MIN) + '\n')
    } else {
      this.pattern2 = Buffer.concat([pattern, pattern])
      const avail = this.u - 1024
      this.entries = avail === 0 ? 0 : Math.ceil(avail / TAR_ENTRY)
      this.lastData = avail === 0 ? 0 : avail - (this.entries - 1) * TAR_ENTRY - 512
      this.dirName = element === 'code' ? 'code' : `files_${env}`
      /** @type {{i: number, buf: Buffer} | undefined} */
      this.headerCache = undefined
    }
  }

  /** @param {number} i */
  tarHeader(i) {
    if (this.headerCache?.i === i) return this.headerCache.buf
    const dataSize =
      i === /** @type {number} */ (this.entries) - 1 ? /** @type {number} */ (this.lastData) : TAR_FILE_DATA
    const name = `${this.dirName}/${this.meta.element === 'code' ? 'blob' : 'upload'}-${String(i + 1).padStart(6, '0')}.bin`
    const buf = ustarHeader(name, dataSize, this.meta.epoch)
    this.headerCache = {i, buf}
    return buf
  }

  /**
   * Uncompressed content from position p, at most max bytes (at least one).
   * @override
   * @param {number} p @param {number} max
   * @returns {Buffer}
   */
  content(p, max) {
    if (this.kind === 'sql') {
      const {head} = /** @type {{head: Buffer}} */ (this)
      if (p < head.length) return head.subarray(p, Math.min(head.length, p + max))
      const bodyEnd = head.length + /** @type {number} */ (this.lines) * SQL_LINE
      if (p < bodyEnd) {
        const q = (p - head.length) % PATTERN
        return this.pattern2.subarray(q, q + Math.min(max, bodyEnd - p, PATTERN))
      }

      const f = p - bodyEnd
      const {foot} = /** @type {{foot: Buffer}} */ (this)
      return foot.subarray(f, Math.min(foot.length, f + max))
    }

    const end = this.u - 1024
    if (p >= end) return ZEROS.subarray(0, Math.min(max, this.u - p, ZEROS.length))
    const i = Math.floor(p / TAR_ENTRY)
    const q = p - i * TAR_ENTRY
    if (q < 512) return this.tarHeader(i).subarray(q, Math.min(512, q + max))
    const d = q - 512
    const dataSize =
      i === /** @type {number} */ (this.entries) - 1 ? /** @type {number} */ (this.lastData) : TAR_FILE_DATA
    const s = (d + i * 7919) % PATTERN
    return this.pattern2.subarray(s, s + Math.min(max, dataSize - d, PATTERN))
  }
}

/**
 * @param {Buffer} md5 @param {number} c @param {StoredGzip} a
 * @returns {ArchiveHashes}
 */
export function hashRecord(md5, c, a) {
  const cb = Buffer.alloc(4)
  cb.writeUInt32BE(c >>> 0, 0)
  return {
    md5: md5.toString('hex'),
    md5b64: md5.toString('base64'),
    crc32c: cb.toString('base64'),
    contentCrc: /** @type {number} */ (a.contentCrc),
    size: a.size,
  }
}

const ZEROS = Buffer.alloc(65536)
