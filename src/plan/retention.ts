import {UsageError} from '../errors.js'
import {plural} from '../util/plural.js'

/**
 * Retention with restic's `forget` semantics (internal/restic/snapshot_policy.go, ApplyPolicy), on
 * the UTC timestamps of Pantheon's filenames. Pure: no I/O, no clock unless one is passed in.
 */

/** The counted rules, in restic's order (which is also the order of the reasons of one backup). */
export type BucketKind = 'daily' | 'hourly' | 'last' | 'monthly' | 'weekly' | 'yearly'
export const BUCKET_KINDS: readonly BucketKind[] = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly']

/** restic's Duration: calendar units, applied with calendar arithmetic (2m back from 31 May is 31 March). */
export interface RetentionDuration {
  years: number
  months: number
  days: number
  hours: number
}

export interface RetentionPolicy {
  /** How many of each period to keep; Infinity keeps every period (`unlimited`); 0 or absent: the rule is off. */
  counts: Partial<Record<BucketKind, number>>
  /** Keep everything newer than this much before the newest backup of the series. */
  within?: RetentionDuration
}

/** The policy as the command's flags give it (strings from the command line, numbers from code). */
export interface PolicyInput {
  keepLast?: number | string
  keepHourly?: number | string
  keepDaily?: number | string
  keepWeekly?: number | string
  keepMonthly?: number | string
  keepYearly?: number | string
  keepWithin?: string
}

const FLAG_OF: Record<BucketKind, Exclude<keyof PolicyInput, 'keepWithin'>> = {
  last: 'keepLast',
  hourly: 'keepHourly',
  daily: 'keepDaily',
  weekly: 'keepWeekly',
  monthly: 'keepMonthly',
  yearly: 'keepYearly',
}

/** Why one backup is kept. */
export type KeepReason =
  /** The newest backup of the nth period (counted newest first) of this kind that has a backup. */
  | {rule: 'bucket'; bucket: BucketKind; nth: number}
  /** The oldest backup, kept because the count of this kind was not filled (restic's "oldest"). */
  | {rule: 'oldest'; bucket: BucketKind}
  /** Newer than the newest backup minus the duration. */
  | {rule: 'within'; duration: RetentionDuration}
  /** pbm's own guard: the newest backup of a series is never removed (restic's rules already keep it). */
  | {rule: 'newest'}
  /**
   * Dated more than SUSPECT_AHEAD_MS after the run's clock: no real backup is, so its date is not
   * trusted. Kept, and never the newest, the anchor of `within`, or one of a count.
   */
  | {rule: 'suspect'}

export interface KeptItem<T> {
  item: T
  reasons: KeepReason[]
}

export interface RetentionResult<T> {
  /** Newest first. */
  keep: Array<KeptItem<T>>
  /** Newest first. */
  remove: T[]
}

/** `--keep-within` and restic's duration grammar: `<n>y`, `<n>m` (months), `<n>d`, `<n>h`, in any order. */
export function parseDuration(text: string, flag = '--keep-within'): RetentionDuration {
  const input = text.trim()
  const duration: RetentionDuration = {years: 0, months: 0, days: 0, hours: 0}
  const unitOf: Record<string, keyof RetentionDuration> = {y: 'years', m: 'months', d: 'days', h: 'hours'}
  const seen = new Set<string>()
  const hint = 'A duration is a number of years, months, days and hours, such as 45d, 2y3m, 12h or 1y2m3d4h.'
  if (input === '') throw new UsageError(`${flag} needs a duration.`, hint)
  // restic takes each number with the unit that follows it; `w` (weeks) is not a unit there either.
  const part = /(\d+)([a-z]?)/gy
  let at = 0
  for (let m = part.exec(input); m; m = part.exec(input)) {
    const [, digits, unit] = m
    if (!unit) throw new UsageError(`${flag} ${text}: no unit after the number ${digits}.`, hint)
    const key = unitOf[unit]
    if (!key) throw new UsageError(`${flag} ${text}: "${unit}" is not a unit (y, m, d or h).`, hint)
    // restic lets a later `3d` silently replace an earlier `2d`; a typo like that should not decide deletions.
    if (seen.has(unit)) throw new UsageError(`${flag} ${text}: "${unit}" appears twice.`, hint)
    seen.add(unit)
    duration[key] = Number(digits)
    if (!Number.isSafeInteger(duration[key])) throw new UsageError(`${flag} ${text}: ${digits} is too large.`, hint)
    at = part.lastIndex
  }

  if (at !== input.length) {
    throw new UsageError(`${flag} ${text} is not a duration.`, hint)
  }

  return duration
}

