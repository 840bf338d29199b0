import {crc32c} from '@node-rs/crc32'
import {Worker} from 'node:worker_threads'

import {PbmError} from '../errors.js'
import {crcHex, type GoogHash} from './headers.js'
import {VERIFY_WORKER_SOURCE} from './verify-worker.js'

const STAGE = 1024 * 1024
const STAGES = 3

export interface Verified {
  bytes: number
  md5: string
  crc32c: string
  /** Size of the inflated content. */
  inflated: number
}

type FromWorker = (
  {done: {inflated: number; md5: string}} | {error: {code?: string; message: string}} | {free: number}
) & {id: number}

/** What the shared worker needs of each stream it serves. */
interface Served {
  onMessage(m: FromWorker): void
  /** The worker failed or stopped: every stream it served fails with this. */
  onCrash(message: string, cause?: Error): void
}

/**
 * The verifier's worker thread, one per process, started with the first archive and shared by all
 * (a worker is a V8 isolate of its own: ~9 MB of RSS each). It is unref'd while no archive uses it, so
 * it never keeps the process alive; if it dies, the archives it served fail and the next one starts a
 * new worker.
 */
class VerifyThread {
  private static current?: VerifyThread
  private nextId = 1
  private readonly spareStages: SharedArrayBuffer[] = []
  private readonly streams = new Map<number, Served>()
  private readonly worker: Worker

  private constructor() {
    // A 1 MiB young generation, as the main thread's (--max-semi-space-size=1): the worker allocates
    // little, and its handles of finished stages are collected sooner.
    this.worker = new Worker(VERIFY_WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      resourceLimits: {maxYoungGenerationSizeMb: 1},
      workerData: {chunkSize: 256 * 1024},
    })
    this.worker.on('message', (m: FromWorker) => this.streams.get(m.id)?.onMessage(m))
    this.worker.on('error', (error: Error) => this.crash(error.message, error))
    this.worker.on('exit', (code) => this.crash(`the verifier stopped (exit code ${code})`))
  }

  static get(): VerifyThread {
    VerifyThread.current ??= new VerifyThread()
    return VerifyThread.current
  }

  /**
   * A new stream; messages for it go to `served`. Its stages are a SharedArrayBuffer of a finished
   * stream when there is one: the worker's isolate allocates almost nothing, so it collects its handles
   * of old stages rarely, and a fresh 3 MiB per archive would stay mapped until it does (a mirror of 24
   * archives at --concurrency 1 grew by ~40 MB that way).
   */
  open(served: Served): {id: number; stages: SharedArrayBuffer} {
    const id = this.nextId++
    const stages = this.spareStages.pop() ?? new SharedArrayBuffer(STAGE * STAGES)
    this.streams.set(id, served)
    if (this.streams.size === 1) this.worker.ref()
    this.worker.postMessage({id, open: stages, stageSize: STAGE})
    return {id, stages}
  }

  post(message: object): void {
    this.worker.postMessage(message)
  }

  /**
   * The stream is finished or abandoned: tell the worker to drop it (when `drop`), stop routing to it.
   * The stages of a stream the worker is done with (it answered done or error) are kept for the next
   * one; those of a dropped stream may still be read by messages in flight, so they are left alone.
   */
  close(id: number, drop: boolean, stages: SharedArrayBuffer): void {
    if (!this.streams.delete(id)) return
    if (drop) this.worker.postMessage({id, drop: true})
    else if (this.spareStages.length <= this.streams.size) this.spareStages.push(stages)
    if (this.streams.size === 0) this.worker.unref()
  }

  private crash(message: string, cause?: Error): void {
    if (VerifyThread.current === this) VerifyThread.current = undefined
    const served = [...this.streams.values()]
    this.streams.clear()
    for (const s of served) s.onCrash(message, cause)
    this.worker.terminate().catch(() => {})
  }
}

/**
 * Checks an archive while it streams: counts bytes, computes MD5 and CRC32C, checks the gzip magic
 * and inflates everything (output discarded) so that finish() knows the gzip trailer (CRC32 and
 * length) is right. update() returns a promise only when it needs the caller to wait.
 *
 * MD5 and the inflater run in the process's verifier thread (verify-worker.ts, shared by every
 * archive), fed 1 MiB stages of a SharedArrayBuffer of this archive's own (STAGES of them, reused):
 * per stage the parent does one copy and one message, and the inflater's output buffers are garbage
 * on the worker's heap, not on the parent's.
 */
export class StreamVerifier {
  bytes = 0
  private crc = 0
  private readonly head: number[] = []
  private error?: PbmError
  private readonly stages: SharedArrayBuffer
  private readonly view: Buffer
  /** Stage being filled (index), how full it is, and stages free for reuse. */
  private stage?: number
  private staged = 0
  private readonly spare: number[] = []
  private readonly thread: VerifyThread
  private readonly id: number
  private wake?: {resolve: () => void; reject: (error: Error) => void}
  private done?: {resolve: (v: {inflated: number; md5: string}) => void; reject: (error: Error) => void}
  private finished = false

