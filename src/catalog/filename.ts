import {isElement} from './element.js'
import {isSiteName} from './names.js'
import {type Element, type Initiator} from './types.js'

export interface ParsedFilename {
  site: string
  /** Missing in very old filenames, which had no `_<env>` part. */
  env?: string
  /** The UTC time written in the filename (when the backup started, to the second). */
  date: Date
  element: Element
  /** Including the leading dot and both parts: `.tar.gz`, `.sql.gz` (whatever the name ends in). */
  extension: string
}

// Site and env names are lowercase letters, digits and hyphens (multidevs such as `pr-12` too), so
// `_` only separates fields; we still anchor on the right because the date, element and extension
// have fixed shapes while the left part changed over the years (old names lack the env).
const FILENAME =
  /^(?<prefix>[\da-z][\da-z_-]*?)_(?<y>\d{4})-(?<mo>\d{2})-(?<d>\d{2})T(?<h>\d{2})-(?<mi>\d{2})-(?<s>\d{2})_UTC_(?<element>code|files|database)(?<extension>(?:\.[\da-z]+){1,2})$/

/** Parse a Pantheon archive filename, or return undefined when it is not one. */
export function parseFilename(file: string): ParsedFilename | undefined {
  const m = FILENAME.exec(file)
  if (!m?.groups) return undefined
  const {prefix, y, mo, d, h, mi, s, element, extension} = m.groups
  const parts = prefix.split('_')
  if (parts.length > 2 || !parts.every((part) => isSiteName(part))) return undefined
  const date = utcDate(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s))
  if (!date) return undefined
  if (!isElement(element)) return undefined
  return {
    site: parts[0],
    ...(parts.length === 2 ? {env: parts[1]} : {}),
    date,
    element,
    extension,
  }
}

/** A real calendar date-time in UTC, or undefined (2024-02-30 is not one). */
export function utcDate(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): Date | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms))
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined
  return date
}

export interface ParsedCatalogId {
  /** `<epoch>_<backup|automated>`: shared by all elements of one backup run. */
  folder: string
  /** Seconds since 1970, as in the folder name (when the run started). */
  epoch: number
  initiator: Initiator
  element: Element
}

const CATALOG_ID = /^(?<folder>(?<epoch>\d+)_(?<kind>backup|automated))_(?<element>code|files|database)$/

/** Parse a catalog ID such as `1714533164_backup_database`, or return undefined. */
export function parseCatalogId(id: string): ParsedCatalogId | undefined {
  const m = CATALOG_ID.exec(id)
  if (!m?.groups) return undefined
  const {folder, epoch, kind, element} = m.groups
  if (!isElement(element)) return undefined
  return {folder, epoch: Number(epoch), initiator: kind === 'automated' ? 'automated' : 'manual', element}
}

/** The element named by a filename's `_<element>.` suffix, for names that parseFilename rejects. */
export function elementFromSuffix(file: string): Element | undefined {
  const element = /_(code|files|database)\.[^_]+$/.exec(file)?.[1]
  return isElement(element) ? element : undefined
}
