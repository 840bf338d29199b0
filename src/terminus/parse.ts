import {compareEnvironmentNames, isSiteName} from '../catalog/names.js'
import {type Environment, type Site} from './types.js'

/** Terminus prints `[]` for an empty list and an object keyed by ID otherwise; both become rows. */
export function rowsOf(json: unknown): Array<[string, Record<string, unknown>]> {
  if (Array.isArray(json)) {
    return json
      .filter((row): row is Record<string, unknown> => row !== null && typeof row === 'object')
      .map((row, i) => [String(row.id ?? row.name ?? i), row])
  }

  if (json === null || typeof json !== 'object')
    throw new TypeError(`expected a JSON object, got ${json === null ? 'null' : typeof json}`)
  return Object.entries(json as Record<string, unknown>).filter(
    (entry): entry is [string, Record<string, unknown>] => entry[1] !== null && typeof entry[1] === 'object',
  )
}

const text = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : ''

// Terminus's table formatter has printed booleans as true/false, "true"/"false" and 1/"" over the years.
const flag = (value: unknown): boolean => value === true || value === 1 || value === 'true' || value === '1'

export function siteFromRow(key: string, row: Record<string, unknown>): Site {
  const tags = text(row.tags)
  return {
    name: text(row.name) || key,
    id: text(row.id) || key,
    plan: text(row.plan_name),
    framework: text(row.framework),
    frozen: flag(row.frozen),
    tags: tags
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean),
  }
}

export function sitesFromList(json: unknown): Site[] {
  return (
    rowsOf(json)
      .map(([key, row]) => siteFromRow(key, row))
      // A name the adapter would refuse to pass back to Terminus is never offered (picker, --org).
      .filter((site) => isSiteName(site.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  )
}

/** env:list is keyed by env name; the standard three come first, in promotion order, then multidevs by name. */
export function environmentsFromList(json: unknown): Environment[] {
  return rowsOf(json)
    .map(([key, row]) => ({
      name: key,
      id: text(row.id) || key,
      initialized: flag(row.initialized),
      locked: flag(row.locked),
      connectionMode: text(row.connection_mode),
      domain: text(row.domain),
    }))
    .filter((env) => isSiteName(env.name))
    .sort((a, b) => compareEnvironmentNames(a.name, b.name))
}

/** `https://.../<file>?Expires=<epoch>&...`: when a signed URL stops working, if it says so. */
export function signedUrlExpiry(url: string): Date | undefined {
  try {
    const expires = new URL(url).searchParams.get('Expires')
    if (!expires || !/^\d+$/.test(expires)) return undefined
    return new Date(Number(expires) * 1000)
  } catch {
    return undefined
  }
}

/** `terminus --version`: `Terminus 3.6.1` (4.x alike). */
export interface TerminusVersion {
  major: number
  minor: number
  patch: number
  /** As printed, e.g. `3.6.1-dev`. */
  text: string
}

/** The version `terminus --version` printed, or undefined when it printed something else. */
export function parseTerminusVersion(stdout: string): TerminusVersion | undefined {
  const m = /\bTerminus\s+v?(\d+)\.(\d+)(?:\.(\d+))?([\w.+-]*)/i.exec(stdout)
  if (!m) return undefined
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]
  return {major, minor, patch, text: `${major}.${minor}${m[3] === undefined ? '' : `.${patch}`}${m[4]}`}
}

/**
 * Whether this Terminus reports a failed workflow (backup:create, import:*) as a failure: 3.5.0 and
 * newer print ` [error]  <reason> ` and exit 1; 3.0-3.4 run under `-n` print the success notice and
 * exit 0 whatever happened. An unknown version is not trusted.
 */
export function reportsWorkflowFailures(version: TerminusVersion | undefined): boolean {
  if (!version) return false
  return version.major > 3 || (version.major === 3 && version.minor >= 5)
}
