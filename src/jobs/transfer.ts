import type {Backup} from '../catalog/types.js'
import type {Destination} from '../destination/index.js'
import type {Terminus} from '../terminus/index.js'
import type {DestinationResult, Progress} from '../transfer/index.js'
import type {Limit} from '../util/limit.js'
import type {EventSink} from './events.js'

import {InterruptedError, isAbortError} from '../errors.js'
import {redact} from '../redact.js'
import {signedUrlExpiry} from '../terminus/index.js'
import {transferArchive, TransferError, TransferInterrupted} from '../transfer/index.js'
import {createLimit} from '../util/limit.js'
import {resolveTimeoutMs} from '../util/timeouts.js'
import {type ArchiveRef, type ArchiveResult, baseOf, describeFailure, type FailureInfo} from './results.js'

/** One archive to move, with its key at the destinations (the same key for S3 and a local folder). */
export interface PlannedArchive {
  backup: Backup
  key: string
}

/** What every archive transfer of one run shares. */
export interface TransferContext {
  terminus: Pick<Terminus, 'backupUrl'>
  destinations: Destination[]
  force: boolean
  signal: AbortSignal
  /** The --concurrency transfer slots. */
  slot: Limit
  /**
   * Places for archives whose signed URL is fetched while they wait for a transfer slot, so that no
   * slot waits on Terminus; bounded, because a signed URL lives about an hour. None: fetched in the slot.
   */
  lookahead?: Limit
  events: EventSink
  /** How long a download may wait for bytes (not counting back-pressure). */
  timeoutMs?: number
  /** Called on the first failure that is not an interruption (for --fail-fast). */
  onFailure?: (error: unknown) => void
}

/**
 * Transfer one archive in a free slot and return one result row per destination, in the order of the
 * destinations. Never throws: a failure is a row (and an `archive:failed` event), so one archive never
 * stops the others.
 */
export async function transferOne(item: PlannedArchive, run: TransferContext): Promise<ArchiveResult[]> {
  const archive = baseOf(item.backup)
  const {events} = run
  events.emit({archive, type: 'archive:queued'})
  const early = run.lookahead ? urlAhead(item, run, run.lookahead) : undefined
  try {
    const result = await run.slot(async () => {
      early?.slotTaken()
      // The run may have been stopped while this archive waited for its slot.
      if (run.signal.aborted) throw run.signal.reason ?? new InterruptedError()
      events.emit({archive, type: 'archive:started'})
      return transferArchive({
        archive: item.backup,
        destinations: run.destinations,
        force: run.force,
        key: item.key,
        onProgress: (progress) => events.emit(progressEvent(archive, progress)),
        resolveUrl: async (signal) => (await early?.take()) ?? fetchUrl(item, run.terminus, signal),
        signal: run.signal,
        timeoutMs: run.timeoutMs,
      })
    }, run.signal)
    const notes = [
      result.resumes ? `resumed ${result.resumes}x` : '',
      result.urlRefreshes ? `URL refreshed ${result.urlRefreshes}x` : '',
    ].filter(Boolean)
    const rows = rowsOf(archive, run.destinations, result.destinations, {bytes: result.bytes, md5: result.md5, notes})
    for (const r of rows.filter((r) => r.status === 'transferred' && r.note?.includes('record not written'))) {
      events.emit({message: `${r.location}: transferred; ${r.note}`, type: 'run:warning'})
    }

    const failed = rows.find((r) => r.status === 'failed')
    if (failed?.error) {
      // Some destinations got the archive, some did not.
      run.onFailure?.(failed.error)
      events.emit({archive, error: failed.error, rows, type: 'archive:failed'})
    } else {
      events.emit({archive, rows, skipped: rows.every((r) => r.status === 'skipped'), type: 'archive:done'})
    }

    return rows
  } catch (error) {
    const failure = describeFailure(error)
    // A TransferError (or an interrupted transfer) says what happened at each destination; an
    // interruption before the transfer began looks at what is already there; anything else failed them all.
    const perDestination: DestinationResult[] =
      error instanceof TransferError || error instanceof TransferInterrupted
        ? error.destinations
        : isAbortError(error)
          ? await lookAfterInterrupt(item, run, failure)
          : run.destinations.map((dest) => ({error: failure, location: dest.describe(item.key), status: 'failed'}))
    const rows = rowsOf(archive, run.destinations, perDestination, {notes: []})
    if (!isAbortError(error)) run.onFailure?.(error)
    events.emit({archive, error: failure, rows, type: 'archive:failed'})
    return rows
  }
}

/** At most this many looks at the destinations at once after an interruption. */
const LOOKS_AFTER_INTERRUPT = 8
const afterInterrupt = new WeakMap<TransferContext, ReturnType<typeof createLimit>>()

/**
 * The run was stopped before this archive's transfer began: a destination that already holds it (by
 * pbm's record; the archive server is not asked) is still `skipped`, as a run to the end would say.
 * Bounded by the timeout, not by the stopped run's signal.
 */
async function lookAfterInterrupt(
  item: PlannedArchive,
  run: TransferContext,
  failure: FailureInfo,
): Promise<DestinationResult[]> {
  const limit = afterInterrupt.get(run) ?? createLimit(LOOKS_AFTER_INTERRUPT)
  afterInterrupt.set(run, limit)
  const looked = await limit(() =>
    transferArchive({
      archive: item.backup,
      destinations: run.destinations,
      dryRun: true,
      key: item.key,
      offline: true,
      resolveUrl: () => Promise.reject(new InterruptedError()),
      signal: AbortSignal.timeout(run.timeoutMs ?? resolveTimeoutMs()),
    }),
  ).catch(() => {})
  return run.destinations.map((dest, i) => {
    const there = looked?.destinations[i]
    if (there?.status === 'skipped') return there
    return {error: failure, location: dest.describe(item.key), status: 'failed'}
  })
}

