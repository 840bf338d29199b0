import chalk from 'chalk'

import type {Backup} from '../catalog/types.js'
import type {MirrorTargets} from '../jobs/mirror.js'
import type {ArchiveResult, MirrorResult, PickResult, RunSummary} from '../jobs/results.js'
import type {DestinationChoice} from '../plan/destination.js'

import {scrubUrl} from '../restic/index.js'
import {plural} from '../util/plural.js'
import {fitPhrases, fitTable, outputWidth, wrapLine} from './fit.js'
import {formatBytes, formatDuration, formatRate, formatUtc} from './format.js'

const STATUS_COLOUR: Record<ArchiveResult['status'], (text: string) => string> = {
  failed: chalk.red,
  planned: chalk.cyan,
  skipped: chalk.yellow,
  transferred: chalk.green,
}

/**
 * The final table: what landed where, how big, with which verified checksum; failures with reasons.
 * At a terminal narrower than the table, the MD5s give way first (to their first 8 digits), then the
 * locations (shortened in the middle), then each location takes a line of its own; piped output and
 * --json always have them whole.
 */
export function formatResults(results: ArchiveResult[], width = outputWidth()): string {
  if (results.length === 0) return 'Nothing to transfer.'
  const rows = sortResults(results).map((r) => [
    STATUS_COLOUR[r.status](r.status),
    r.element,
    r.location,
    r.bytes === undefined ? '' : formatBytes(r.bytes),
    r.md5 ? `md5 ${r.md5}` : '',
  ])
  const fitted = fitTable(rows, {
    columns: [{}, {}, {min: 40, order: 2, shrink: 'middle'}, {}, {atOnce: true, min: 13, order: 1, shrink: 'end'}],
    header: ['STATUS', 'ELEMENT', 'WHERE', 'SIZE', 'VERIFIED'],
    width,
  })
  const failures = results
    .filter((r) => r.status === 'failed' && r.error?.code !== 'interrupted')
    .map((r) => `${chalk.red('✖')} ${r.site}.${r.env} ${r.element} → ${r.location}: ${r.error?.message ?? 'failed'}`)
  const notes = [
    ...results.filter((r) => r.note && r.status === 'transferred').map((r) => `  ${r.file}: ${r.note}`),
    // What Ctrl-C kept: the next run resumes from it.
    ...results.filter((r) => r.kept && r.error).map((r) => `  ${r.file}: ${r.error!.message}`),
  ]
  return [fitted, ...failures, ...notes].join('\n')
}

/**
 * "3 transferred, 0 skipped, 0 failed; 150 MB to 2 destinations in 4s (37.5 MB/s)": the bytes are the
 * archives' (each downloaded once, however many destinations it was written to).
 */
export function formatSummary(summary: RunSummary, destinations = 1): string {
  const parts = [`${summary.transferred} transferred`, `${summary.skipped} skipped`, `${summary.failed} failed`]
  if (summary.interrupted) {
    const kept = summary.partialsKept
      ? `${plural(summary.partialsKept, 'partial download')} kept, the next run resumes ${summary.partialsKept === 1 ? 'it' : 'them'}`
      : 'nothing of them was kept'
    parts[2] = `${summary.failed} failed (${summary.interrupted} interrupted: ${kept})`
  }

  if (summary.planned) parts.push(`${summary.planned} planned`)
  const to = destinations > 1 ? ` to ${plural(destinations, 'destination')}` : ''
  return `${parts.join(', ')}; ${formatBytes(summary.bytes)}${to} in ${formatDuration(summary.seconds)} (${formatRate(summary.bytesPerSecond)})`
}

/** How many destinations a run wrote to (S3, a folder, or both). */
function destinationCount(archives: ArchiveResult[]): number {
  return new Set(archives.filter((a) => a.status === 'transferred').map((a) => a.destination)).size
}

const ELEMENT_ORDER = ['code', 'files', 'database']

/** Stable order for people: by site.env, newest backup first, code/files/database, S3 before local. */
export function sortResults(results: ArchiveResult[]): ArchiveResult[] {
  return [...results].sort(
    (a, b) =>
      a.site.localeCompare(b.site) ||
      a.env.localeCompare(b.env) ||
      b.folder.localeCompare(a.folder) ||
      ELEMENT_ORDER.indexOf(a.element) - ELEMENT_ORDER.indexOf(b.element) ||
      b.destination.localeCompare(a.destination),
  )
}

