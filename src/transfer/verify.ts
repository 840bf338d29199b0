import {crc32c} from '@node-rs/crc32'
import {createHash} from 'node:crypto'
import zlib from 'node:zlib'

import {Waiter} from '../destination/wait.js'
import {PbmError} from '../errors.js'
import {crcHex, type GoogHash} from './headers.js'

const STAGE = 1024 * 1024
const STAGES = 3

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
  /** The stage being filled, how full it is, stages free for reuse and how many exist. */
  private stage?: Buffer
  private staged = 0
  private readonly spare: Buffer[] = []
  private stages = 0
  private wake?: {resolve: () => void; reject: (error: Error) => void}

  constructor(private readonly file: string) {
    this.gunzip = zlib.createGunzip({chunkSize: 256 * 1024})
    this.gunzip.on('data', (out: Buffer) => {
      this.inflated += out.length
    })
    this.gunzip.on('error', (error: Error & {code?: string}) => {
      this.error ??= gzipError(file, error, this.bytes)
      this.waiter.fail(this.error)
      const w = this.wake
      this.wake = undefined
      w?.reject(this.error)
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

    if (this.staged > 0) this.flushStage()
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
    return this.stageFrom(chunk)
  }

  /** Hand a full stage to the inflater; the stage is reused once the inflater has consumed it. */
  private flushStage(): void {
    const stage = this.stage!
    const data = stage.subarray(0, this.staged)
    this.stage = undefined
    this.staged = 0
    this.gunzip.write(data, (error) => {
      if (error) return
      this.spare.push(stage)
      const w = this.wake
      this.wake = undefined
      w?.resolve()
    })
  }

  /**
   * The inflater runs on the thread pool, one write at a time, with a round trip through the event
   * loop after each: fed with every download chunk (16-64 KiB) it spent more time in round trips
   * than inflating. Chunks are copied into 1 MiB stages instead (at most STAGES, reused).
   */
  private stageFrom(chunk: Buffer, start = 0): Promise<void> | void {
    let offset = start
    while (offset < chunk.length) {
      if (!this.stage) {
        this.stage = this.spare.pop()
        if (!this.stage && this.stages < STAGES) {
          this.stages++
          this.stage = Buffer.allocUnsafeSlow(STAGE)
        }

        if (!this.stage) {
          const at = offset
          return new Promise<void>((resolve, reject) => {
            this.wake = {resolve, reject}
          }).then(() => this.stageFrom(chunk, at))
        }
      }

      const n = chunk.copy(this.stage, this.staged, offset)
      this.staged += n
      offset += n
      if (this.staged === STAGE) this.flushStage()
    }
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
