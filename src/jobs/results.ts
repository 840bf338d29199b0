import type {Backup} from '../catalog/types.js'
import type {DestinationKind} from '../destination/types.js'
import type {PingSummary} from '../util/ping.js'
import type {PruneResult} from './prune.js'
import type {VerifyResult} from './verify.js'

import {EXIT, InterruptedError, isAbortError, PbmError} from '../errors.js'
import {redact} from '../redact.js'

export interface SiteEnvRef {
  site: string
  env: string
}

/** Which archive an event or a result row is about. */
export interface ArchiveRef extends SiteEnvRef {
  element: string
  file: string
  /** The backup's time: the one in its filename (`src/catalog/time.ts`). */
  date: Date
  folder: string
}

/** An archive at one destination (backup:verify's subject). */
export interface ObjectRef extends ArchiveRef {
  destination: DestinationKind
  /** `s3://bucket/key` or an absolute path. */
  location: string
}

/** A failure as data: a stable code and a redacted message (with the hint). */
export interface FailureInfo {
  code: string
  message: string
}

/** One row of a command's result: one archive at one destination. This is also the --json shape. */
export interface ArchiveResult extends ArchiveRef {
  destination: DestinationKind
  /** `s3://bucket/key` or an absolute path. */
  location: string
  bytes?: number
  md5?: string
  status: 'failed' | 'planned' | 'skipped' | 'transferred'
  /** Why it was skipped (already mirrored) or a note about the transfer (resumed, URL refreshed). */
  note?: string
  error?: FailureInfo
  /** Interrupted: bytes of the partial file kept beside the archive; the next run resumes from them. */
  kept?: number
}

/** What happened to one site.env as a whole (its archives are in `archives`). */
export interface TargetResult extends SiteEnvRef {
  status: 'failed' | 'mirrored' | 'planned' | 'skipped'
  note?: string
  error?: FailureInfo
}

export interface RunSummary {
  transferred: number
  skipped: number
  failed: number
  /** Of the failed ones, those stopped by Ctrl-C rather than by an error. */
  interrupted: number
  /** Of the interrupted ones, those whose partial file was kept for the next run to resume. */
  partialsKept: number
  planned: number
  bytes: number
  seconds: number
  bytesPerSecond: number
}

/** backup:pick's result, and its --json document. */
export interface PickResult {
  archives: ArchiveResult[]
  summary: RunSummary
}

/** backup:mirror's result, and its --json document. */
export interface MirrorResult {
  targets: TargetResult[]
  archives: ArchiveResult[]
  summary: RunSummary
  /** The shard this run mirrored (`K/N`), when it was one. */
  shard?: string
  /** With --prune: one prune per destination, of the site.envs mirrored without a failure. */
  prune?: PruneResult[]
  /** With --verify: the quick verify of what this run mirrored. */
  verify?: VerifyResult
  /** True when --fail-fast stopped the run. */
  stoppedEarly?: boolean
}

/** One archive of backup:restore: what went from where into which site.env, and how Pantheon's workflow ended. */
export interface RestoredArchive extends SiteEnvRef {
  /** `site` and `env` are the site.env whose backup it is, as in every command's archive rows. */
  element: 'database' | 'files'
  file: string
  /** The backup's time, the one in its filename. */
  date: Date
  /** Where Pantheon fetched it from (`s3://bucket/key`, or the stage), never the presigned URL. */
  location: string
  /** The site.env it was imported into; with --output, the file it was written to. */
  target: string
  /**
   * The import workflow: succeeded, failed, planned (dry run), or not-run (an earlier step failed);
   * with --output: saved, or unchanged (the same archive was in the file already).
   */
  workflow: 'failed' | 'not-run' | 'planned' | 'saved' | 'succeeded' | 'unchanged'
  seconds: number
  error?: FailureInfo
}

