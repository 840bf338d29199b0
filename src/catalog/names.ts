import {PbmError} from '../errors.js'

/**
 * One strict rule for every name that comes from Terminus (or from a user, meaning the same thing)
 * before it is shown, offered in a picker, passed back to Terminus or becomes part of a path or key.
 * The catalog drops what fails it, the adapter refuses it, and the engine checks it once more.
 */

/** Site and environment names: lowercase letters, digits and hyphens (multidevs such as `pr-12`). */
export const SITE_NAME = /^[\da-z][\da-z-]*$/

export function isSiteName(name: string): boolean {
  return name.length <= 63 && SITE_NAME.test(name)
}

/**
 * Archive filenames: ASCII letters, digits, `.`, `_` and `-`, not starting with a dot, no `..`, at
 * most 255 characters. This refuses paths, control characters, spaces and bidi overrides alike.
 */
const SAFE_FILENAME = /^[\dA-Za-z][\w.-]*$/

export function isSafeFilename(file: string): boolean {
  return file.length <= 255 && SAFE_FILENAME.test(file) && !file.includes('..')
}

export function checkFilename(file: string): void {
  if (isSafeFilename(file)) return
  throw new PbmError('unsafe-filename', `Refusing the unsafe archive filename "${printable(file)}".`, {
    hint: 'Terminus returned an unexpected filename; nothing was written.',
  })
}

/** S3 bucket names: 3-63 characters, lowercase letters, digits, dots and hyphens. */
export function isBucketName(name: string): boolean {
  return /^[\da-z][\d.a-z-]{1,61}[\da-z]$/.test(name)
}

/** Pantheon's standard environments, in promotion order; multidevs come after them, by name. */
export const ENVIRONMENT_ORDER: readonly string[] = ['dev', 'test', 'live']

function environmentRank(name: string): number {
  const i = ENVIRONMENT_ORDER.indexOf(name)
  return i === -1 ? ENVIRONMENT_ORDER.length : i
}

export function compareEnvironmentNames(a: string, b: string): number {
  return environmentRank(a) - environmentRank(b) || (a < b ? -1 : a > b ? 1 : 0)
}

/** A string safe to print: control characters escaped, length bounded. */
export function printable(text: string): string {
  const escaped = JSON.stringify(text)
    .slice(1, -1)
    .replaceAll(/[\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g, '?')
  return escaped.length > 200 ? `${escaped.slice(0, 200)}...` : escaped
}
