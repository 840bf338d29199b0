import {crc32c} from '@node-rs/crc32'
import {createHash} from 'node:crypto'
import zlib from 'node:zlib'

import {Waiter} from '../destination/wait.js'
import {PbmError} from '../errors.js'
import {crcHex, type GoogHash} from './headers.js'

export interface Verified {
  bytes: number
  md5: string
  crc32c: string
  /** Size of the inflated content. */
  inflated: number
}

/**
 * Checks an archive while it streams: counts bytes, computes MD5 and CRC32C, checks the gzip magic
 * and inflates everything (output discarded) so that finish() knows the gzip trailer (CRC32 and
 * length) is right. The inflater runs on libuv's thread pool; update() returns a promise only when it
 * needs the caller to wait.
 */
export class StreamVerifier {
  bytes = 0
  private readonly md5 = createHash('md5')
  private crc = 0
  private inflated = 0
  private readonly head: number[] = []
  private readonly gunzip: zlib.Gunzip
  private error?: PbmError
  private readonly waiter = new Waiter()

  constructor(private readonly file: string) {
    this.gunzip = zlib.createGunzip({chunkSize: 256 * 1024})
    this.gunzip.on('data', (out: Buffer) => {
      this.inflated += out.length
    })
    this.gunzip.on('error', (error: Error & {code?: string}) => {
      this.error ??= gzipError(file, error, this.bytes)
      this.waiter.fail(this.error)
    })
  }

  /** Destroy the inflater (after a failure elsewhere). */
  dispose(): void {
    this.gunzip.destroy()
  }

  /** After the last byte: everything verified against the gzip trailer and the announced hashes. */
  async finish(expected: {hash: GoogHash; total?: number}): Promise<Verified> {
    if (this.error) throw this.error
    if (expected.total !== undefined && this.bytes !== expected.total) {
      throw new PbmError('truncated', `${this.file}: received ${this.bytes} of ${expected.total} bytes.`)
    }

    if (this.bytes < 18) {
      throw new PbmError('truncated', `${this.file} is too short to be a gzip archive (${this.bytes} bytes).`)
    }

    const ended = this.waiter.once(this.gunzip, 'end')
    this.gunzip.end()
    await ended
    const md5 = this.md5.digest('hex')
    const crc = crcHex(this.crc)
    if (expected.hash.md5 && expected.hash.md5 !== md5) {
      throw new PbmError('checksum-mismatch', `${this.file}: MD5 ${md5} differs from the server's ${expected.hash.md5}.`)
    }

    if (expected.hash.crc32c && expected.hash.crc32c !== crc) {
      throw new PbmError('checksum-mismatch', `${this.file}: CRC32C ${crc} differs from the server's ${expected.hash.crc32c}.`)
    }

    return {bytes: this.bytes, md5, crc32c: crc, inflated: this.inflated}
  }

  update(chunk: Buffer): Promise<void> | void {
    if (this.error) return Promise.reject(this.error)
    if (this.head.length < 3) this.checkMagic(chunk)
    this.bytes += chunk.length
    this.md5.update(chunk)
    this.crc = crc32c(chunk, this.crc)
    if (this.gunzip.write(chunk)) return
    return this.waiter.once(this.gunzip, 'drain')
  }

  private checkMagic(chunk: Buffer): void {
    for (let i = 0; i < chunk.length && this.head.length < 3; i++) this.head.push(chunk[i])
    const want = [0x1f, 0x8b, 0x08]
    if (this.head.some((b, i) => b !== want[i])) {
      this.error = new PbmError('not-gzip', `${this.file} is not a gzip archive (it starts with bytes ${Buffer.from(this.head).toString('hex')}).`, {
        hint: 'The server may have sent an error page instead of the archive.',
      })
      throw this.error
    }
  }
}

function gzipError(file: string, error: Error & {code?: string}, at: number): PbmError {
  if (error.code === 'Z_BUF_ERROR' || /unexpected end/i.test(error.message)) {
    return new PbmError('truncated', `${file} is truncated: the gzip stream ends before its trailer.`, {cause: error})
  }

  return new PbmError('corrupt', `${file} is corrupt: ${error.message} (within the first ${at} bytes).`, {cause: error})
}
