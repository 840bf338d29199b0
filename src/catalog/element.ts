import {PbmError, UsageError} from '../errors.js'
import {printable} from './names.js'
import {type Element, ELEMENTS} from './types.js'

/** Every spelling Terminus accepts, in the order its own message lists them. */
export const ELEMENT_NAMES = ['code', 'files', 'database', 'db'] as const

/** `db` is Terminus's short name for `database`; anything else is a usage error naming the valid ones. */
export function normalizeElement(name: string): Element {
  const lower = name.trim().toLowerCase()
  if (lower === 'db') return 'database'
  if ((ELEMENTS as readonly string[]).includes(lower)) return lower as Element
  throw new UsageError(
    `Unknown element "${name}": use one of ${ELEMENT_NAMES.join(', ')}.`,
    'db is the same as database.',
  )
}

export function isElement(value: unknown): value is Element {
  return typeof value === 'string' && (ELEMENTS as readonly string[]).includes(value)
}

/** code and files are gzip'd tarballs; the database is a gzip'd SQL dump, not a tar. */
export function extensionFor(element: Element): '.sql.gz' | '.tar.gz' {
  return element === 'database' ? '.sql.gz' : '.tar.gz'
}

/**
 * Refuse an archive whose name promises the wrong format: storing a SQL dump as `.tar.gz` (or the
 * reverse) is exactly the mistake the seed script made, and restores then fail far from the cause.
 * A mismatch is an error, never a silent rename.
 */
export function checkExtension(file: string, element: Element): void {
  if (!isElement(element)) {
    throw new PbmError('bad-extension', `Unknown element "${printable(String(element))}" for ${printable(file)}.`)
  }

  const want = extensionFor(element)
  if (file.endsWith(want)) return
  const other = ELEMENTS.map((e) => extensionFor(e)).find((ext) => file.endsWith(ext))
  throw new PbmError(
    'bad-extension',
    `${printable(file)} should end in ${want} for a ${element} archive${other ? `, not ${other}` : ''}; pbm never renames archives.`,
    {
      hint: 'Pantheon names code and files archives .tar.gz and database archives .sql.gz; pick the archive by its Pantheon filename.',
    },
  )
}
