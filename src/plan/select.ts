import type {Backup, BackupSet, Element} from '../catalog/types.js'

import {ELEMENTS, findBackup, groupIntoSets, nearestFilenames, parseDateInput, setAtOrBefore} from '../catalog/index.js'
import {PbmError} from '../errors.js'
import {formatUtc} from '../util/utc.js'

/** How the user said which backup: at most one of these ways is used, in this order. */
export interface BackupChoice {
  files?: string[]
  at?: Date
  latest?: boolean
}

export function hasBackupChoice(choice: BackupChoice): boolean {
  return Boolean(choice.files?.length) || choice.at !== undefined || Boolean(choice.latest)
}

/**
 * The archives one `backup:pick` transfers. `--file` names archives (exact filename or catalog ID, as
 * Terminus takes them) and transfers just those. `--latest` and `--at` without `--element` take a whole
 * set (the newest, or the newest whose time is at or before the date); with `--element`, the newest
 * archive of each element, as `terminus backup:get --element` does, so a newer db-only set does not
 * hide the last code and files. Times are the catalog's one backup time (the filenames'), so `--at`
 * agrees with what every list shows, and a set is taken whole or not at all.
 */
export function selectBackups(backups: Backup[], choice: BackupChoice, elements?: Element[]): Backup[] {
  if (choice.files?.length) {
    const picked = choice.files.map((name) => {
      const found = findBackup(backups, name)
      if (!found) throw unknownFile(backups, name)
      return found
    })
    return dedupe(picked)
  }

  const at = choice.at ?? new Date(8.64e15)
  if (elements?.length) {
    const chosen = newestPerElement(
      backups.filter((b) => b.date.getTime() <= at.getTime()),
      elements,
    )
    const missing = elements.filter((el) => !chosen.some((b) => b.element === el))
    if (missing.length > 0) throw noBackups(backups, choice, missing)
    return chosen
  }

  const set = setAtOrBefore(groupIntoSets(backups), at)
  if (!set) throw noBackups(backups, choice)
  return set.backups
}

/** The newest archive of each wanted element, in the order code, files, database. */
export function newestPerElement(backups: Backup[], elements: Element[]): Backup[] {
  const newest = new Map<Element, Backup>()
  for (const set of groupIntoSets(backups.filter((b) => elements.includes(b.element)))) {
    for (const backup of set.backups) if (!newest.has(backup.element)) newest.set(backup.element, backup)
  }

  return ELEMENTS.filter((el) => newest.has(el)).map((el) => newest.get(el) as Backup)
}

function noBackups(backups: Backup[], choice: BackupChoice, missing?: Element[]): PbmError {
  const first = backups[0]
  const where = first ? `${first.site}.${first.env}` : 'this environment'
  const what = missing ? `${missing.join(' or ')} backup` : 'backup'
  return new PbmError(
    'no-backups',
    choice.at ? `No ${what} of ${where} at or before ${formatUtc(choice.at)}.` : `No ${what} of ${where}.`,
    {hint: choice.at ? 'Pick a later --at date, or --latest.' : `Create one with: terminus backup:create ${where}`},
  )
}

/** The archives of a set for the wanted elements; asking for an element the set lacks is an error. */
export function narrowToElements(set: BackupSet, elements?: Element[]): Backup[] {
  if (!elements?.length) return set.backups
  const chosen = set.backups.filter((b) => elements.includes(b.element))
  const missing = elements.filter((el) => !set.backups.some((b) => b.element === el))
  if (missing.length > 0) {
    const present = set.backups.map((b) => b.element).join(', ')
    throw new PbmError(
      'missing-element',
      `The backup ${set.folder} of ${set.site}.${set.env} has no ${missing.join(' or ')} archive (it has: ${present}).`,
      {hint: 'Choose another backup, or leave out --element to take what it has.'},
    )
  }

  return chosen
}

/**
 * What `backup:mirror` takes from one site.env: by default the newest archive of each wanted element
 * (what the seed script's `terminus backup:get --element` took; after --create, the new set); with
 * `all`, every listed archive (whose time is at or after `since`). An element with no backup at all is not
 * an error here.
 */
export function selectForMirror(
  backups: Backup[],
  options: {all?: boolean; elements: Element[]; since?: Date},
): Backup[] {
  const wanted = backups.filter((b) => options.elements.includes(b.element))
  if (options.all) {
    const since = options.since?.getTime() ?? Number.NEGATIVE_INFINITY
    return groupIntoSets(wanted)
      .flatMap((set) => set.backups)
      .filter((b) => b.date.getTime() >= since)
  }

  return newestPerElement(wanted, options.elements)
}

function unknownFile(backups: Backup[], name: string): PbmError {
  const near = nearestFilenames(backups, name, 3)
  const where = backups[0] ? ` of ${backups[0].site}.${backups[0].env}` : ''
  return new PbmError('unknown-file', `Could not find a backup${where} identified by ${name}.`, {
    hint: near.length > 0 ? `Did you mean: ${near.join(', ')}?` : 'List them with: terminus backup:list <site>.<env>',
  })
}

function dedupe(backups: Backup[]): Backup[] {
  return [...new Map(backups.map((b) => [b.id, b])).values()]
}

/**
 * `--since DATE`: the earliest instant the date can mean (`2024-05-01` is the start of that day, UTC),
 * the mirror image of `--at`, which catalog's parseDateInput rounds up to the end.
 */
export function parseSinceInput(text: string): Date {
  const trimmed = text.trim()
  if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) {
    const endOfDay = parseDateInput(trimmed)
    return new Date(endOfDay.getTime() - 86_400_000 + 1)
  }

  const end = parseDateInput(trimmed)
  return new Date(Math.floor(end.getTime() / 1000) * 1000)
}

/** Pantheon no longer keeps a backup past its expiry: refuse it with advice rather than fail mid-way. */
export function checkNotExpired(backups: Backup[], now = Date.now()): void {
  const expired = backups.find((b) => b.expiry && b.expiry.getTime() < now)
  if (expired) {
    throw new PbmError(
      'expired',
      `The backup ${expired.file} expired on ${expired.expiry?.toISOString()}: Pantheon no longer keeps it.`,
      {hint: 'Choose a newer backup (--latest), or create one with terminus backup:create.'},
    )
  }
}
