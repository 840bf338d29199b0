import {printable} from '../catalog/names.js'
import {PbmError} from '../errors.js'

/**
 * A key is `<prefix><site>/<env>/<file>`: '/'-separated, relative, with no empty, `.` or `..`
 * segments and no backslash, NUL or control characters. Both destinations refuse anything else, so a
 * key can never point outside its root or bucket prefix.
 */
export function checkKey(key: string): string[] {
  // eslint-disable-next-line no-control-regex
  if (key.length === 0 || key.length > 1024 || /[\u0000-\u001F\u007F\\]/.test(key) || key.startsWith('/')) {
    throw new PbmError('unsafe-key', `Refusing the unsafe destination key "${printable(key)}".`)
  }

  const parts = key.split('/')
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new PbmError('unsafe-key', `Refusing the unsafe destination key "${printable(key)}".`)
  }

  return parts
}
