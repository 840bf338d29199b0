import type {Element} from '../catalog/types.js'

import {printable} from '../destination/key.js'
import {PbmError} from '../errors.js'

/** The extension each element's archives must carry. */
export const EXTENSIONS: Record<Element, string> = {code: '.tar.gz', files: '.tar.gz', database: '.sql.gz'}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * Refuse a filename (from Terminus) that could escape its folder or confuse a shell or a person:
 * anything but letters, digits, `.`, `_` and `-`, a leading dot, `..`, or an absurd length.
 */
export function checkFilename(file: string): void {
  if (file.length === 0 || file.length > 255 || !SAFE_NAME.test(file) || file.includes('..')) {
    throw new PbmError('unsafe-filename', `Refusing the unsafe archive filename "${printable(file)}".`, {
      hint: 'Terminus returned an unexpected filename; nothing was written.',
    })
  }
}

/** The element's extension must be the filename's: a mismatch is an error, never a silent rename. */
export function checkExtension(file: string, element: Element): void {
  const want = EXTENSIONS[element]
  if (!want) {
    throw new PbmError('bad-extension', `Unknown element "${printable(String(element))}" for ${printable(file)}.`)
  }

  if (!file.endsWith(want)) {
    const other = Object.values(EXTENSIONS).find((ext) => file.endsWith(ext))
    throw new PbmError(
      'bad-extension',
      `${file} should end in ${want} for a ${element} archive${other ? `, not ${other}` : ''}; pbm never renames archives.`,
    )
  }
}
