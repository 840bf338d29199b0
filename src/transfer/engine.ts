import type {Element} from '../catalog/types.js'
import type {Destination, ExistingObject, Sink, StoredHash} from '../destination/types.js'

import {checkExtension} from '../catalog/element.js'
import {checkFilename} from '../catalog/names.js'
import {checkKey} from '../destination/key.js'
import {InterruptedError, isAbortError, PbmError} from '../errors.js'
import {redact} from '../redact.js'
import {formatBytes} from '../util/bytes.js'
import {ContentStream} from './content.js'
import {ResumableDownload} from './download.js'
import {type Progress, ProgressReporter} from './progress.js'
import {judgeExisting, type SourceFacts} from './safety.js'
import {StreamVerifier} from './verify.js'

export interface TransferJob {
  archive: {site: string; env: string; element: Element; folder: string; file: string}
  /** `<prefix><site>/<env>/<file>` (the S3 prefix is the destination's own). */
  key: string
  /** A freshly signed URL (from Terminus); called again when the URL expires or is rejected. */
  resolveUrl: (signal: AbortSignal) => Promise<string>
  destinations: Destination[]
  /** Transfer even when the destination already has the archive, overwriting what is there. */
  force?: boolean
  signal?: AbortSignal
  onProgress?: (p: Progress) => void
  /** Consecutive download failures (without progress) before giving up; default 5. */
  retries?: number
  /** First retry delay in ms (default 250), doubled per consecutive failure. */
  backoffMs?: number
  /** Throttle of byte-count progress events in ms (default 200). */
  progressIntervalMs?: number
  /** Idle timeout of the download in ms: no byte for this long while waiting for one (default: util/timeouts). */
  timeoutMs?: number
  /**
   * Look, write nothing: the same read-only checks of what each destination has as a real run (its
   * records, sizes, a one-byte probe of the source and a read-back where a real run would need them),
   * then `planned` where a real run would write. No preflight, no record, no clean-up.
   */
  dryRun?: boolean
  /** With dryRun: ask the archive server nothing; only pbm's own records can make a skip. */
  offline?: boolean
}

export interface DestinationResult {
  location: string
  status: 'failed' | 'planned' | 'skipped' | 'transferred'
  /** Why it was skipped: 'already mirrored', 'same content, by ETag', 'same content (MD5 checked)'. */
  reason?: string
  /** Transferred, with a reservation (the completion record could not be written). */
  note?: string
  /** Only for status 'failed': what went wrong at this destination (message redacted, with the hint). */
  error?: {code: string; message: string}
  /** Interrupted: bytes of the partial file kept for the next run to resume. */
  kept?: number
}

export interface TransferResult {
  /** Bytes downloaded and verified; when nothing was downloaded, the size of the archive already there. */
  bytes: number
  /** MD5 of the archive (hex): verified while streaming, or for a skipped archive the one known (recorded by pbm or checked). */
  md5?: string
  /** CRC32C of the archive, 8 hex digits. */
  crc32c?: string
  resumes: number
  urlRefreshes: number
  /** One per job destination, in the same order, each telling what happened there. */
  destinations: DestinationResult[]
}

/**
 * Thrown when no destination has the archive: every destination failed. `destinations` tells each
 * one's own failure; code, message and hint are the first failure's.
 */
export class TransferError extends PbmError {
  constructor(
    readonly destinations: DestinationResult[],
    first: PbmError,
  ) {
    super(first.code, first.message, {cause: first, exitCode: first.exitCode, hint: first.hint})
    this.name = 'TransferError'
  }
}

/**
 * Thrown when the run was interrupted (Ctrl-C) while this archive was being checked or transferred:
 * what each destination holds now. Skipped ones stay skipped; the others say what was kept.
 */
export class TransferInterrupted extends InterruptedError {
  constructor(readonly destinations: DestinationResult[]) {
    super()
    this.name = 'TransferInterrupted'
  }
}

/** A failure that belongs to one sink (its index in the job's destinations). */
class SinkFailure extends Error {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {
    super('sink failed')
  }
}

