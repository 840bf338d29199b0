import type {JobEvent} from '../jobs/events.js'
import type {ArchiveRef} from '../jobs/results.js'
import type {Renderer} from './renderer.js'

import {archiveId, objectId, targetId} from '../jobs/events.js'
import {lockReason} from '../jobs/prune.js'
import {describeChecked, describeChosen, describeDone, describeFailed, describeProgress} from './describe.js'
import {wrapLine} from './fit.js'
import {formatBytes, formatDuration, formatUtc} from './format.js'
import {importCommand} from './restore.js'

/** "alpha.live database" */
const of = (a: ArchiveRef) => `${a.site}.${a.env} ${a.element}`

/**
 * One line per change, for cron and CI logs: nothing is redrawn, and every line names its site.env
 * (and archive), so that interleaved lines of parallel work still say what they are about. A running
 * transfer gets a progress line every `progressEveryMs`. At a terminal (`width`, prune and restore), a
 * line longer than the width wraps at its words.
 */
export function lineRenderer(options: {
  progressEveryMs: number
  width?: number
  write: (line: string) => void
}): Renderer {
  const {width = 0, write} = options
  const lastProgress = new Map<string, number>()

  const line = (e: JobEvent): string | undefined => {
    switch (e.type) {
      case 'target:skipped': {
        return `- ${targetId(e.target)}: skipped, ${e.reason}`
      }

      case 'step:started': {
        return `❯ ${e.title}`
      }

      case 'step:done': {
        return `${e.failed ? '✖' : '✔'} ${e.title}: ${e.note}`
      }

      case 'target:failed': {
        return `✖ ${targetId(e.target)}: ${e.error.message}`
      }

      case 'target:done': {
        return e.status === 'mirrored' ? `✔ ${targetId(e.target)}: mirrored` : undefined
      }

      case 'backup:creating': {
        return `❯ ${targetId(e.target)}: creating a backup`
      }

      case 'backup:created': {
        return `✔ ${targetId(e.target)}: backup created in ${formatDuration(e.seconds)}`
      }

      case 'backup:create-skipped': {
        return `- ${targetId(e.target)}: create backup skipped (${e.reason})`
      }

      case 'backups:chosen': {
        return `❯ ${targetId(e.target)}: ${describeChosen(e.archives.length, e.newest, e.older)}`
      }

      case 'archive:started': {
        lastProgress.set(archiveId(e.archive), Date.now())
        return `❯ ${of(e.archive)}: ${e.archive.file}`
      }

      case 'archive:progress': {
        if (e.progress.phase !== 'downloading' || e.progress.bytes === 0) return undefined
        const id = archiveId(e.archive)
        const now = Date.now()
        if (now - (lastProgress.get(id) ?? 0) < options.progressEveryMs) return undefined
        lastProgress.set(id, now)
        return `  ${of(e.archive)} ${e.archive.file}: ${describeProgress(e.progress)}`
      }

      case 'archive:resumed':
      case 'archive:refreshed': {
        return `  ${of(e.archive)} ${e.archive.file}: ${e.note}`
      }

      case 'archive:done': {
        return `${e.skipped ? '-' : '✔'} ${of(e.archive)}: ${describeDone(e.archive, e.rows, e.skipped)}`
      }

      case 'archive:failed': {
        return `✖ ${of(e.archive)}: ${describeFailed(e.archive, e.rows, e.error)}`
      }

      case 'terminus:paused': {
        return `… Pantheon is throttling Terminus (${e.command}): every Terminus call waits ${formatDuration(e.delayMs / 1000)}`
      }

      case 'run:warning': {
        return `! ${e.message}`
      }

      case 'restore:started': {
        const what = [...new Set(e.archives.map((a) => `${a.site}.${a.env} ${a.element}`))].join(', ')
        return `❯ ${targetId(e.target)}: restoring ${what}${e.dryRun ? ' (dry run: nothing is changed)' : ''}`
      }

      case 'restore:verified': {
        const how = e.deep ? 'read back in full' : "pbm's record"
        return `✔ ${of(e.archive)}: ${e.archive.file} verified (${how}, ${formatBytes(e.bytes)}${e.md5 ? `, md5 ${e.md5}` : ''})`
      }

      case 'restore:staged': {
        return `  ${targetId(e.target)} ${e.archive.element}: staged at ${e.where}`
      }

      case 'restore:importing': {
        return `❯ ${targetId(e.target)} ${e.archive.element}: ${importCommand(e.archive.element, e.target)} (URL of ${e.from}, valid until ${formatUtc(e.expiresAt)})`
      }

      case 'restore:imported': {
        return `✔ ${targetId(e.target)} ${e.archive.element}: imported in ${formatDuration(e.seconds)}`
      }

      case 'restore:failed': {
        return `✖ ${targetId(e.target)} ${e.archive.element}: ${e.error.message}`
      }

      case 'restore:saved': {
        return `✔ ${of(e.archive)}: ${e.archive.file} ${e.unchanged ? 'already in' : 'written to'} ${e.file} (${formatBytes(e.bytes)})`
      }

      case 'restore:unstaged': {
        return e.error
          ? `✖ ${targetId(e.target)} ${e.archive.element}: ${e.error.message}`
          : `  ${targetId(e.target)} ${e.archive.element}: stage ${e.where} deleted`
      }

      case 'stage:swept': {
        return e.error
          ? `! ${e.error.message}`
          : `- deleted the restore stage ${e.where}, left by an earlier run (its URL expired${e.expiredAt ? ` ${formatUtc(e.expiredAt)}` : ''})`
      }

      case 'prune:listed': {
        return `❯ ${e.location}: ${e.listed} objects listed, ${e.archives} backups in ${e.series} series, ${e.foreign} not pbm's (left alone)`
      }

      case 'prune:planned': {
        return `  ${targetId(e.target)} ${e.element}: keep ${e.kept}, remove ${e.removed}`
      }

      case 'prune:locked': {
        return `- ${targetId(e.target)} ${e.element}: kept ${e.file}, ${lockReason(e)}`
      }

      case 'prune:failed': {
        return `✖ ${targetId(e.target)} ${e.element}: ${e.file} not removed: ${e.error.message}`
      }

      // Each removal is in the report that follows the run; a line each would say it twice.
      case 'object:started': {
        lastProgress.set(objectId(e.object), Date.now())
        return `❯ ${of(e.object)}: reading ${e.object.location}`
      }

      case 'object:progress': {
        if (e.progress.phase !== 'downloading' || e.progress.bytes === 0) return undefined
        const id = objectId(e.object)
        const now = Date.now()
        if (now - (lastProgress.get(id) ?? 0) < options.progressEveryMs) return undefined
        lastProgress.set(id, now)
        return `  ${of(e.object)} ${e.object.location}: ${describeProgress(e.progress)}`
      }

      case 'object:checked': {
        // Thousands of quick checks that are fine would drown the problems: only reads and problems.
        if (e.status === 'ok' && !e.deep) return undefined
        return `${e.status === 'ok' ? '✔' : '✖'} ${of(e.object)}: ${describeChecked(e.object.location, e.status, e.detail)}`
      }

      case 'target:checked': {
        if (e.status === 'ok') return undefined
        return `✖ ${targetId(e.target)}: ${e.status}${e.detail ? `, ${e.detail}` : ''}`
      }

      default: {
        return undefined
      }
    }
  }

  return {
    async close() {},
    emit(e) {
      const text = line(e)
      // At a terminal a long line wraps at its words, indented; a log (width 0) keeps it whole.
      if (text !== undefined) for (const part of wrapLine(text, width)) write(part)
    },
  }
}
