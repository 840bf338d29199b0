import {parseCatalogId, parseFilename} from './filename.js'

/**
 * One time per backup, the same on every screen and in every --json document: the UTC time written
 * in its archive filenames (`alpha_live_2026-12-05T03-00-00_UTC_code.tar.gz`), which is what a person
 * sees in the bucket and in the folder, and the moment the backup run started. Pantheon's finish time
 * (`backup:list`'s `date`) differs per element by a minute or two; it is kept as a detail
 * (`Backup.finished`), never shown as the backup's time.
 *
 * Pantheon names every archive of one run (one folder) with the run's start, so the archives of a set
 * agree. If they ever did not (a set whose filenames carry different seconds), the set is known by the
 * earliest of them, when the run began, and each archive keeps its own time in the rows that show it.
 */
export function archiveTime(file: string, id?: string): Date | undefined {
  const named = parseFilename(file)?.date
  if (named) return named
  // A name without the usual date (very old or unusual): the folder's epoch is the same start time.
  const fromId = id === undefined ? undefined : parseCatalogId(id)
  return fromId ? new Date(fromId.epoch * 1000) : undefined
}

/** A set's time: the earliest time of its archives (they agree in practice, see archiveTime). */
export function setTime(archives: ReadonlyArray<{date: Date}>): Date {
  return new Date(Math.min(...archives.map((a) => a.date.getTime())))
}
