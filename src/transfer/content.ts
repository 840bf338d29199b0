import {createHash, type Hash} from 'node:crypto'
import {createGunzip, type Gunzip} from 'node:zlib'

import type {ContentFacts, Sink} from '../destination/types.js'

import {gzipError} from './verify.js'

/**
 * The archive's decompressed content (the tar or the SQL) for the sinks that take it rather than the
 * gzip bytes (a vault: restic deduplicates content, not gzip). One inflater serves all of them, on
 * zlib's thread pool, and only runs when such a sink exists. It is not the verification: the
 * verifier checks the same bytes on its own thread, and a content sink sees the end of its input only
 * when the engine commits it, after the archive was verified.
 *
 * Backpressure runs both ways: a content sink that wants the writer to wait pauses the inflater, and
 * a full inflater makes write() return a promise.
 *
 * The content's SHA-256 is computed here, once for all content sinks, as it passes: it is what a
 * restore, which re-gzips the content (other gzip bytes), proves itself equal against.
 */
export class ContentStream {
  private readonly gunzip: Gunzip
  private failure?: unknown
  private bytesIn = 0
  /** Sink writes not yet settled (each pauses the inflater until it is). */
  private pending = 0
  private readonly waiters = new Set<{resolve: () => void; reject: (error: unknown) => void}>()
  private readonly ended: Promise<ContentFacts>
  private readonly sha256: Hash = createHash('sha256')
  private bytesOut = 0

  /** `tag` wraps a sink's own failure so that the engine knows which destination failed. */
  constructor(
    private readonly file: string,
    private readonly sinks: Array<{sink: Sink; tag: (error: unknown) => unknown}>,
  ) {
    this.gunzip = createGunzip()
    this.gunzip.on('data', (content: Buffer) => this.deliver(content))
    this.gunzip.on('drain', () => this.wake())
    this.gunzip.on('error', (error: Error & {code?: string}) => this.fail(gzipError(this.file, error, this.bytesIn)))
    this.ended = new Promise<ContentFacts>((resolve, reject) => {
      this.gunzip.once('end', () => {
        // Everything inflated was handed to the sinks; wait for their last writes to settle.
        const check = () => {
          if (this.failure) reject(this.failure)
          else if (this.pending === 0) resolve({bytes: this.bytesOut, sha256: this.sha256.digest('hex')})
          else this.waiters.add({resolve: check, reject})
        }

        check()
      })
      this.gunzip.once('error', () => reject(this.failure))
    })
    this.ended.catch(() => {})
  }

  /** Compressed bytes in; a promise when the inflater (or a sink behind it) wants the writer to wait. */
  write(chunk: Buffer): Promise<void> | void {
    if (this.failure) return Promise.reject(this.failure)
    this.bytesIn += chunk.length
    if (this.gunzip.write(chunk)) return
    return new Promise((resolve, reject) => {
      this.waiters.add({resolve, reject})
    })
  }

  /** No more compressed bytes: resolves, with the content's size and SHA-256, when every sink has taken all of it. */
  end(): Promise<ContentFacts> {
    if (this.failure) return Promise.reject(this.failure)
    this.gunzip.end()
    return this.ended
  }

  /** Stop inflating (after a failure elsewhere). */
  destroy(): void {
    this.failure ??= new Error('content stream destroyed')
    this.gunzip.destroy()
    this.wakeAll()
  }

  private deliver(content: Buffer): void {
    this.sha256.update(content)
    this.bytesOut += content.length
    for (const {sink, tag} of this.sinks) {
      const wait = sink.write(content)
      if (!wait) continue
      this.pending++
      this.gunzip.pause()
      wait.then(
        () => {
          this.pending--
          if (this.pending === 0 && !this.failure) this.gunzip.resume()
          this.wake()
        },
        (error: unknown) => {
          this.pending--
          this.fail(tag(error))
        },
      )
    }
  }

  private fail(error: unknown): void {
    this.failure ??= error
    this.wakeAll()
  }

  private wake(): void {
    if (this.failure) return this.wakeAll()
    if (this.gunzip.writableNeedDrain || this.pending > 0) return
    const waiting = [...this.waiters]
    this.waiters.clear()
    for (const w of waiting) w.resolve()
  }

  private wakeAll(): void {
    const waiting = [...this.waiters]
    this.waiters.clear()
    for (const w of waiting) if (this.failure) w.reject(this.failure)
  }
}
