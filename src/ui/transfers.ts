import type {ListrTask, ListrTaskWrapper} from 'listr2'

import type {Backup} from '../catalog/types.js'
import type {Destination} from '../destination/index.js'
import type {Terminus} from '../terminus/index.js'
import type {DestinationResult, Progress} from '../transfer/index.js'

import {InterruptedError, isAbortError, PbmError} from '../errors.js'
import {redact} from '../redact.js'
import {transferArchive, TransferError} from '../transfer/index.js'
import {formatBytes, formatDuration, formatRate, progressBar} from './format.js'
import {type ArchiveResult, baseOf} from './results.js'

/** One archive to move, with its key at the destinations (the same key for S3 and a local folder). */
export interface PlannedArchive {
  backup: Backup
  key: string
}

/** What every archive task of one run shares. */
export interface TransferRun {
  terminus: Terminus
  destinations: Destination[]
  force: boolean
  signal: AbortSignal
  /** Runs fn when one of the --concurrency transfer slots is free. */
  slot: <T>(fn: () => Promise<T>, signal?: AbortSignal) => Promise<T>
  progressEveryMs: number
  /** Progress is appended as lines (cron, CI) rather than redrawn: each line must name its archive. */
  lineMode: boolean
  results: ArchiveResult[]
  /** Called on the first failure (for --fail-fast). */
  onFailure?: (error: unknown) => void
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTask = ListrTaskWrapper<any, any, any>

/** A listr2 task that transfers one archive with live progress and records one result per destination. */
export function archiveTask(item: PlannedArchive, run: TransferRun, title = item.backup.element): ListrTask {
  return {
    async task(_ctx, task) {
      task.title = `${title}: waiting for a transfer slot`
      try {
        const result = await run.slot(async () => {
          // The run may have been stopped while this archive waited for its slot.
          if (run.signal.aborted) throw run.signal.reason ?? new InterruptedError()
          task.title = `${title}: ${item.backup.file}`
          return transferArchive({
            archive: item.backup,
            destinations: run.destinations,
            force: run.force,
            key: item.key,
            onProgress: progressReporter(task, run, `${title} ${item.backup.file}`),
            resolveUrl: (signal) =>
              run.terminus.backupUrl(item.backup.site, item.backup.env, {
                element: item.backup.element,
                file: item.backup.file,
                signal,
              }),
            signal: run.signal,
          })
        }, run.signal)
        const notes = [
          result.resumes ? `resumed ${result.resumes}x` : '',
          result.urlRefreshes ? `URL refreshed ${result.urlRefreshes}x` : '',
        ].filter(Boolean)
        recordRows(item, run, result.destinations, {bytes: result.bytes, md5: result.md5, notes})
        const failed = result.destinations.filter((d) => d.status === 'failed')
        if (failed.length > 0) {
          // Some destinations got the archive, some did not: the task fails with the reasons.
          run.onFailure?.(failed[0].error)
          task.title = `${title}: ${item.backup.file} failed at ${failed.map((d) => d.location).join(', ')}`
          throw new RecordedFailure(failed.map((d) => d.error?.message ?? 'failed').join('; '))
        }

        const allSkipped = result.destinations.every((d) => d.status === 'skipped')
        task.title = allSkipped
          ? `${title}: ${item.backup.file} skipped (${result.destinations[0]?.reason ?? 'already there'})`
          : `${title}: ${item.backup.file} ${formatBytes(result.bytes)} verified (md5 ${result.md5})`
        if (allSkipped) task.skip(task.title)
      } catch (error) {
        if (error instanceof RecordedFailure) throw error
        const failure = describeFailure(error)
        // A TransferError says what happened at each destination; anything else failed them all.
        const perDestination =
          error instanceof TransferError
            ? error.destinations
            : run.destinations.map((dest) => ({
                error: failure,
                location: dest.describe(item.key),
                status: 'failed' as const,
              }))
        recordRows(item, run, perDestination, {notes: []})
        if (!isAbortError(error)) run.onFailure?.(error)
        task.title = `${title}: ${item.backup.file} ${failure.code === 'interrupted' ? 'not finished' : 'failed'}`
        throw new RecordedFailure(failure.message)
      }
    },
    title,
  }
}

/** Fails the listr task (with the reason as its message) after the result rows are recorded. */
class RecordedFailure extends Error {}

/** One result row per destination, in the order of run.destinations. */
function recordRows(
  item: PlannedArchive,
  run: TransferRun,
  outcomes: DestinationResult[],
  extra: {bytes?: number; md5?: string; notes: string[]},
): void {
  for (const [i, dest] of outcomes.entries()) {
    run.results.push({
      ...baseOf(item.backup),
      bytes: dest.status === 'failed' ? undefined : extra.bytes,
      destination: run.destinations[i].kind,
      error: dest.status === 'failed' ? (dest.error ?? {code: 'failed', message: 'failed'}) : undefined,
      location: dest.location,
      md5: dest.status === 'failed' ? undefined : extra.md5 || undefined,
      note:
        dest.status === 'failed' ? undefined : [dest.reason, ...extra.notes].filter(Boolean).join('; ') || undefined,
      status: dest.status,
    })
  }
}

export function describeFailure(error: unknown): {code: string; message: string} {
  if (error instanceof InterruptedError) return {code: 'interrupted', message: error.message}
  if (isAbortError(error)) return {code: 'interrupted', message: 'Interrupted.'}
  if (error instanceof PbmError) {
    return {code: error.code, message: redact(error.hint ? `${error.message} ${error.hint}` : error.message)}
  }

  return {code: 'failed', message: redact(error instanceof Error ? error.message : String(error))}
}

/**
 * Progress into task.output. Redrawn: every phase and byte count. Appended as lines: only notes
 * (retries, resumes) and a byte count every few seconds, each line naming its archive, because the
 * task's title and result lines already say when it starts and ends.
 */
function progressReporter(task: AnyTask, run: TransferRun, name: string): (p: Progress) => void {
  let last = Date.now()
  let lastPhase = ''
  return (p) => {
    const now = Date.now()
    if (run.lineMode) {
      const due = p.phase === 'downloading' && now - last >= run.progressEveryMs
      if (!p.note && !due) return
      last = now
      task.output = `${name}: ${describeProgress({...p, phase: p.note ? p.phase : 'downloading'})}`
      return
    }

    if (p.phase === lastPhase && now - last < run.progressEveryMs && !p.note) return
    last = now
    lastPhase = p.phase
    task.output = describeProgress(p)
  }
}

export function describeProgress(p: Progress): string {
  const note = p.note ? ` (${redact(p.note)})` : ''
  if (p.phase !== 'downloading' && p.phase !== 'retrying') return `${p.phase}${note}`
  const total = p.total ? ` / ${formatBytes(p.total)}` : ''
  const bar = p.total ? `${progressBar(p.bytes / p.total)} ` : ''
  const eta = p.etaSeconds === undefined ? '' : `  ETA ${formatDuration(p.etaSeconds)}`
  return `${bar}${formatBytes(p.bytes)}${total}  ${formatRate(p.rateBytesPerSec)}${eta}${note}`
}