/** The summary a person confirms before an interactive transfer: what, how big, where to. */
export function describePlan(backups: Backup[], destination: DestinationChoice, width = outputWidth()): string {
  const total = backups.reduce((sum, b) => sum + b.sizeBytes, 0)
  const times = [...new Set(backups.map((b) => formatUtc(b.date)))]
  return [
    '',
    fitPhrases(
      [
        `${plural(backups.length, 'archive')} of the backup of ${times.join(' and ')}, about ${formatBytes(total)},`,
        `to ${describeDestination(destination)}:`,
      ],
      width,
    ),
    fitTable(
      backups.map((b) => [b.element, b.file, formatBytes(b.sizeBytes)]),
      {columns: [{}, {min: 16, shrink: 'middle'}], indent: '  ', width},
    ),
    '',
  ].join('\n')
}

/** "s3://bucket/prefix/ and /srv/backups" */
function describeDestination(destination: DestinationChoice): string {
  return [
    destination.s3 ? `s3://${destination.s3.bucket}/${destination.s3.prefix}` : '',
    destination.local ? destination.local.path : '',
    destination.restic ? `the vault ${scrubUrl(destination.restic.repo)}` : '',
  ]
    .filter(Boolean)
    .join(' and ')
}

/**
 * What backup:mirror will do, as a person confirms it: which site.envs (or which organization), which
 * backups and elements, and where to.
 */
export function describeMirrorPlan(plan: {
  all: boolean
  create: boolean
  destination: DestinationChoice
  elements: readonly string[]
  targets: MirrorTargets
}): string {
  const backups = plan.create
    ? 'a new backup (created first)'
    : plan.all
      ? 'every backup not yet mirrored'
      : 'the newest backup set'
  const what = `${backups} (${plan.elements.join(', ')})`
  const where = `to ${describeDestination(plan.destination)}`
  if (!Array.isArray(plan.targets)) {
    const {envs, org, tag} = plan.targets
    return [
      '',
      `Mirror ${what} of ${envs.join(', ')} of every site of ${org}${tag ? ` tagged ${tag}` : ''}`,
      where,
      '',
    ].join('\n')
  }

  const bySite = new Map<string, string[]>()
  for (const t of plan.targets) bySite.set(t.site, [...(bySite.get(t.site) ?? []), t.env])
  const width = Math.max(...[...bySite.keys()].map((site) => site.length))
  return [
    '',
    `Mirror ${what} of ${plural(plan.targets.length, 'site.env')}:`,
    ...[...bySite].map(([site, envs]) => `  ${site.padEnd(width)}  ${envs.join(', ')}`),
    where,
    '',
  ].join('\n')
}

/** Where a report goes: results on stdout, failures on stderr (as oclif's log and logToStderr). */
export interface ReportOutput {
  log(line: string): void
  error(line: string): void
}

/**
 * `out` with every stdout line too long for the terminal wrapped at its words (tables arrive fitted;
 * this catches the sentences). Piped output (width 0) is left as it is.
 */
export function wrapping(out: ReportOutput, width = outputWidth()): ReportOutput {
  return {
    error: (line) => out.error(line),
    log(text) {
      for (const line of wrapLine(text, width)) out.log(line)
    },
  }
}

/** backup:pick's closing words: the table of what landed where, then the summary. */
export function reportPick(to: ReportOutput, result: PickResult, options: {dryRun?: boolean} = {}): void {
  const out = wrapping(to)
  if (options.dryRun) {
    out.log(formatResults(result.archives))
    return
  }

  out.log('')
  out.log(formatResults(result.archives))
  out.log('')
  out.log(formatSummary(result.summary, destinationCount(result.archives)))
}

/**
 * backup:mirror's closing words: the table (not with --quiet), skipped site.envs, failures on stderr
 * (each archive's with --quiet, since the table is left out), the summary, and a word on --fail-fast.
 */
export function reportMirror(to: ReportOutput, result: MirrorResult, options: {quiet?: boolean} = {}): void {
  const out = wrapping(to)
  const {archives, targets} = result
  if (!options.quiet) {
    out.log('')
    // "Nothing to transfer." is not true of a site.env that failed before its archives were known.
    if (archives.length > 0 || !targets.some((t) => t.status === 'failed')) out.log(formatResults(archives))
    for (const t of targets.filter((t) => t.status === 'skipped')) out.log(`- ${t.site}.${t.env}: skipped, ${t.note}`)
  }

  const failedBeforeArchives = targets.filter(
    (t) =>
      t.status === 'failed' && !archives.some((a) => a.site === t.site && a.env === t.env && a.status === 'failed'),
  )
  for (const t of failedBeforeArchives) out.error(`✖ ${t.site}.${t.env}: ${t.error?.message}`)
  if (options.quiet) {
    for (const a of archives.filter((a) => a.status === 'failed'))
      out.error(`✖ ${a.site}.${a.env} ${a.element}: ${a.error?.message}`)
  }

  out.log('')
  out.log(formatSummary(result.summary, destinationCount(archives)))
  if (result.stoppedEarly) out.log('Stopped at the first failure (--fail-fast).')
}