/** restic's spelling: `2y3m`, `45d`, `1y2m3d4h`. */
export function formatDuration(d: RetentionDuration): string {
  const text = `${d.years ? `${d.years}y` : ''}${d.months ? `${d.months}m` : ''}${d.days ? `${d.days}d` : ''}${d.hours ? `${d.hours}h` : ''}`
  return text || '0h'
}

export function isZeroDuration(d: RetentionDuration): boolean {
  return d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0
}

/** A count: a whole number >= 0, or `unlimited` (restic also reads -1 as unlimited). */
export function parseCount(value: number | string, flag: string): number {
  const text = String(value).trim().toLowerCase()
  if (text === 'unlimited' || text === '-1') return Number.POSITIVE_INFINITY
  if (/^\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text)
  throw new UsageError(`${flag} ${value} is not a count.`, `Give a whole number (0 turns the rule off) or "unlimited".`)
}

/** The policy from the command's flags; a policy that keeps nothing by any rule is a usage error. */
export function parsePolicy(input: PolicyInput): RetentionPolicy {
  const policy: RetentionPolicy = {counts: {}}
  for (const kind of BUCKET_KINDS) {
    const value = input[FLAG_OF[kind]]
    if (value === undefined || value === '') continue
    const count = parseCount(value, `--keep-${kind}`)
    if (count > 0) policy.counts[kind] = count
  }

  if (input.keepWithin !== undefined && input.keepWithin !== '') {
    const within = parseDuration(input.keepWithin)
    if (!isZeroDuration(within)) policy.within = within
  }

  checkPolicy(policy)
  return policy
}

export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return (
    BUCKET_KINDS.every((kind) => !((policy.counts[kind] ?? 0) > 0)) &&
    (policy.within === undefined || isZeroDuration(policy.within))
  )
}

function checkPolicy(policy: RetentionPolicy): void {
  if (isEmptyPolicy(policy)) {
    // restic keeps everything on an empty policy; for a command that deletes, say so instead.
    throw new UsageError(
      'No retention policy: give at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly (a count above 0) or --keep-within (a duration above 0).',
      'For example: --keep-daily 7 --keep-weekly 4 --keep-monthly 6.',
    )
  }
}

/**
 * restic's summary line, in English that agrees with its numbers: `keep 1 last backup`,
 * `keep 7 daily, 4 weekly, 6 monthly backups and all within 45d of the newest`.
 */
export function describePolicy(policy: RetentionPolicy): string {
  const countOf = (kind: BucketKind) => policy.counts[kind] ?? 0
  const amount = (n: number) => (n === Number.POSITIVE_INFINITY ? 'all' : String(n))
  const parts: string[] = []
  const last = countOf('last')
  if (last === Number.POSITIVE_INFINITY) parts.push('all backups')
  else if (last > 0) parts.push(plural(last, 'last backup'))
  const periods = BUCKET_KINDS.filter((kind) => kind !== 'last' && countOf(kind) > 0)
  if (periods.length > 0) {
    const only = periods.length === 1 ? countOf(periods[0]) : Number.NaN
    const noun = only === 1 ? 'backup' : 'backups'
    parts.push(`${periods.map((kind) => `${amount(countOf(kind))} ${kind}`).join(', ')} ${noun}`)
  }

  if (policy.within && !isZeroDuration(policy.within)) {
    parts.push(`all within ${formatDuration(policy.within)} of the newest`)
  }

  const head = parts.slice(0, -1).join(', ')
  return `keep ${head ? `${head} and ${parts.at(-1)}` : parts[0]}`
}

/** `daily #3`, `oldest (daily count not filled)`, `within 45d`, `newest`. */
export function reasonText(reason: KeepReason): string {
  switch (reason.rule) {
    case 'bucket': {
      return `${reason.bucket} #${reason.nth}`
    }

    case 'oldest': {
      return `oldest (${reason.bucket} count not filled)`
    }

    case 'within': {
      return `within ${formatDuration(reason.duration)}`
    }

    case 'newest': {
      return 'newest'
    }

    case 'suspect': {
      return 'dated in the future: not trusted, kept'
    }
  }
}

/** Period keys, as restic's ymdh/ymd/yw/ym/y, from the UTC calendar. */
export function periodOf(kind: Exclude<BucketKind, 'last'>, date: Date): number {
  const y = date.getUTCFullYear()
  const m = date.getUTCMonth() + 1
  const d = date.getUTCDate()
  switch (kind) {
    case 'hourly': {
      return y * 1_000_000 + m * 10_000 + d * 100 + date.getUTCHours()
    }

    case 'daily': {
      return y * 10_000 + m * 100 + d
    }

    case 'weekly': {
      const {week, year} = isoWeek(date)
      return year * 100 + week
    }

    case 'monthly': {
      return y * 100 + m
    }

    case 'yearly': {
      return y
    }
  }
}

