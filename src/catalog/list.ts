import {PbmError} from '../errors.js'
import {elementFromSuffix, parseCatalogId, parseFilename} from './filename.js'
import {isSafeFilename} from './names.js'
import {parseSize} from './size.js'
import {archiveTime} from './time.js'
import {type Backup, type Element, type Initiator} from './types.js'

/**
 * Backups from the parsed JSON of `terminus backup:list SITE.ENV --format=json`: an object keyed by
 * catalog ID, or `[]` when there are none. Entries whose element cannot be told (neither from the ID
 * nor the filename) are left out, since nothing could be done with them. The order is the input's:
 * Terminus promises none, so sort (groupIntoSets does).
 */
export function backupsFromList(site: string, env: string, json: unknown): Backup[] {
  if (Array.isArray(json)) {
    // Terminus prints `[]` for no backups; a non-empty array is not a shape it has ever printed.
    if (json.length === 0) return []
    throw unexpected('a non-empty array')
  }

  if (json === null || typeof json !== 'object') throw unexpected(json === null ? 'null' : typeof json)

  const backups: Backup[] = []
  for (const [id, value] of Object.entries(json as Record<string, unknown>)) {
    const backup = backupFromEntry(site, env, id, value)
    if (backup) backups.push(backup)
  }

  return backups
}

function backupFromEntry(site: string, env: string, id: string, value: unknown): Backup | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const row = value as Record<string, unknown>
  const file = typeof row.file === 'string' ? row.file : undefined
  // A name the engine would refuse (a path, `..`, spaces, control or bidi characters that would also
  // reach the terminal) is no Pantheon backup: leave it out before it is shown or offered in a picker.
  if (!file || !isSafeFilename(file)) return undefined

  const fromId = parseCatalogId(id)
  const fromName = parseFilename(file)
  const element: Element | undefined = fromId?.element ?? fromName?.element ?? elementFromSuffix(file)
  if (!element) return undefined

  const finished = epochToDate(row.date)
  const date = archiveTime(file, id) ?? finished
  if (!date) return undefined

  const sizeText = typeof row.size === 'number' ? String(row.size) : typeof row.size === 'string' ? row.size : '0'
  return {
    site,
    env,
    element,
    id,
    folder: fromId?.folder ?? folderFromId(id, element),
    file,
    date,
    ...(finished ? {finished} : {}),
    expiry: epochToDate(row.expiry) ?? null,
    initiator: initiatorOf(row.initiator, fromId?.initiator, id),
    sizeBytes: parseSize(sizeText) ?? 0,
    sizeText,
  }
}

/** Terminus prints epochs as float seconds (`1714533290.118402`); keep millisecond precision. */
export function epochToDate(value: unknown): Date | undefined {
  const seconds = typeof value === 'string' && /^\d+(?:\.\d+)?$/.test(value) ? Number(value) : value
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return undefined
  return new Date(Math.round(seconds * 1000))
}

function folderFromId(id: string, element: Element): string {
  const suffix = `_${element}`
  return id.endsWith(suffix) && id.length > suffix.length ? id.slice(0, -suffix.length) : id
}

function initiatorOf(value: unknown, fromId: Initiator | undefined, id: string): Initiator {
  if (value === 'manual' || value === 'automated') return value
  if (fromId) return fromId
  return id.includes('_automated') ? 'automated' : 'manual'
}

function unexpected(what: string): PbmError {
  return new PbmError('unexpected-output', `backup:list printed ${what} where a list of backups was expected.`)
}
