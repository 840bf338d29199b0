import type {Element} from '../catalog/types.js'
import type {Destination, ExistingObject, Sink} from '../destination/types.js'

import {checkKey} from '../destination/key.js'
import {InterruptedError, isAbortError, PbmError} from '../errors.js'
import {redact} from '../redact.js'
import {ResumableDownload} from './download.js'
import {type Progress, ProgressReporter} from './progress.js'
import {checkExtension, checkFilename} from './safety.js'
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
}

export interface DestinationResult {
  location: string
  status: 'skipped' | 'transferred'
  reason?: string
}

export interface TransferResult {
  /** Bytes downloaded and verified (0 when every destination was skipped). */
  bytes: number
  /** MD5 of the archive (hex); for a skipped archive, the one pbm recorded, or ''. */
  md5: string
  /** CRC32C of the archive, 8 hex digits. */
  crc32c?: string
  resumes: number
  urlRefreshes: number
  destinations: DestinationResult[]
}

/**
 * Stream one archive from its signed URL into every destination at once, verified end to end.
 * Whatever is under a final name afterwards is complete and verified; on any failure every sink is
 * aborted (no `.partial` file, no open multipart upload) and a PbmError is thrown, or an
 * InterruptedError when the signal aborted.
 */
export async function transferArchive(job: TransferJob): Promise<TransferResult> {
  const {archive, key, destinations} = job
  checkFilename(archive.file)
  checkExtension(archive.file, archive.element)
  checkKey(key)
  if (destinations.length === 0) throw new PbmError('no-destination', 'No destination to transfer to.')
  const signal = job.signal ?? new AbortController().signal
  if (signal.aborted) throw new InterruptedError()

  const progress = new ProgressReporter(job.onProgress, job.progressIntervalMs)
  const download = new ResumableDownload({
    resolveUrl: job.resolveUrl,
    signal,
    retries: job.retries,
    backoffMs: job.backoffMs,
    onResolve: (refresh) => progress.set('resolving', refresh ? 'fetching a fresh URL' : undefined),
    onRetry: (note) => progress.set('retrying', note),
  })
  const results: DestinationResult[] = destinations.map((d) => ({location: d.describe(key), status: 'transferred'}))

  // 1. Each destination can take the archive (preflight is once per destination object), and
  //    idempotency: look at what each already has, before downloading anything.
  progress.set('checking')
  await withAbort(signal, Promise.all(destinations.map((d) => d.preflight(signal))))
  let todo = destinations.map((_d, i) => i)
  let knownMd5 = ''
  if (!job.force) {
    const existing = await withAbort(signal, Promise.all(destinations.map((d) => d.inspect(key, signal))))
    const unsure: number[] = []
    todo = []
    for (const [i, e] of existing.entries()) {
      if (!e) todo.push(i)
      else if (e.complete) {
        results[i] = {...results[i], status: 'skipped', reason: 'already mirrored'}
        knownMd5 ||= e.md5 ?? ''
      } else unsure.push(i)
    }

    if (unsure.length > 0) {
      // The exact size, from a one-byte request, decides: same size is the same archive.
      const size = await withAbort(signal, download.probe())
      for (const i of unsure) {
        const e = existing[i] as ExistingObject
        if (size !== undefined && e.size === size) {
          results[i] = {...results[i], status: 'skipped', reason: 'same size already there'}
        } else {
          throw new PbmError(
            'exists-different',
            `${results[i].location} already exists with different content (${e.size} bytes, the archive has ${size ?? 'an unknown number of'} bytes).`,
            {hint: 'Use --force to overwrite it.'},
          )
        }
      }
    }
  }

  if (todo.length === 0) {
    progress.set('skipped')
    return {bytes: 0, md5: knownMd5, resumes: 0, urlRefreshes: download.urlRefreshes, destinations: results}
  }

  // 2. Stream into every sink at once, verifying as the bytes pass.
  const verifier = new StreamVerifier(archive.file)
  const chunks = download.chunks()
  const sinks: Sink[] = []
  try {
    let next = await chunks.next()
    progress.setTotal(download.total)
    const opened = await Promise.allSettled(
      todo.map((i) =>
        destinations[i].open(
          key,
          {...archive, size: download.total, md5: download.hash.md5, crc32c: download.hash.crc32c},
          signal,
        ),
      ),
    )
    for (const o of opened) if (o.status === 'fulfilled') sinks.push(o.value)
    const openFailure = opened.find((o) => o.status === 'rejected')
    if (openFailure) throw (openFailure as PromiseRejectedResult).reason

    progress.set('downloading')
    while (!next.done) {
      const chunk = next.value
      let waits: Array<Promise<void>> | undefined
      const v = verifier.update(chunk)
      if (v) waits = [v]
      for (const sink of sinks) {
        const w = sink.write(chunk)
        if (w) (waits ??= []).push(w)
      }

      if (waits) await untilAborted(signal, Promise.all(waits))
      if (signal.aborted) throw new InterruptedError()
      progress.tick(download.offset)
      next = await chunks.next()
    }

    progress.tick(download.offset)
    progress.set('verifying')
    // Sinks finish storing what they have (parts in flight, fsync) while the inflater finishes.
    const flushed = Promise.allSettled(sinks.map((s) => s.flush?.()))
    const verified = await untilAborted(signal, verifier.finish({hash: download.hash, total: download.total}))
    const flushFailure = (await untilAborted(signal, flushed)).find((f) => f.status === 'rejected')
    if (flushFailure) throw (flushFailure as PromiseRejectedResult).reason

    progress.set('committing')
    const committed = await Promise.allSettled(sinks.map((s) => s.commit()))
    const commitFailure = committed.find((c) => c.status === 'rejected')
    if (commitFailure) throw (commitFailure as PromiseRejectedResult).reason

    progress.set('done')
    return {
      bytes: verified.bytes,
      md5: verified.md5,
      crc32c: verified.crc32c,
      resumes: download.resumes,
      urlRefreshes: download.urlRefreshes,
      destinations: results,
    }
  } catch (error) {
    await chunks.return().catch(() => {})
    verifier.dispose()
    await Promise.allSettled(sinks.map((s) => s.abort()))
    if (signal.aborted || isAbortError(error)) throw new InterruptedError()
    if (error instanceof PbmError) throw error
    throw new PbmError('transfer-failed', `Transfer of ${archive.file} failed: ${redact(String((error as Error)?.message ?? error))}`, {cause: error})
  }
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
