import {extensionFor} from '../catalog/element.js'
import {parseFilename} from '../catalog/filename.js'
import {isSafeFilename} from '../catalog/names.js'
import {type Element, ELEMENTS} from '../catalog/types.js'

/** One object of a destination listing. */
export interface ListedObject {
  /** The key under the destination's root or bucket prefix: `<site>/<env>/<file>` for pbm's archives. */
  key: string
  size: number
}

/** One archive of a series. */
export interface SeriesEntry {
  key: string
  /** Pantheon's filename (the key's last segment). */
  file: string
  /** The UTC time in the filename: what retention periods are taken from. */
  date: Date
  size: number
  /**
   * Whether pbm's record of it is there (S3 metadata, the local completion record); undefined when
   * not looked up. Prune counts only recorded archives unless told otherwise.
   */
  recorded?: boolean
}

/** The archives of one site, env and element: what a retention policy is applied to. */
export interface Series {
  site: string
  env: string
  element: Element
  /** Newest first. */
  entries: SeriesEntry[]
}

export interface SeriesFilter {
  /** Only these site.envs (all when absent or empty). */
  targets?: ReadonlyArray<{site: string; env: string}>
  /** Only these elements (all when absent or empty). */
  elements?: readonly Element[]
}

export interface SeriesListing {
  /** Ordered by site, env, then code, files, database. */
  series: Series[]
  /** Objects that are not pbm's archives (wrong place, name, or extension): never touched. */
  foreign: {count: number; bytes: number}
  /** pbm's archives of site.envs or elements that the filter leaves out. */
  unselected: number
}

/**
 * Sorts a destination listing into series, one page at a time (add() per page, then result()).
 * Only `<site>/<env>/<file>` where the file is a Pantheon archive name of that same site and env,
 * with the extension of its element, is a candidate; anything else counts as "not pbm's".
 */
export class SeriesCollector {
  private readonly elements?: ReadonlySet<Element>
  private foreignBytes = 0
  private foreignCount = 0
  private readonly groups = new Map<string, Series>()
  private readonly targets?: ReadonlySet<string>
  private unselectedCount = 0

  constructor(filter: SeriesFilter = {}) {
    if (filter.targets && filter.targets.length > 0) {
      this.targets = new Set(filter.targets.map((t) => `${t.site}/${t.env}`))
    }

    if (filter.elements && filter.elements.length > 0) this.elements = new Set(filter.elements)
  }

  add(objects: Iterable<ListedObject>): void {
    for (const object of objects) {
      const archive = parseArchiveKey(object.key)
      if (!archive) {
        this.foreignCount++
        this.foreignBytes += object.size
        continue
      }

      const {site, env, element} = archive
      if ((this.targets && !this.targets.has(`${site}/${env}`)) || (this.elements && !this.elements.has(element))) {
        this.unselectedCount++
        continue
      }

      const id = `${site}/${env}/${element}`
      let series = this.groups.get(id)
      if (!series) {
        series = {site, env, element, entries: []}
        this.groups.set(id, series)
      }

      series.entries.push({key: object.key, file: archive.file, date: archive.date, size: object.size})
    }
  }

  result(): SeriesListing {
    const series = [...this.groups.values()].sort(
      (a, b) =>
        compare(a.site, b.site) || compare(a.env, b.env) || ELEMENTS.indexOf(a.element) - ELEMENTS.indexOf(b.element),
    )
    for (const s of series) {
      s.entries.sort((a, b) => b.date.getTime() - a.date.getTime() || compare(a.file, b.file))
    }

    return {series, foreign: {count: this.foreignCount, bytes: this.foreignBytes}, unselected: this.unselectedCount}
  }
}

/** The series of a whole listing (in memory); for a paginated listing use SeriesCollector. */
export function groupSeries(objects: Iterable<ListedObject>, filter: SeriesFilter = {}): SeriesListing {
  const collector = new SeriesCollector(filter)
  collector.add(objects)
  return collector.result()
}

/** What a key says when it is one of pbm's archives: `<site>/<env>/<site>_<env>_<date>_UTC_<element>.<ext>`. */
export function parseArchiveKey(
  key: string,
): undefined | {site: string; env: string; element: Element; file: string; date: Date} {
  const parts = key.split('/')
  if (parts.length !== 3) return undefined
  const [site, env, file] = parts
  if (!isSafeFilename(file)) return undefined
  const parsed = parseFilename(file)
  if (!parsed || parsed.site !== site || parsed.env !== env) return undefined
  if (!file.endsWith(extensionFor(parsed.element))) return undefined
  return {site, env, element: parsed.element, file, date: parsed.date}
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
