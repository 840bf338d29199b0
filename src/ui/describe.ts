import type {ArchiveRef, ArchiveResult, FailureInfo} from '../jobs/results.js'
import type {Progress} from '../transfer/index.js'

import {redact} from '../redact.js'
import {plural} from '../util/plural.js'
import {formatBytes, formatDuration, formatRate, formatUtc, progressBar} from './format.js'

/**
 * The words for job events, shared by every human renderer (the live tree and the line log), so that
 * both say the same thing.
 */

/** "3 archives of the backup of 2024-05-01 03:12:44 UTC" */
export function describeChosen(count: number, newest: Date, older: boolean): string {
  return `${plural(count, 'archive')} of the backup of ${formatUtc(newest)}${older ? ' and older ones' : ''}`
}

/** "FILE 3.1 MB verified (md5 …)" or "FILE skipped (already mirrored)" */
export function describeDone(archive: ArchiveRef, rows: ArchiveResult[], skipped: boolean): string {
  if (skipped) return `${archive.file} skipped (${rows[0]?.note ?? 'already there'})`
  const stored = rows.find((r) => r.status === 'transferred') ?? rows[0]
  return `${archive.file} ${formatBytes(stored?.bytes ?? 0)} verified (md5 ${stored?.md5 ?? '-'})`
}

/** "FILE failed at s3://…: reason", "FILE failed: reason" or "FILE not finished" */
export function describeFailed(archive: ArchiveRef, rows: ArchiveResult[], error: FailureInfo): string {
  if (error.code === 'interrupted') return `${archive.file} not finished`
  const failedAt = rows.filter((r) => r.status === 'failed')
  const where =
    failedAt.length > 0 && failedAt.length < rows.length ? ` at ${failedAt.map((r) => r.location).join(', ')}` : ''
  return `${archive.file} failed${where}: ${error.message}`
}

export function describeProgress(p: Progress): string {
  const note = p.note ? ` (${redact(p.note)})` : ''
  if (p.phase !== 'downloading' && p.phase !== 'retrying') return `${p.phase}${note}`
  const total = p.total ? ` / ${formatBytes(p.total)}` : ''
  const bar = p.total ? `${progressBar(p.bytes / p.total)} ` : ''
  const eta = p.etaSeconds === undefined ? '' : `  ETA ${formatDuration(p.etaSeconds)}`
  return `${bar}${formatBytes(p.bytes)}${total}  ${formatRate(p.rateBytesPerSec)}${eta}${note}`
}

/** "s3://b/k: corrupt (MD5 … differs from the recorded …)" */
export function describeChecked(location: string, status: string, detail?: string): string {
  return `${location}: ${status}${detail ? ` (${detail})` : ''}`
}
