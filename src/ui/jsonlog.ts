import type {JobEvent} from '../jobs/events.js'
import type {Renderer} from './renderer.js'

import {archiveId} from '../jobs/events.js'

/** One log record: flat, so that log collectors (Kubernetes, Actions, Loki, CloudWatch) can index it. */
export interface LogRecord {
  time: string
  level: 'error' | 'info' | 'warn'
  event: JobEvent['type']
  site?: string
  env?: string
  element?: string
  file?: string
  bytes?: number
  total?: number
  /** Bytes per second, over the last few seconds. */
  rate?: number
  code?: string
  message?: string
  [more: string]: unknown
}

/**
 * `--log-format json`: one JSON object per event on stderr, for log collectors, while `--json` (the
 * result) stays on stdout. Progress is logged at most every `progressEveryMs` per archive.
 */
export function jsonLogRenderer(options: {
  progressEveryMs: number
  write: (line: string) => void
  now?: () => Date
}): Renderer {
  const now = options.now ?? (() => new Date())
  const lastProgress = new Map<string, number>()
  return {
    async close() {},
    emit(e) {
      const record = toRecord(e, now())
      if (!record) return
      if (e.type === 'archive:progress') {
        const id = archiveId(e.archive)
        const t = now().getTime()
        if (t - (lastProgress.get(id) ?? 0) < options.progressEveryMs) return
        lastProgress.set(id, t)
      }

      options.write(JSON.stringify(record))
    },
  }
}

export function toRecord(e: JobEvent, time: Date): LogRecord | undefined {
  const base = {event: e.type, level: 'info' as LogRecord['level'], time: time.toISOString()}
  const where = 'archive' in e ? e.archive : 'target' in e ? e.target : undefined
  const record: LogRecord = {...base, ...(where ? {...where} : {})}
  delete record.folder
  switch (e.type) {
    case 'run:started': {
      return {...record, archives: e.archives?.length, targets: e.targets?.length}
    }

    case 'step:started': {
      return {...record, message: e.title, step: e.step}
    }

    case 'step:progress': {
      return undefined
    }

    case 'step:done': {
      return {...record, message: `${e.title}: ${e.note}`, step: e.step, ...(e.failed ? {level: 'error'} : {})}
    }

    case 'run:summary': {
      return {...record, ...e.summary, level: e.summary.failed > 0 ? 'error' : 'info'}
    }

    case 'target:skipped': {
      return {...record, message: e.reason}
    }

    case 'target:failed':
    case 'archive:failed': {
      return {...record, code: e.error.code, level: 'error', message: e.error.message}
    }

    case 'target:done': {
      return {...record, message: e.status}
    }

    case 'backup:created': {
      return {...record, seconds: e.seconds}
    }

    case 'backups:chosen': {
      return {...record, archives: e.archives.length, newest: e.newest.toISOString()}
    }

    case 'archive:progress': {
      if (e.progress.phase !== 'downloading') return undefined
      return {...record, bytes: e.progress.bytes, rate: roundRate(e.progress.rateBytesPerSec), total: e.progress.total}
    }

    case 'terminus:paused': {
      return {
        ...record,
        attempt: e.attempt,
        command: e.command,
        delayMs: e.delayMs,
        level: 'warn',
        until: e.until.toISOString(),
      }
    }

    case 'run:warning': {
      return {...record, level: 'warn', message: e.message}
    }

    case 'archive:resumed':
    case 'archive:refreshed': {
      return {...record, level: 'warn', message: e.note}
    }

    case 'archive:done': {
      const row = e.rows.find((r) => r.status === 'transferred') ?? e.rows[0]
      return {...record, bytes: row?.bytes, md5: row?.md5, message: e.skipped ? (row?.note ?? 'skipped') : 'verified'}
    }

    case 'restore:started': {
      return {...record, archives: e.archives.length, backupFirst: e.backupFirst, dryRun: e.dryRun}
    }

    case 'restore:verifying':
    case 'restore:verified':
    case 'restore:staged':
    case 'restore:importing':
    case 'restore:imported':
    case 'restore:failed':
    case 'restore:saved':
    case 'restore:unstaged': {
      return restoreRecord(e, record)
    }

    case 'stage:swept': {
      return e.error
        ? {...record, code: e.error.code, level: 'warn', message: e.error.message, where: e.where}
        : {...record, expiredAt: e.expiredAt?.toISOString(), where: e.where}
    }

    case 'prune:listed': {
      const {archives, foreign, listed, location, series} = e
      return {...record, archives, foreign, listed, location, series}
    }

    case 'prune:planned': {
      return {...record, element: e.element, kept: e.kept, removed: e.removed}
    }

    case 'prune:removed': {
      return {...record, deleteMarker: e.deleteMarker, element: e.element, file: e.file}
    }

    case 'prune:locked': {
      return {
        ...record,
        element: e.element,
        file: e.file,
        legalHold: e.legalHold,
        level: 'warn',
        until: e.until?.toISOString(),
      }
    }

    case 'prune:failed': {
      return {...record, code: e.error.code, element: e.element, file: e.file, level: 'error', message: e.error.message}
    }

    case 'prune:summary': {
      return {
        ...record,
        ...e.summary,
        level: e.summary.failed > 0 || e.stopped === 'max-delete' ? 'error' : 'info',
        location: e.location,
        stopped: e.stopped,
      }
    }

    default: {
      return record
    }
  }
}

type RestoreEvent = Extract<JobEvent, {type: `restore:${string}`}>

/** A restore's records name the target site.env; the archive's own site.env is its `source`. */
function restoreRecord(e: Exclude<RestoreEvent, {type: 'restore:started'}>, record: LogRecord): LogRecord {
  const out: LogRecord = {...record, env: e.target.env, site: e.target.site}
  if (e.archive)
    Object.assign(out, {element: e.archive.element, file: e.archive.file, source: `${e.archive.site}.${e.archive.env}`})
  switch (e.type) {
    case 'restore:verifying': {
      return {...out, deep: e.deep}
    }

    case 'restore:verified': {
      return {...out, bytes: e.bytes, deep: e.deep, md5: e.md5}
    }

    case 'restore:staged': {
      return {...out, where: e.where}
    }

    case 'restore:importing': {
      return {...out, expiresAt: e.expiresAt.toISOString(), from: e.from}
    }

    case 'restore:imported': {
      return {...out, seconds: e.seconds}
    }

    case 'restore:failed': {
      return {...out, code: e.error.code, level: 'error', message: e.error.message}
    }

    case 'restore:saved': {
      return {...out, bytes: e.bytes, output: e.file, unchanged: e.unchanged}
    }

    case 'restore:unstaged': {
      return e.error
        ? {...out, code: e.error.code, level: 'error', message: e.error.message, where: e.where}
        : {...out, where: e.where}
    }
  }
}

function roundRate(rate: number | undefined): number | undefined {
  return rate === undefined ? undefined : Math.round(rate)
}
