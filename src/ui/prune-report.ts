import chalk from 'chalk'

import type {PruneResult, PruneSeriesResult} from '../jobs/prune.js'
import type {ReportOutput} from './report.js'

import {plural} from '../util/plural.js'
import {fitTable, outputWidth} from './fit.js'
import {formatBytes, formatUtc} from './format.js'
import {wrapping} from './report.js'

/**
 * Every series of a prune, each backup on one line, newest first: kept with its reasons
 * (`daily #3, monthly #1`), or removed (planned, removed, delete marker written, failed).
 */
export function formatPrunePlan(result: PruneResult, width = outputWidth()): string {
  if (result.series.length === 0) return `No backups of pbm's under ${result.location}.`
  const blocks = result.series.map((s) => formatSeries(s, result.dryRun, width))
  return [`${result.location}: ${result.policy}`, '', ...blocks].join('\n')
}

function formatSeries(series: PruneSeriesResult, dryRun: boolean, width: number): string {
  const rows = [
    ...series.keep.map((k) => ({
      cells: [chalk.green('keep'), formatUtc(k.date), k.file, k.reasons.join(', ')],
      date: k.date.getTime(),
    })),
    ...series.remove.map((r) => ({
      cells: [
        r.status === 'failed' ? chalk.red('failed') : chalk.yellow('remove'),
        formatUtc(r.date),
        r.file,
        removedNote(r, dryRun),
      ],
      date: r.date.getTime(),
    })),
  ].sort((a, b) => b.date - a.date)
  const unrecorded = series.unrecorded > 0 ? `; ${series.unrecorded} without pbm's record left alone` : ''
  const head = `${series.site}.${series.env} ${series.element}: keep ${series.keep.length}, ${dryRun ? 'would remove' : 'remove'} ${series.remove.length}${unrecorded}`
  const fitted = fitTable(
    rows.map((r) => r.cells),
    {
      columns: [{}, {}, {min: 20, order: 2, shrink: 'middle'}, {min: 16, order: 1, shrink: 'wrap'}],
      indent: '  ',
      width,
    },
  )
  return `${head}\n${fitted}\n`
}

function removedNote(entry: PruneSeriesResult['remove'][number], dryRun: boolean): string {
  // A vault's archive is two snapshots: say which `restic forget` gets.
  const parts = entry.parts ? ` (snapshots ${entry.parts.join(', ')})` : ''
  switch (entry.status) {
    case 'planned': {
      return dryRun ? `(dry run: not removed)${parts}` : parts.trim()
    }

    case 'removed': {
      return entry.deleteMarker
        ? 'removed (delete marker written; the data stays until a lifecycle rule expires it)'
        : `removed${parts}`
    }

    case 'failed': {
      return entry.error?.message ?? 'not removed'
    }
  }
}

/**
 * `kept 12, removed 5 (3.2 MB freed), 1 locked, 0 failed; 3 objects not pbm's left alone`; before
 * anything is removed (a dry run, a plan not confirmed or over --max-delete): `would remove 5 (3.2 MB)`.
 */
export function formatPruneTotals(result: PruneResult): string {
  const {summary} = result
  const parts = [
    `kept ${summary.kept}`,
    summary.wouldRemove === undefined
      ? `removed ${summary.removed} (${formatBytes(summary.bytesFreed)} freed)`
      : `would remove ${summary.wouldRemove} (${formatBytes(summary.bytesWouldFree ?? 0)})`,
  ]
  const notRemoved = summary.wouldRemove !== undefined
  if (summary.locked > 0) parts.push(`${summary.locked} locked`)
  if (summary.deleteMarkers > 0) {
    parts.push(`${plural(summary.deleteMarkers, 'delete marker')} written`)
  }

  if (summary.leftovers > 0)
    parts.push(`${notRemoved ? 'would remove' : 'removed'} ${plural(summary.leftovers, 'leftover')} of pbm's`)
  if (!notRemoved) parts.push(`${summary.failed} failed`)
  if (summary.suspect > 0) {
    parts.push(`${summary.suspect} dated in the future (kept, not trusted)`)
  }

  const notPbm = result.foreign.count + result.unrecorded.count
  const unrecorded =
    result.unrecorded.count > 0
      ? ` (${result.unrecorded.count} named like backups but without pbm's record; --include-unrecorded counts them)`
      : ''
  const foreign = notPbm > 0 ? `; ${plural(notPbm, 'object')} not pbm's left alone${unrecorded}` : ''
  return `${parts.join(', ')}${foreign}`
}

/**
 * pbm's leftovers (each with why it is one, and what became of it) and the store-wide step that
 * frees space (a vault's `restic prune`): planned on a dry run, done, or failed.
 */
export function formatPruneStore(result: PruneResult): string[] {
  const lines = result.leftovers.map((l) => {
    const fate = l.status === 'planned' ? (result.dryRun ? 'would remove (dry run)' : 'not removed') : l.status
    return `leftover ${l.what}: ${l.reason}; ${fate}`
  })
  const {compact} = result
  if (compact) {
    const how =
      compact.status === 'planned'
        ? 'would run after the removals (dry run: not run)'
        : compact.status === 'done'
          ? `done${compact.freed ? ` (${compact.freed} freed)` : ''}`
          : `failed: ${compact.error?.message ?? 'failed'}`
    lines.push(`${compact.command}: ${how}`)
  }

  return lines
}

/** Why nothing was removed, when the plan removes something. */
export function formatPruneStopped(result: PruneResult): string | undefined {
  switch (result.stopped?.reason) {
    case 'max-delete': {
      return `Stopped: the plan removes ${result.summary.wouldRemove ?? 0} backups, more than --max-delete ${result.stopped.maxDelete}. Nothing was removed.`
    }

    case 'not-confirmed': {
      return 'Nothing was removed.'
    }

    default: {
      return result.dryRun && (result.summary.wouldRemove ?? 0) > 0 ? 'Dry run: nothing was removed.' : undefined
    }
  }
}

/**
 * backup:prune's closing words: the plan with each backup's fate (unless it was shown before the
 * question), the totals, and why nothing was removed; failures also on stderr.
 */
export function reportPrune(to: ReportOutput, result: PruneResult, options: {planShown?: boolean} = {}): void {
  const out = wrapping(to)
  if (!options.planShown) out.log(formatPrunePlan(result))
  else if (result.summary.locked > 0 || result.summary.failed > 0) out.log(formatPrunePlan(result))
  for (const s of result.series) {
    for (const file of s.suspect) {
      const date = s.keep.find((k) => k.file === file)?.date
      out.error(
        `! ${s.site}.${s.env} ${s.element}: ${file} is dated ${date ? formatUtc(date) : 'in the future'}, more than a day ahead: kept, and counted by no rule`,
      )
    }

    for (const r of s.remove.filter((r) => r.status === 'failed')) {
      out.error(`✖ ${s.site}.${s.env} ${s.element}: ${r.file} not removed: ${r.error?.message ?? 'failed'}`)
    }
  }

  for (const line of formatPruneStore(result)) out.log(line)
  for (const l of result.leftovers.filter((l) => l.status === 'failed')) {
    out.error(`✖ ${l.what} not removed: ${l.error?.message ?? 'failed'}`)
  }

  if (result.compact?.status === 'failed') {
    out.error(`✖ ${result.compact.command} failed: ${result.compact.error?.message ?? 'failed'}`)
  }

  out.log(formatPruneTotals(result))
  const stopped = formatPruneStopped(result)
  if (stopped) (result.stopped?.reason === 'max-delete' ? out.error : out.log)(stopped)
}
