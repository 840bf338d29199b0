import chalk from 'chalk'

import type {VerifyResult, VerifySummary} from '../jobs/verify.js'
import type {ObjectStatus, TargetStatus} from '../plan/verify.js'
import type {ReportOutput} from './report.js'

import {plural} from '../util/plural.js'
import {fitTable, outputWidth} from './fit.js'
import {formatBytes, formatDuration, formatUtc} from './format.js'
import {wrapping} from './report.js'

const COLOUR: Record<ObjectStatus | TargetStatus, (text: string) => string> = {
  corrupt: chalk.red,
  error: chalk.red,
  gone: chalk.cyan,
  incomplete: chalk.red,
  missing: chalk.red,
  ok: chalk.green,
  repaired: chalk.green,
  stale: chalk.yellow,
  unverifiable: chalk.yellow,
}

/**
 * backup:verify's closing words: a table of the site.envs and objects that are not ok (what was
 * repaired too), a count of what is fine, what could not be verified (stderr), then the summary.
 */
export function reportVerify(
  to: ReportOutput,
  result: VerifyResult,
  options: {quiet?: boolean; width?: number} = {},
): void {
  const {width = outputWidth()} = options
  const out = wrapping(to, width)
  const targets = result.targets.filter((t) => t.status !== 'ok')
  const objects = result.objects.filter((o) => o.status !== 'ok')
  if (!options.quiet || targets.length > 0 || objects.length > 0) out.log('')
  if (targets.length > 0) {
    out.log(
      fitTable(
        targets.map((t) => [
          COLOUR[t.status](t.status),
          `${t.site}.${t.env}`,
          t.newest ? formatUtc(new Date(t.newest)) : '-',
          t.note ?? '',
        ]),
        {
          columns: [{}, {min: 16, order: 2, shrink: 'middle'}, {}, {min: 20, order: 1, shrink: 'wrap'}],
          header: ['STATUS', 'SITE.ENV', 'NEWEST', 'DETAIL'],
          width,
        },
      ),
    )
    out.log('')
  }

  if (objects.length > 0) {
    out.log(
      fitTable(
        objects.map((o) => [COLOUR[o.status](o.status), o.element, o.location, o.note ?? '']),
        {
          columns: [{}, {}, {min: 24, order: 2, shrink: 'middle'}, {min: 24, order: 1, shrink: 'wrap'}],
          header: ['STATUS', 'ELEMENT', 'WHERE', 'DETAIL'],
          width,
        },
      ),
    )
    out.log('')
  }

  // A store checked whole (a vault's restic check): what ran, and damage no archive row explains.
  for (const store of result.stores ?? []) {
    const verdict = store.status === 'ok' ? chalk.green('ok') : chalk.red(store.status)
    out.log(
      `${store.location}: ${store.command}: ${verdict}${store.damaged ? ` (${plural(store.damaged, 'archive')} in damaged packs)` : ''}`,
    )
    if (store.status === 'damaged') for (const line of store.problems) out.error(`✖ ${store.location}: ${line}`)
  }

  const fineTargets = result.targets.length - targets.length
  const fineObjects = result.objects.length - objects.length
  if (result.objects.length > 0 || result.targets.length > 0) {
    const gone = result.summary.gone > 0 ? `, ${result.summary.gone} gone from Pantheon (kept in the mirror)` : ''
    out.log(
      `${plural(fineObjects, 'object')} ok${result.targets.length > 0 ? `, ${plural(fineTargets, 'site.env')} ok${gone}` : ''}.`,
    )
  }

  for (const e of result.errors) {
    const where = e.location ?? (e.site ? `${e.site}.${e.env}` : '')
    out.error(`✖ could not verify${where ? ` ${where}` : ''}: ${e.message}`)
  }

  out.log(formatVerifySummary(result.summary))
}

/**
 * "12 objects checked (3 read back, 1.2 GB); 3 problems: 1 object missing, 1 object corrupt, 1 site.env
 * incomplete; 4 site.envs (1 gone from Pantheon, kept in the mirror) in 3s": each problem counted once,
 * as an object or as a site.env.
 */
export function formatVerifySummary(s: VerifySummary): string {
  const checked = `${plural(s.objects, 'object')} checked`
  const deep = s.deep
    ? ` (${s.read} read back${s.sample ? ` of sample ${s.sample}` : ''}, ${formatBytes(s.bytesRead)})`
    : ''
  const objects = (n: number, what: string) => (n ? `${plural(n, 'object')} ${what}` : '')
  const targets = (n: number, what: string) => (n ? `${plural(n, 'site.env')} ${what}` : '')
  const kinds = [
    objects(s.missing, 'missing'),
    objects(s.corrupt, 'corrupt'),
    objects(s.unverifiable, 'unverifiable'),
    targets(s.targetsMissing, 'missing'),
    targets(s.incomplete, 'incomplete'),
    targets(s.stale, 'stale'),
    s.storeProblems ? `${plural(s.storeProblems, 'store')} damaged` : '',
  ].filter(Boolean)
  const problems = s.problems === 0 ? 'no problems' : `${plural(s.problems, 'problem')}: ${kinds.join(', ')}`
  const extra = [
    s.repaired ? `${s.repaired} repaired` : '',
    s.errors ? `${s.errors} could not be verified` : '',
    s.foreign ? `${plural(s.foreign, 'object')} not pbm's left alone` : '',
  ].filter(Boolean)
  // backup:mirror --verify checks objects only: no site.envs to count.
  const gone = s.gone ? ` (${s.gone} gone from Pantheon, kept in the mirror)` : ''
  const siteEnvs = s.targets > 0 ? `; ${plural(s.targets, 'site.env')}${gone}` : ''
  return `${checked}${deep}; ${problems}${extra.length > 0 ? `; ${extra.join('; ')}` : ''}${siteEnvs} in ${formatDuration(s.seconds)}`
}