/**
 * backup:pick and backup:mirror's dry run: the same read-only checks as a transfer (the engine's, with
 * `dryRun`), so that each archive's fate at each destination is the one a real run would have:
 * skipped (already there), planned (to write, with its size), or failed (refused, unreadable).
 */
export async function lookOne(item: PlannedArchive, run: TransferContext): Promise<ArchiveResult[]> {
  const archive = baseOf(item.backup)
  try {
    const result = await run.slot(
      () =>
        transferArchive({
          archive: item.backup,
          destinations: run.destinations,
          dryRun: true,
          force: run.force,
          key: item.key,
          resolveUrl: (signal) => fetchUrl(item, run.terminus, signal),
          signal: run.signal,
          timeoutMs: run.timeoutMs,
        }),
      run.signal,
    )
    // The exact size when it is known (what is there, or the source's probe), else Terminus's listed size.
    return rowsOf(archive, run.destinations, result.destinations, {
      bytes: result.bytes || item.backup.sizeBytes,
      md5: result.md5,
      notes: [],
    })
  } catch (error) {
    const failure = describeFailure(error)
    const perDestination: DestinationResult[] =
      error instanceof TransferError || error instanceof TransferInterrupted
        ? error.destinations
        : run.destinations.map((dest) => ({error: failure, location: dest.describe(item.key), status: 'failed'}))
    return rowsOf(archive, run.destinations, perDestination, {notes: []})
  }
}

function fetchUrl(item: PlannedArchive, terminus: TransferContext['terminus'], signal: AbortSignal): Promise<string> {
  return terminus.backupUrl(item.backup.site, item.backup.env, {
    element: item.backup.element,
    file: item.backup.file,
    signal,
  })
}

/** A URL fetched early is used only if it still has this long to live. */
const URL_MARGIN_MS = 5 * 60_000

/**
 * Fetch the archive's signed URL while it waits for a transfer slot, holding a look-ahead place until
 * the slot is taken. Only when no destination has the key yet (a re-run of a mirrored archive costs no
 * backup:get), and never in the way: if the slot comes first, or anything fails, the engine asks
 * Terminus itself as usual.
 */
function urlAhead(item: PlannedArchive, run: TransferContext, lookahead: Limit) {
  let slotTaken!: () => void
  const inSlot = new Promise<void>((resolve) => {
    slotTaken = resolve
  })
  let taken = false
  let used = false
  const url = lookahead(async () => {
    if (taken || run.signal.aborted) return
    const fetched = (async () => {
      if (!run.force) {
        const existing = await Promise.all(run.destinations.map((d) => d.inspect(item.key, run.signal)))
        if (existing.some(Boolean)) return
      }

      return fetchUrl(item, run.terminus, run.signal)
    })().catch(() => {})
    // Keep the place until this archive is in a slot, so that at most `lookahead` URLs wait unused.
    await Promise.race([
      inSlot,
      run.signal.aborted
        ? Promise.resolve()
        : new Promise((resolve) => {
            run.signal.addEventListener('abort', resolve, {once: true})
          }),
    ])
    return fetched
  }, run.signal).catch(() => {})
  return {
    slotTaken() {
      taken = true
      slotTaken()
    },
    /** The early URL once (fresh enough), then nothing. */
    async take(): Promise<string | undefined> {
      if (used) return undefined
      used = true
      const early = await url
      const expiry = early ? signedUrlExpiry(early) : undefined
      if (!early || (expiry && expiry.getTime() - Date.now() < URL_MARGIN_MS)) return undefined
      return early
    },
  }
}

/** The engine's progress as an event: notes about retries and fresh URLs get their own kinds. */
function progressEvent(archive: ArchiveRef, progress: Progress) {
  if (progress.note && progress.phase === 'retrying') {
    return {archive, note: redact(progress.note), type: 'archive:resumed'} as const
  }

  if (progress.note && progress.phase === 'resolving') {
    return {archive, note: redact(progress.note), type: 'archive:refreshed'} as const
  }

  return {archive, progress, type: 'archive:progress'} as const
}

/** One result row per destination, in the order of the destinations. */
function rowsOf(
  archive: ArchiveRef,
  destinations: Destination[],
  outcomes: DestinationResult[],
  extra: {bytes?: number; md5?: string; notes: string[]},
): ArchiveResult[] {
  return outcomes.map((dest, i) => {
    const failed = dest.status === 'failed'
    return {
      ...archive,
      bytes: failed ? undefined : extra.bytes,
      destination: destinations[i].kind,
      error: failed ? (dest.error ?? {code: 'failed', message: 'failed'}) : undefined,
      ...(dest.kept ? {kept: dest.kept} : {}),
      location: dest.location,
      md5: failed || dest.status === 'planned' ? undefined : extra.md5 || undefined,
      note: failed ? undefined : [dest.reason, dest.note, ...extra.notes].filter(Boolean).join('; ') || undefined,
      status: dest.status,
    }
  })
}

/** Fail before any download when a destination cannot take the archives (no bucket, no access, ...). */
export async function preflight(destinations: Destination[], signal: AbortSignal): Promise<void> {
  await Promise.all(destinations.map((d) => d.preflight(signal)))
}