/** ISO 8601 week (Monday first; week 1 holds the year's first Thursday) and its week-year, in UTC. */
export function isoWeek(date: Date): {year: number; week: number} {
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate())
  const weekday = (new Date(day).getUTCDay() + 6) % 7 // Monday 0 ... Sunday 6
  const thursday = new Date(day + (3 - weekday) * 86_400_000)
  const year = thursday.getUTCFullYear()
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1
  return {year, week}
}

/** The moment `duration` before `date`, as Go's AddDate (normalizing, e.g. 31 March - 1m = 3 March) then hours. */
export function subtractDuration(date: Date, duration: RetentionDuration): Date {
  const shifted = Date.UTC(
    date.getUTCFullYear() - duration.years,
    date.getUTCMonth() - duration.months,
    date.getUTCDate() - duration.days,
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    date.getUTCMilliseconds(),
  )
  return new Date(shifted - duration.hours * 3_600_000)
}

/** How far after the run's clock a backup may be dated (clock skew) before its date is not trusted. */
export const SUSPECT_AHEAD_MS = 86_400_000

/** A backup dated more than a day after `now`: no real backup is (see the 'suspect' reason). */
export function isSuspect(date: Date, now: Date): boolean {
  return date.getTime() > now.getTime() + SUSPECT_AHEAD_MS
}

/**
 * Which backups of one series to keep, and why; the others are to be removed. As restic's
 * ApplyPolicy: walk the series newest first; each counted rule keeps a backup when it falls in a
 * period (hour, day, ISO week, month, year; every backup for `last`) other than that of the last
 * backup the rule kept, while the rule has counts left; on the oldest backup a rule with counts left
 * keeps it even in an already kept period ("oldest"). `within` keeps what is strictly newer than the
 * newest backup minus the duration. The rules are OR-ed.
 *
 * `now`, when given, guards against a bogus date: a backup dated more than a day after it is
 * `suspect`, kept for that reason alone, and left out of every rule (it is not the newest, not the
 * anchor of `within`, not one of a count), so one object named like a backup from the future cannot
 * make the real ones expire. pbm's commands always pass it; restic's own guard (the anchor of
 * `within` is the newest backup before `now`) holds within that day.
 */
export function applyRetention<T extends {date: Date}>(
  items: readonly T[],
  policy: RetentionPolicy,
  options: {now?: Date} = {},
): RetentionResult<T> {
  checkPolicy(policy)
  // Newest first; a stable sort keeps equal times in their given order (as restic's sort.Stable).
  const sorted = items
    .map((item, index) => ({item, index, time: item.date.getTime()}))
    .sort((a, b) => b.time - a.time || a.index - b.index)
  const keep: Array<KeptItem<T>> = []
  const remove: T[] = []
  const {now} = options
  const suspect = now ? sorted.filter(({item}) => isSuspect(item.date, now)) : []
  for (const {item} of suspect) keep.push({item, reasons: [{rule: 'suspect'}]})
  const list = suspect.length > 0 ? sorted.filter(({item}) => !isSuspect(item.date, now!)) : sorted
  if (list.length === 0) return {keep, remove}

  const buckets = BUCKET_KINDS.map((kind) => ({kind, left: policy.counts[kind] ?? 0, last: -1, kept: 0}))
  const within = policy.within && !isZeroDuration(policy.within) ? policy.within : undefined
  let threshold: number | undefined
  if (within) {
    const nowTime = now?.getTime() ?? Number.POSITIVE_INFINITY
    // restic: the newest backup that is not in the future (the zero time when every one is).
    let latest = Number.NEGATIVE_INFINITY
    for (const {time} of list) if (time > latest && time < nowTime) latest = time
    threshold = Number.isFinite(latest) ? subtractDuration(new Date(latest), within).getTime() : latest
  }

  const oldest = list.length - 1
  for (const [nr, {item, time}] of list.entries()) {
    const reasons: KeepReason[] = []
    if (within && time > threshold!) reasons.push({rule: 'within', duration: within})
    for (const b of buckets) {
      if (!(b.left > 0)) continue
      const period = b.kind === 'last' ? nr : periodOf(b.kind, item.date)
      if (period === b.last && nr !== oldest) continue
      reasons.push(
        period === b.last ? {rule: 'oldest', bucket: b.kind} : {rule: 'bucket', bucket: b.kind, nth: ++b.kept},
      )
      b.last = period
      b.left--
    }

    // Never reached with a valid policy (every counted rule keeps the newest; `within` always covers
    // it), but it is pbm's promise, so it does not rest on that reasoning alone.
    if (nr === 0 && reasons.length === 0) reasons.push({rule: 'newest'})
    if (reasons.length > 0) keep.push({item, reasons})
    else remove.push(item)
  }

  return {keep, remove}
}