/**
 * Stream one archive from its signed URL into every destination at once, verified end to end.
 * Whatever is under a final name afterwards is complete and verified.
 *
 * Each destination gets its own outcome in `destinations[i]`: skipped (it already has the archive,
 * checked, never assumed), failed (for instance `exists-different`: other content under the key and
 * no `force`), or transferred. The archive is downloaded for the destinations that are free. Once
 * bytes flow, the destinations being written succeed or fail together (any failure aborts every
 * sink: no `.partial` file, no open multipart upload) until the commit, which is per destination: a
 * destination whose commit failed is reported failed, the others transferred.
 *
 * Throws an InterruptedError when the signal aborted; a PbmError when the job itself is invalid or a
 * preflight fails; a TransferError when every destination failed. Otherwise returns, even when some
 * destinations failed.
 */
export async function transferArchive(job: TransferJob): Promise<TransferResult> {
  const {archive, key, destinations} = job
  checkFilename(archive.file)
  checkExtension(archive.file, archive.element)
  checkKey(key)
  if (destinations.length === 0) throw new PbmError('no-destination', 'No destination to transfer to.')
  const signal = job.signal ?? new AbortController().signal
  if (signal.aborted) throw new InterruptedError()
  const outcome: Outcome = {
    errors: [],
    kept: new Map(),
    results: destinations.map((d) => ({location: d.describe(key), status: 'transferred'})),
  }
  try {
    return await transferWith(job, signal, outcome)
  } catch (error) {
    if (!signal.aborted && !(error instanceof InterruptedError)) throw error
    const {errors, kept, results} = outcome
    throw new TransferInterrupted(
      results.map((r, i): DestinationResult => {
        if (r.status === 'skipped' || (r.status === 'failed' && errors[i]?.code !== 'interrupted')) return r
        const bytes = kept.get(i) ?? 0
        const message =
          bytes > 0
            ? `Interrupted: partial of ${formatBytes(bytes)} kept; the next run resumes.`
            : 'Interrupted: nothing of it was kept.'
        return {
          error: {code: 'interrupted', message},
          location: r.location,
          status: 'failed',
          ...(bytes ? {kept: bytes} : {}),
        }
      }),
    )
  }
}

/** What each destination became so far (by index): read again when the run is interrupted. */
interface Outcome {
  results: DestinationResult[]
  errors: Array<PbmError | undefined>
  /** Bytes kept per destination when the run was interrupted mid-transfer. */
  kept: Map<number, number>
}

