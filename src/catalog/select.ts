import {UsageError} from '../errors.js'
import {utcDate} from './filename.js'
import {compareSetsNewestFirst} from './sets.js'
import {type Backup, type BackupSet} from './types.js'

/** The newest set, whatever order `sets` is in. */
export function newestSet(sets: readonly BackupSet[]): BackupSet | undefined {
  return [...sets].sort(compareSetsNewestFirst)[0]
}

/**
 * The newest set whose time (the one in its filenames) is at or before `at`. A string goes through
 * parseDateInput, so `2024-05-01` means up to the end of that day (UTC).
 */
export function setAtOrBefore(sets: readonly BackupSet[], at: Date | string): BackupSet | undefined {
  const cutoff = typeof at === 'string' ? parseDateInput(at) : at
  return [...sets].sort(compareSetsNewestFirst).find((set) => set.date.getTime() <= cutoff.getTime())
}

/** The backup with exactly this filename or catalog ID, case-sensitive like `terminus backup:get --file`. */
export function findBackup(backups: readonly Backup[], fileOrId: string): Backup | undefined {
  return backups.find((b) => b.file === fileOrId) ?? backups.find((b) => b.id === fileOrId)
}

/**
 * Up to `n` filenames that look most like `query`, for a "did you mean" after findBackup fails:
 * names containing the query (ignoring case) first, then by edit distance to the name or catalog ID.
 */
export function nearestFilenames(backups: readonly Backup[], query: string, n = 3): string[] {
  const q = query.toLowerCase()
  const scored = new Map<string, {contains: boolean; distance: number}>()
  for (const b of backups) {
    const file = b.file.toLowerCase()
    const id = b.id.toLowerCase()
    const score = {
      contains: q.length > 0 && (file.includes(q) || id.includes(q)),
      distance: Math.min(editDistance(q, file), editDistance(q, id)),
    }
    const previous = scored.get(b.file)
    if (!previous || score.distance < previous.distance) scored.set(b.file, score)
  }

  return [...scored.entries()]
    .sort(
      ([fa, a], [fb, b]) =>
        Number(b.contains) - Number(a.contains) || a.distance - b.distance || (fa < fb ? -1 : fa > fb ? 1 : 0),
    )
    .slice(0, Math.max(0, n))
    .map(([file]) => file)
}

/**
 * Up to `n` of `names` nearest to a mistyped `query` (a flag, a site, an environment), for a "did you
 * mean": by edit distance (ignoring case), ties in the order given, none further than `maxDistance`
 * (default: a third of the query's length, at least 2), so that a guess is never far-fetched. The query
 * itself is left out unless `includeExact`.
 */
export function nearestNames(
  names: readonly string[],
  query: string,
  n = 3,
  options: {includeExact?: boolean; maxDistance?: number} = {},
): string[] {
  const q = query.toLowerCase()
  const maxDistance = options.maxDistance ?? Math.max(2, Math.floor(q.length / 3))
  return [...new Set(names)]
    .map((name, i) => ({distance: editDistance(q, name.toLowerCase()), i, name}))
    .filter((c) => c.distance <= maxDistance && (options.includeExact || c.name !== query))
    .sort((a, b) => a.distance - b.distance || a.i - b.i)
    .slice(0, Math.max(0, n))
    .map((c) => c.name)
}

/** Levenshtein distance, two rows at a time. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution)
    }

    previous = current
  }

  return previous[b.length]
}

const DATE_FORMS = 'YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], or epoch seconds'
const DATE_TIME =
  /^(?<y>\d{4})-(?<mo>\d{2})-(?<d>\d{2})(?:[ T](?<h>\d{2})[:-](?<mi>\d{2})(?:[:-](?<s>\d{2})(?:\.(?<frac>\d{1,9}))?)?)?(?:_UTC|\s*(?<zone>Z|UTC|[+-]\d{2}:?\d{2}))?$/i

/**
 * The latest instant that a date the user typed can mean, for "at or before" selection:
 * `2024-05-01` is the end of that day, `2024-05-01T03:12` the end of that minute. Times without a zone
 * are UTC, like Pantheon's filenames (whose `2024-05-01T03-12-44_UTC` form is accepted too).
 * Epoch seconds are exact.
 */
export function parseDateInput(text: string): Date {
  const input = text.trim()
  if (/^\d{9,11}(?:\.\d+)?$/.test(input)) return new Date(Math.round(Number(input) * 1000))
  const g = DATE_TIME.exec(input)?.groups
  const invalid = () => new UsageError(`Invalid date "${text}": use ${DATE_FORMS}.`, 'Times without a zone are UTC.')
  if (!g) throw invalid()

  // Round the stated precision up to its end: "at or before 2024-05-01" includes all of that day.
  const [precisionMs, ms] =
    g.h === undefined
      ? [86_400_000, 0]
      : g.s === undefined
        ? [60_000, 0]
        : g.frac === undefined
          ? [1000, 0]
          : [1, Math.floor(Number(`0.${g.frac}`) * 1000)]
  const start = utcDate(
    Number(g.y),
    Number(g.mo),
    Number(g.d),
    Number(g.h ?? 0),
    Number(g.mi ?? 0),
    Number(g.s ?? 0),
    ms,
  )
  if (!start) throw invalid()
  const offsetMs = zoneOffsetMs(g.zone)
  if (offsetMs === undefined) throw invalid()
  return new Date(start.getTime() - offsetMs + precisionMs - 1)
}

function zoneOffsetMs(zone: string | undefined): number | undefined {
  if (zone === undefined || /^(?:z|utc)$/i.test(zone)) return 0
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)
  if (!m) return undefined
  const hours = Number(m[2])
  const minutes = Number(m[3])
  if (hours > 14 || minutes > 59) return undefined
  return (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000
}
