import {setTime} from './time.js'
import {type Backup, type BackupSet, ELEMENTS} from './types.js'

/**
 * All archives of one backup run share a folder; people choose among runs, so group by folder and
 * sort newest first. Equal dates are ordered by folder name (then site and env) so the order never
 * depends on the API's.
 */
export function groupIntoSets(backups: readonly Backup[]): BackupSet[] {
  const byKey = new Map<string, Backup[]>()
  for (const backup of backups) {
    const key = `${backup.site}\u0000${backup.env}\u0000${backup.folder}`
    const group = byKey.get(key)
    if (group) group.push(backup)
    else byKey.set(key, [backup])
  }

  return [...byKey.values()].map((group) => toSet(group)).sort(compareSetsNewestFirst)
}

function toSet(group: Backup[]): BackupSet {
  const ordered = [...group].sort(
    (a, b) =>
      ELEMENTS.indexOf(a.element) - ELEMENTS.indexOf(b.element) ||
      b.date.getTime() - a.date.getTime() ||
      compareStrings(a.file, b.file),
  )
  const [first] = ordered
  const finishes = ordered.map((b) => b.finished?.getTime()).filter((t): t is number => t !== undefined)
  const expiries = ordered.map((b) => b.expiry?.getTime()).filter((t): t is number => t !== undefined)
  return {
    site: first.site,
    env: first.env,
    folder: first.folder,
    date: setTime(ordered),
    ...(finishes.length > 0 ? {finished: new Date(Math.max(...finishes))} : {}),
    initiator: first.initiator,
    expiry: expiries.length > 0 ? new Date(Math.min(...expiries)) : null,
    backups: ordered,
  }
}

/** Newest first; ties broken by folder (its epoch, then its text), site and env, newest/largest first. */
export function compareSetsNewestFirst(a: BackupSet, b: BackupSet): number {
  return (
    b.date.getTime() - a.date.getTime() ||
    folderEpoch(b.folder) - folderEpoch(a.folder) ||
    compareStrings(b.folder, a.folder) ||
    compareStrings(a.site, b.site) ||
    compareStrings(a.env, b.env)
  )
}

function folderEpoch(folder: string): number {
  const m = /^(\d+)_/.exec(folder)
  return m ? Number(m[1]) : 0
}

// Plain code-unit order: locale-independent, so the same input sorts the same everywhere.
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
