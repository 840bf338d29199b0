import type {Backup} from '../catalog/types.js'

/** One row of a command's result: one archive at one destination. This is also the --json shape. */
export interface ArchiveResult {
  site: string
  env: string
  element: string
  file: string
  folder: string
  destination: 'local' | 's3'
  /** `s3://bucket/key` or an absolute path. */
  location: string
  bytes?: number
  md5?: string
  status: 'failed' | 'planned' | 'skipped' | 'transferred'
  /** Why it was skipped (already mirrored) or a note about the transfer (resumed, URL refreshed). */
  note?: string
  error?: {code: string; message: string}
}

export interface RunSummary {
  transferred: number
  skipped: number
  failed: number
  /** Of the failed ones, those stopped by Ctrl-C rather than by an error. */
  interrupted: number
  planned: number
  bytes: number
  seconds: number
  bytesPerSecond: number
}

export function baseOf(backup: Backup): Pick<ArchiveResult, 'element' | 'env' | 'file' | 'folder' | 'site'> {
  return {element: backup.element, env: backup.env, file: backup.file, folder: backup.folder, site: backup.site}
}

export function summarize(results: ArchiveResult[], seconds: number): RunSummary {
  const count = (status: ArchiveResult['status']) => results.filter((r) => r.status === status).length
  const bytes = results.filter((r) => r.status === 'transferred').reduce((sum, r) => sum + (r.bytes ?? 0), 0)
  return {
    bytes,
    bytesPerSecond: seconds > 0 ? Math.round(bytes / seconds) : 0,
    failed: count('failed'),
    interrupted: results.filter((r) => r.error?.code === 'interrupted').length,
    planned: count('planned'),
    seconds: Math.round(seconds * 10) / 10,
    skipped: count('skipped'),
    transferred: count('transferred'),
  }
}
