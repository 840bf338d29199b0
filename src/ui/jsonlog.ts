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

    case 'archive:resumed':
    case 'archive:refreshed': {
      return {...record, level: 'warn', message: e.note}
    }

    case 'archive:done': {
      const row = e.rows.find((r) => r.status === 'transferred') ?? e.rows[0]
      return {...record, bytes: row?.bytes, md5: row?.md5, message: e.skipped ? (row?.note ?? 'skipped') : 'verified'}
    }

    default: {
      return record
    }
  }
}

function roundRate(rate: number | undefined): number | undefined {
  return rate === undefined ? undefined : Math.round(rate)
}