  constructor(private readonly file: string) {
    for (let i = STAGES - 1; i >= 0; i--) this.spare.push(i)
    this.thread = VerifyThread.get()
    const opened = this.thread.open({
      onMessage: (m) => this.onMessage(m),
      onCrash: (message, cause) => {
        if (!this.finished) this.fail(new PbmError('verify-failed', `Could not verify ${file}: ${message}.`, {cause}))
      },
    })
    this.id = opened.id
    this.stages = opened.stages
    this.view = Buffer.from(this.stages)
  }

  /** Abandon this archive (after a failure elsewhere): the worker drops its state. */
  dispose(): void {
    if (this.finished) return
    this.finished = true
    this.thread.close(this.id, true, this.stages)
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
    const result = new Promise<{inflated: number; md5: string}>((resolve, reject) => {
      this.done = {resolve, reject}
    })
    this.thread.post({id: this.id, end: true})
    const {inflated, md5} = await result
    this.finished = true
    this.thread.close(this.id, false, this.stages)
    const crc = crcHex(this.crc)
    if (expected.hash.md5 && expected.hash.md5 !== md5) {
      throw new PbmError(
        'checksum-mismatch',
        `${this.file}: MD5 ${md5} differs from the server's ${expected.hash.md5}.`,
      )
    }

    if (expected.hash.crc32c && expected.hash.crc32c !== crc) {
      throw new PbmError(
        'checksum-mismatch',
        `${this.file}: CRC32C ${crc} differs from the server's ${expected.hash.crc32c}.`,
      )
    }

    return {bytes: this.bytes, md5, crc32c: crc, inflated}
  }

  update(chunk: Buffer): Promise<void> | void {
    if (this.error) return Promise.reject(this.error)
    if (this.head.length < 3) this.checkMagic(chunk)
    this.bytes += chunk.length
    this.crc = crc32c(chunk, this.crc)
    return this.stageFrom(chunk)
  }

  private checkMagic(chunk: Buffer): void {
    for (let i = 0; i < chunk.length && this.head.length < 3; i++) this.head.push(chunk[i])
    const want = [0x1f, 0x8b, 0x08]
    if (this.head.some((b, i) => b !== want[i])) {
      this.error = new PbmError(
        'not-gzip',
        `${this.file} is not a gzip archive (it starts with bytes ${Buffer.from(this.head).toString('hex')}).`,
        {
          hint: 'The server may have sent an error page instead of the archive.',
        },
      )
      throw this.error
    }
  }

  private fail(error: PbmError): void {
    this.error ??= error
    const w = this.wake
    this.wake = undefined
    w?.reject(this.error)
    const d = this.done
    this.done = undefined
    d?.reject(this.error)
  }

  /** Hand the stage being filled to the worker. */
  private flushStage(): void {
    this.thread.post({id: this.id, i: this.stage, n: this.staged})
    this.stage = undefined
    this.staged = 0
  }

  private onMessage(m: FromWorker): void {
    if ('free' in m) {
      this.spare.push(m.free)
      const w = this.wake
      this.wake = undefined
      w?.resolve()
    } else if ('done' in m) {
      const d = this.done
      this.done = undefined
      d?.resolve(m.done)
    } else {
      const error = Object.assign(new Error(m.error.message), {code: m.error.code})
      this.fail(gzipError(this.file, error, this.bytes))
      // The worker has forgotten the stream already.
      this.finished = true
      this.thread.close(this.id, false, this.stages)
    }
  }

  /** Copy a chunk into stages (at most STAGES in use; waits for one to come back when all are). */
  private stageFrom(chunk: Buffer, start = 0): Promise<void> | void {
    let offset = start
    while (offset < chunk.length) {
      if (this.stage === undefined) {
        this.stage = this.spare.pop()
        if (this.stage === undefined) {
          const at = offset
          return new Promise<void>((resolve, reject) => {
            this.wake = {resolve, reject}
          }).then(() => this.stageFrom(chunk, at))
        }
      }

      const n = Math.min(chunk.length - offset, STAGE - this.staged)
      chunk.copy(this.view, this.stage * STAGE + this.staged, offset, offset + n)
      this.staged += n
      offset += n
      if (this.staged === STAGE) this.flushStage()
    }
  }
}

export function gzipError(file: string, error: Error & {code?: string}, at: number): PbmError {
  if (error.code === 'Z_BUF_ERROR' || /unexpected end/i.test(error.message)) {
    return new PbmError('truncated', `${file} is truncated: the gzip stream ends before its trailer.`, {cause: error})
  }

  return new PbmError('corrupt', `${file} is corrupt: ${error.message} (within the first ${at} bytes).`, {cause: error})
}
