import path from 'node:path'

import type {Backup} from '../catalog/types.js'

import {extensionFor} from '../catalog/index.js'
import {UsageError} from '../errors.js'

/** A `--to` path that names a file rather than a folder: its last part ends like an archive. */
const ARCHIVE_LIKE = /\.(gz|tgz|tar|sql|zip|bz2|xz)$/i

export function looksLikeFilePath(target: string): boolean {
  return !target.endsWith('/') && ARCHIVE_LIKE.test(path.basename(target))
}

/**
 * `--to FILE`, as in `terminus backup:get --to`: only for exactly one archive, and the extension must be
 * the element's, checked before anything is downloaded (the guide's own warning: a database saved as
 * `.tar.gz` or `.sql` is a trap later).
 */
export function checkFileTarget(target: string, backups: Backup[]): void {
  if (backups.length !== 1) {
    throw new UsageError(
      `--to ${target} names a file, but ${backups.length} archives were chosen.`,
      'Give a folder to --to (archives land under <site>/<env>/), or choose one archive with --file or --element.',
    )
  }

  const {element} = backups[0]
  const expected = extensionFor(element)
  if (!target.endsWith(expected)) {
    const base = path
      .basename(target)
      .replace(ARCHIVE_LIKE, '')
      .replace(/\.(tar|sql)$/i, '')
    throw new UsageError(
      `--to ${target} has the wrong extension for a ${element} archive: it must end in ${expected}.`,
      `Use ${path.join(path.dirname(target), base + expected)}`,
    )
  }
}
