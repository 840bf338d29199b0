/** The three parts of a Pantheon backup. Terminus also accepts `db`, which means `database`. */
export type Element = 'code' | 'database' | 'files'

export const ELEMENTS: readonly Element[] = ['code', 'files', 'database']

export type Initiator = 'automated' | 'manual'

/** One archive of one backup run, as `terminus backup:list` describes it. */
export interface Backup {
  site: string
  env: string
  element: Element
  /** Catalog ID, `<epoch>_<backup|automated>_<code|files|database>`: what `backup:get --file` also accepts. */
  id: string
  /** The catalog ID minus `_<element>`: all elements of one backup run share it. */
  folder: string
  /** Pantheon's archive filename, which carries the date, the element and the extension. */
  file: string
  /**
   * The backup's time: the one in its filename (when the run started), as every screen shows it and
   * --at selects by it (catalog/time.ts).
   */
  date: Date
  /** When Terminus says it finished (a detail); unknown for archives read back from a mirror. */
  finished?: Date
  expiry: Date | null
  initiator: Initiator
  /** Approximate size in bytes: Terminus only reports megabytes with one decimal. */
  sizeBytes: number
  /** The size as Terminus printed it ("412.7MB"). */
  sizeText: string
}

/** All archives of one backup run (one folder), newest-first sets are what people choose from. */
export interface BackupSet {
  site: string
  env: string
  folder: string
  /** The set's time: the time in its archives' filenames (the earliest, should they differ: setTime). */
  date: Date
  /** The latest finish time among its archives, when Terminus reported one (a detail). */
  finished?: Date
  initiator: Initiator
  /** The earliest expiry among its archives, if any expire. */
  expiry: Date | null
  /** Ordered code, files, database; a folder may hold only some elements. */
  backups: Backup[]
}