/** The backup of the target made before anything is imported. */
export interface BackupFirstResult {
  target: string
  /** The `--element` given to `terminus backup:create`. */
  element: string
  status: 'created' | 'failed' | 'planned' | 'skipped'
  seconds?: number
  error?: FailureInfo
}

/** backup:restore's result, and its --json document. */
export interface RestoreResult {
  restored: RestoredArchive[]
  backupFirst: BackupFirstResult
  /** Staged copies that could not be deleted (with the command to delete them); absent when none. */
  warnings?: string[]
}

/** The exit code of a restore: 130 when the user stopped it, 1 when any step failed, else 0. */
export function restoreExitCode(result: RestoreResult, signal: AbortSignal): number {
  if (signal.aborted && signal.reason instanceof InterruptedError) return EXIT.interrupted
  const failed = result.backupFirst.status === 'failed' || result.restored.some((r) => r.workflow === 'failed')
  return failed ? EXIT.failure : EXIT.ok
}

export function baseOf(backup: Backup): ArchiveRef {
  return {
    date: backup.date,
    element: backup.element,
    env: backup.env,
    file: backup.file,
    folder: backup.folder,
    site: backup.site,
  }
}

/**
 * The run's counts (one per archive and destination) and its bytes: each archive's once, since one
 * download feeds every destination ("150 MB to 2 destinations", not 300 MB).
 */
export function summarize(results: ArchiveResult[], seconds: number): RunSummary {
  const count = (status: ArchiveResult['status']) => results.filter((r) => r.status === status).length
  const perArchive = new Map<string, number>()
  for (const r of results.filter((r) => r.status === 'transferred')) {
    const id = `${r.site}.${r.env}/${r.file}`
    perArchive.set(id, Math.max(perArchive.get(id) ?? 0, r.bytes ?? 0))
  }

  const bytes = [...perArchive.values()].reduce((sum, n) => sum + n, 0)
  return {
    bytes,
    bytesPerSecond: seconds > 0 ? Math.round(bytes / seconds) : 0,
    failed: count('failed'),
    interrupted: results.filter((r) => r.error?.code === 'interrupted').length,
    partialsKept: results.filter((r) => r.error?.code === 'interrupted' && r.kept).length,
    planned: count('planned'),
    seconds: Math.round(seconds * 10) / 10,
    skipped: count('skipped'),
    transferred: count('transferred'),
  }
}

/** Any error as data for a result row or an event: interrupted, a PbmError's code and advice, or failed. */
export function describeFailure(error: unknown): FailureInfo {
  if (error instanceof InterruptedError) return {code: 'interrupted', message: error.message}
  if (isAbortError(error)) return {code: 'interrupted', message: 'Interrupted.'}
  if (error instanceof PbmError) {
    return {code: error.code, message: redact(error.hint ? `${error.message} ${error.hint}` : error.message)}
  }

  return {code: 'failed', message: redact(error instanceof Error ? error.message : String(error))}
}

/** The exit code of a transferring run: 130 when the user stopped it, 1 when anything failed, else 0. */
export function exitCodeOf(summary: RunSummary, signal: AbortSignal): number {
  if (signal.aborted && signal.reason instanceof InterruptedError) return EXIT.interrupted
  return summary.failed > 0 ? EXIT.failure : EXIT.ok
}

/** What a health ping says of a mirror: the counts and the first failures. */
export function mirrorPingSummary(command: string, result: MirrorResult): PingSummary {
  const failures = [
    ...result.targets
      .filter((t) => t.status === 'failed' && t.error)
      .map((t) => ({...t.error!, target: `${t.site}.${t.env}`})),
    ...result.archives.filter((a) => a.status === 'failed' && a.error).map((a) => ({...a.error!, target: a.file})),
  ]
  const {summary} = result
  return {
    bytes: summary.bytes,
    command,
    counts: {failed: summary.failed, skipped: summary.skipped, transferred: summary.transferred},
    durationMs: summary.seconds * 1000,
    errors: failures,
    shard: result.shard,
  }
}
