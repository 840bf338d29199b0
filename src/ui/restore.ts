import chalk from 'chalk'

import type {RestoredArchive, RestoreResult, SiteEnvRef} from '../jobs/results.js'
import type {ReportOutput} from './report.js'

import {fitPhrases, fitTable, outputWidth, wrapLine} from './fit.js'
import {formatBytes, formatDuration, formatUtc} from './format.js'
import {wrapping} from './report.js'

/** The Terminus command an import runs, its URL shown as a placeholder (the real one is a secret). */
export function importCommand(element: string, target: SiteEnvRef): string {
  const command = element === 'database' ? 'import:database' : 'import:files'
  return `terminus ${command} ${target.site}.${target.env} <presigned URL>`
}

export interface RestorePlanView {
  target: SiteEnvRef
  source: SiteEnvRef
  archives: Array<{element: string; file: string; size: number; from: string; date: Date}>
  backupFirst: boolean
  /** The URL's lifetime, in seconds. */
  expiresInSeconds: number
  /** `s3://bucket/prefix` for a local mirror's stage. */
  stage?: string
}

/**
 * What a restore will do, step by step, as a person confirms it and as --dry-run prints it: the
 * commands that run, with the URL redacted and its lifetime stated.
 */
export function describeRestorePlan(view: RestorePlanView, width = outputWidth()): string {
  const target = `${view.target.site}.${view.target.env}`
  const elements = [...new Set(view.archives.map((a) => a.element))]
  const lines = [
    '',
    fitPhrases(
      [
        `Restore into ${chalk.bold(target)}`,
        `from the mirror's backup of ${view.source.site}.${view.source.env} of ${backupTimes(view)}:`,
      ],
      width,
    ),
    fitTable(
      view.archives.map((a) => [a.element, a.file, formatBytes(a.size), `(${a.from})`]),
      {
        columns: [{}, {min: 24, order: 1, shrink: 'middle'}, {}, {min: 40, order: 2, shrink: 'middle'}],
        indent: '  ',
        width,
      },
    ),
    '',
    'Steps:',
  ]
  let step = 1
  if (view.backupFirst) {
    const element = elements.length === 1 ? elements[0] : 'all'
    lines.push(`  ${step++}. terminus backup:create ${target} --element=${element}   (a backup of ${target} first)`)
  }

  for (const a of view.archives) {
    if (view.stage) lines.push(`  ${step++}. upload ${a.file} to ${view.stage} (deleted after the import)`)
    lines.push(
      `  ${step++}. ${importCommand(a.element, view.target)}   (URL valid ${formatDuration(view.expiresInSeconds)}; ${a.element === 'database' ? `drops the database of ${target}` : `replaces the files of ${target}`})`,
    )
  }

  lines.push('')
  // A step too long for the terminal wraps at its words, under its text.
  return lines.flatMap((line) => wrapLine(line, width, '     ')).join('\n')
}

/** The backup's one time (catalog/time.ts), or each element's when they come from different backups. */
function backupTimes(view: RestorePlanView): string {
  const times = [...new Set(view.archives.map((a) => formatUtc(a.date)))]
  return times.length === 1 ? times[0] : view.archives.map((a) => `${formatUtc(a.date)} (${a.element})`).join(', ')
}

const WORKFLOW_COLOUR: Record<RestoredArchive['workflow'], (text: string) => string> = {
  failed: chalk.red,
  'not-run': chalk.yellow,
  planned: chalk.cyan,
  saved: chalk.green,
  succeeded: chalk.green,
  unchanged: chalk.green,
}

/** backup:restore's closing words: the backup made first, each import's outcome, failures and leftovers. */
export function reportRestore(to: ReportOutput, result: RestoreResult, width = outputWidth()): void {
  const out = wrapping(to, width)
  const {backupFirst} = result
  out.log('')
  // --output imports nothing: there is no target, and no backup of one.
  if (backupFirst.target) reportBackupFirst(out, backupFirst)
  out.log(
    fitTable(
      result.restored.map((r) => [
        WORKFLOW_COLOUR[r.workflow](r.workflow),
        r.element,
        `${r.site}.${r.env} → ${r.target}`,
        r.file,
        r.workflow === 'succeeded' || r.workflow === 'saved' ? formatDuration(r.seconds) : '',
      ]),
      {
        columns: [{}, {}, {min: 16, order: 2, shrink: 'middle'}, {min: 20, order: 1, shrink: 'middle'}],
        header: [backupFirst.target ? 'WORKFLOW' : 'OUTPUT', 'ELEMENT', 'FROM → INTO', 'ARCHIVE', 'TIME'],
        width,
      },
    ),
  )
  for (const r of result.restored.filter((r) => r.workflow === 'failed' && r.error?.code !== 'interrupted'))
    out.error(`✖ ${r.target} ${r.element}: ${r.error?.message}`)
  for (const warning of result.warnings ?? []) out.error(`✖ ${warning}`)
}

function reportBackupFirst(out: ReportOutput, backupFirst: RestoreResult['backupFirst']): void {
  switch (backupFirst.status) {
    case 'created': {
      out.log(`Backup of ${backupFirst.target} created first (${formatDuration(backupFirst.seconds)}).`)
      break
    }

    case 'skipped': {
      out.log(`No backup of ${backupFirst.target} was made first.`)
      break
    }

    case 'failed': {
      out.error(`✖ The backup of ${backupFirst.target} failed, so nothing was imported: ${backupFirst.error?.message}`)
      break
    }

    default: {
      out.log(`Would create a backup of ${backupFirst.target} first.`)
    }
  }
}