async function transferWith(job: TransferJob, signal: AbortSignal, outcome: Outcome): Promise<TransferResult> {
  const {archive, key, destinations} = job
  const {errors, kept, results} = outcome

  const progress = new ProgressReporter(job.onProgress, job.progressIntervalMs)
  const newDownload = () =>
    new ResumableDownload({
      resolveUrl: job.resolveUrl,
      signal,
      retries: job.retries,
      backoffMs: job.backoffMs,
      stallTimeoutMs: job.timeoutMs,
      onResolve: (refresh) => progress.set('resolving', refresh ? 'fetching a fresh URL' : undefined),
      onRetry: (note) => progress.set('retrying', note),
    })
  let download = newDownload()
  const fail = (i: number, error: unknown, because?: string): void => {
    if (signal.aborted || isAbortError(error)) throw new InterruptedError()
    const e = asPbmError(error, archive.file)
    errors[i] = e
    const message = because ? `Not stored, because ${because} failed: ${e.message}` : e.message
    results[i] = {
      location: results[i].location,
      status: 'failed',
      error: {code: e.code, message: redact(e.hint ? `${message} ${e.hint}` : message)},
    }
  }

  // 1. Each destination can take the archive (preflight is once per destination object).
  progress.set('checking')
  if (!job.dryRun) await withAbort(signal, Promise.all(destinations.map((d) => d.preflight(signal))))

  // 2. Idempotency: what each destination already has, before downloading anything.
  let todo = destinations.map((_d, i) => i)
  let known: {md5?: string; size: number} | undefined
  /** Skipped by pbm's metadata before the source was known: checked against it if the download happens. */
  const skippedUnprobed: Array<[number, ExistingObject]> = []
  if (!job.force) {
    const inspected = await withAbort(signal, Promise.allSettled(destinations.map((d) => d.inspect(key, signal))))
    todo = []
    const pending = new Map<number, ExistingObject>()
    for (const [i, r] of inspected.entries()) {
      if (r.status === 'rejected') fail(i, r.reason)
      else if (r.value) pending.set(i, r.value)
      else todo.push(i)
    }

    known = await judgeAll(pending)
  }

  async function judgeAll(pending: Map<number, ExistingObject>): Promise<typeof known> {
    let source: SourceFacts = {probed: false}
    let skippedAs: typeof known
    const content = new Map<number, StoredHash>()
    const remembered: Array<Promise<void>> = []
    while (pending.size > 0) {
      const verdicts = [...pending].map(([i, e]) => {
        const where = results[i].location
        return {
          e,
          i,
          v: judgeExisting(e, source, {where, canHash: Boolean(destinations[i].hash), content: content.get(i)}),
        }
      })
      if (verdicts.some(({v}) => v.action === 'probe') && job.offline) {
        // Nothing may be asked of the archive server: what needs its facts stays to be written.
        for (const {i, v} of verdicts) {
          if (v.action !== 'probe') continue
          pending.delete(i)
          todo.push(i)
        }

        continue
      }

      if (verdicts.some(({v}) => v.action === 'probe')) {
        // The exact size and the announced MD5, from a one-byte request.
        try {
          const size = await withAbort(signal, download.probe())
          source = {probed: true, size, md5: download.hash.md5, crc32c: download.hash.crc32c}
          continue
        } catch (error) {
          // What needed the probe fails with it, and so does every destination still to write.
          for (const {e, i, v} of verdicts) {
            if (v.action === 'skip') skippedAs = skip(i, e, v.reason, source, skippedAs)
            else fail(i, error)
          }

          for (const i of todo) fail(i, error)
          todo = []
          return skippedAs
        }
      }

      const toHash: number[] = []
      for (const {e, i, v} of verdicts) {
        if (v.action === 'hash') {
          toHash.push(i)
          continue
        }

        pending.delete(i)
        if (v.action === 'skip') skippedAs = skip(i, e, v.reason, source, skippedAs)
        // Checked by reading it back: record that, so the next run need not read it again.
        if (v.action === 'skip' && content.has(i) && destinations[i].remember && !job.dryRun) {
          remembered.push(destinations[i].remember!(key, {md5: source.md5, crc32c: source.crc32c}).catch(() => {}))
        } else if (v.action === 'refuse') fail(i, existsDifferent(v.message))
      }

      if (toHash.length > 0) {
        progress.set('checking', 'hashing what is already there')
        const hashed = await withAbort(
          signal,
          Promise.allSettled(toHash.map((i) => destinations[i].hash!(key, signal))),
        )
        for (const [n, h] of hashed.entries()) {
          if (h.status === 'fulfilled') content.set(toHash[n], h.value)
          else {
            pending.delete(toHash[n])
            fail(toHash[n], h.reason)
          }
        }
      }
    }

    await Promise.all(remembered)
    return skippedAs
  }

  /** Mark destination i skipped; what is known of the archive already there (the first one's, else this one's). */
  function skip(
    i: number,
    e: ExistingObject,
    reason: string,
    source: SourceFacts,
    before: typeof known,
  ): NonNullable<typeof known> {
    results[i] = {...results[i], status: 'skipped', reason}
    if (!source.probed) skippedUnprobed.push([i, e])
    // pbm's record, or (checked by ETag or hash) the source's MD5.
    const md5 = e.md5 ?? (e.complete ? undefined : source.md5)
    return {md5: before?.md5 ?? md5, size: before?.size ?? e.size}
  }

  const finish = (extra: Partial<TransferResult> = {}): TransferResult => {
    const failed = results.map((r, i) => (r.status === 'failed' ? errors[i] : undefined)).filter((e) => e !== undefined)
    if (failed.length === results.length) throw new TransferError(results, failed[0])
    const result: TransferResult = {
      bytes: known?.size ?? 0,
      ...(known?.md5 ? {md5: known.md5} : {}),
      resumes: download.resumes,
      urlRefreshes: download.urlRefreshes,
      destinations: results,
      ...extra,
    }
    progress.set(results.some((r) => r.status === 'transferred') ? 'done' : 'skipped')
    return result
  }

  if (job.dryRun) {
    for (const i of todo) results[i] = {...results[i], status: 'planned'}
    return finish({bytes: known?.size ?? download.total ?? 0})
  }

  // What a dead run left beside an archive that is skipped is cleared here: no later step sees it.
  await Promise.all(
    results.map((r, i) => (r.status === 'skipped' ? destinations[i].tidy?.(key).catch(() => {}) : undefined)),
  )
  if (todo.length === 0) return finish()

  // 3. A crashed run's partial file (local) is adopted and resumed rather than downloaded again.
  let resumeFrom = 0
  let resumeAt: number | undefined
  for (const i of todo) {
    const n = (await destinations[i].resumable?.(key).catch(() => 0)) ?? 0
    if (n > resumeFrom) {
      resumeFrom = n
      resumeAt = i
    }
  }

  if (resumeFrom > 0) {
    // The exact size first: a partial as long as the archive (or longer) keeps all but its last byte.
    const total = await withAbort(signal, download.probe()).catch(() => {})
    resumeFrom = total === undefined ? 0 : Math.min(resumeFrom, total - 1)
    if (resumeFrom <= 0) resumeAt = undefined
  }

  const first = await stream(download, resumeFrom, resumeAt)
  if (first !== RESTART) return first
  // What was resumed did not verify: once more, from byte 0 (the partial was thrown away).
  progress.set('retrying', 'the resumed partial file did not verify; downloading again from the start')
  download = newDownload()
  const again = await stream(download, 0)
  if (again === RESTART) throw new PbmError('transfer-failed', `Transfer of ${archive.file} failed.`)
  return again

  /** Stream into every sink at once, verifying as the bytes pass; RESTART when a resumed attempt failed. */
  async function stream(
    dl: ResumableDownload,
    from: number,
    fromAt?: number,
  ): Promise<TransferResult | typeof RESTART> {
    const verifier = new StreamVerifier(archive.file)
    dl.offset = from
    const chunks = dl.chunks()
    const sinks: Sink[] = []
    /** The destination (index) of each sink. */
    const owners: number[] = []
    /** The decompressed content, for the sinks that take it (none: no inflater on this thread). */
    let content: ContentStream | undefined
    try {
      let next = await chunks.next()
      progress.setTotal(dl.total)
      const source: SourceFacts = {probed: true, size: dl.total, md5: dl.hash.md5, crc32c: dl.hash.crc32c}
      for (const [i, e] of skippedUnprobed) {
        const v = judgeExisting(e, source, {where: results[i].location, canHash: false})
        if (v.action === 'refuse') fail(i, existsDifferent(v.message))
      }

      const opened = await Promise.allSettled(
        todo.map((i) =>
          destinations[i].open(
            key,
            {...archive, size: dl.total, md5: dl.hash.md5, crc32c: dl.hash.crc32c},
            signal,
            i === fromAt ? from : 0,
          ),
        ),
      )
      for (const [n, o] of opened.entries()) {
        if (o.status !== 'fulfilled') continue
        sinks.push(o.value)
        owners.push(todo[n])
      }

      const openFailure = opened.findIndex((o) => o.status === 'rejected')
      if (openFailure !== -1)
        throw new SinkFailure(todo[openFailure], (opened[openFailure] as PromiseRejectedResult).reason)

      const contentSinks = sinks.flatMap((sink, n) =>
        sink.takes === 'content' ? [{sink, tag: (error: unknown) => new SinkFailure(todo[n], error)}] : [],
      )
      if (contentSinks.length > 0) content = new ContentStream(archive.file, contentSinks)

      // The resumed bytes are read back: verified like downloaded ones, and written to the other sinks.
      const resumed = fromAt === undefined ? undefined : sinks[todo.indexOf(fromAt)]
      if (resumed) {
        if (resumed.resumedBytes !== from || !resumed.readResumed) {
          throw new PbmError('resume-failed', `Could not resume ${archive.file}.`)
        }

        progress.set('checking', 'verifying the partial file of an earlier run')
        for await (const chunk of resumed.readResumed()) {
          await write(chunk, resumed)
        }
      }

      progress.set('downloading')
      while (!next.done) {
        await write(next.value)
        progress.tick(dl.offset)
        next = await chunks.next()
      }

      progress.tick(dl.offset)
      progress.set('verifying')
      // Sinks finish storing what they have (parts in flight, fsync) while the inflater finishes; a
      // content sink once it has all of the content (its input still open until the commit).
      const contentTaken = content?.end()
      contentTaken?.catch(() => {})
      const flushed = Promise.allSettled(
        sinks.map(async (s) => {
          if (s.takes === 'content') await contentTaken?.catch(() => {})
          return s.flush?.()
        }),
      )
      const verified = await untilAborted(signal, verifier.finish({hash: dl.hash, total: dl.total}))
      const contentFacts = contentTaken ? await untilAborted(signal, contentTaken) : undefined
      const flushFailure = (await untilAborted(signal, flushed)).findIndex((f) => f.status === 'rejected')
      if (flushFailure !== -1) {
        const {reason} = (await flushed)[flushFailure] as PromiseRejectedResult
        throw new SinkFailure(todo[flushFailure], reason)
      }

      // 4. Commit: per destination. One that fails is reported failed (its sink aborted), the others
      //    hold the complete, verified archive and are reported transferred.
      progress.set('committing')
      const committed = await Promise.allSettled(
        sinks.map((s) => s.commit(s.takes === 'content' ? {...verified, content: contentFacts} : verified)),
      )
      const failedCommits: number[] = []
      for (const [n, c] of committed.entries()) {
        if (c.status === 'rejected') {
          failedCommits.push(n)
          fail(todo[n], c.reason)
        } else if (c.value) results[todo[n]] = {...results[todo[n]], note: c.value}
      }

      await Promise.allSettled(failedCommits.map((n) => sinks[n].abort()))
      return finish({
        bytes: verified.bytes,
        md5: verified.md5,
        crc32c: verified.crc32c,
        resumes: dl.resumes,
        urlRefreshes: dl.urlRefreshes,
      })
    } catch (error) {
      if (error instanceof TransferError) throw error
      await chunks.return().catch(() => {})
      verifier.dispose()
      content?.destroy()
      if (signal.aborted) {
        // Ctrl-C: what was written so far stays where the next run can resume it (a local partial);
        // the rest is aborted (S3 multipart uploads).
        const keptBytes = await Promise.all(sinks.map(async (s) => (s.suspend ? s.suspend() : s.abort().then(() => 0))))
        for (const [n, bytes] of keptBytes.entries()) if (bytes > 0) kept.set(owners[n], bytes)
        throw new InterruptedError()
      }

      await Promise.allSettled(sinks.map((s) => s.abort()))
      const cause = error instanceof SinkFailure ? error.error : error
      if (signal.aborted || isAbortError(cause)) throw new InterruptedError()
      if (from > 0) return RESTART
      // Every destination being written fails: the one at fault with its own error, the others because of it.
      const culprit = error instanceof SinkFailure ? error.index : undefined
      for (const i of todo)
        fail(i, cause, culprit === undefined || culprit === i ? undefined : results[culprit].location)
      return finish()
    }

    /** One chunk to the verifier and every sink but `except` (which has it already), with backpressure. */
    async function write(chunk: Buffer, except?: Sink): Promise<void> {
      let waits: Array<Promise<void>> | undefined
      const v = verifier.update(chunk)
      if (v) waits = [v]
      for (const [n, sink] of sinks.entries()) {
        if (sink === except || sink.takes === 'content') continue
        const w = sink.write(chunk)
        if (w) (waits ??= []).push(w.catch(sinkFailure(todo[n])))
      }

      const c = content?.write(chunk)
      if (c) (waits ??= []).push(c)

      if (waits) await untilAborted(signal, Promise.all(waits))
      if (signal.aborted) throw new InterruptedError()
    }
  }
}

const RESTART = Symbol('restart from byte 0')

/** A rejection handler that tags the error with the sink's destination. */
function sinkFailure(index: number): (error: unknown) => never {
  return (error) => {
    throw new SinkFailure(index, error)
  }
}

function existsDifferent(message: string): PbmError {
  return new PbmError('exists-different', message, {hint: 'Use --force to overwrite it.'})
}

function asPbmError(error: unknown, file: string): PbmError {
  if (error instanceof PbmError) return error
  return new PbmError(
    'transfer-failed',
    `Transfer of ${file} failed: ${redact(String((error as Error)?.message ?? error))}`,
    {cause: error},
  )
}

/** `work`, or an InterruptedError as soon as the signal aborts; leaves no listener behind. */
function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {})
    return Promise.reject(new InterruptedError())
  }

  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {})
      reject(new InterruptedError())
    }

    signal.addEventListener('abort', onAbort, {once: true})
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

async function withAbort<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  try {
    return await untilAborted(signal, work)
  } catch (error) {
    if (signal.aborted || isAbortError(error)) throw new InterruptedError()
    throw error
  }
}
