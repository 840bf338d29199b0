import {homedir} from 'node:os'
import path from 'node:path'

/**
 * A local folder as a person writes it, absolute: `~` and `~/x` mean the home folder, as in a shell
 * (which does not expand them in a prompt's answer, nor in `--to=~/x`); anything else is relative to the
 * working directory.
 */
export function resolveFolder(input: string, home = homedir()): string {
  if (input === '~') return home
  if (input.startsWith('~/')) return path.join(home, input.slice(2))
  return path.resolve(input)
}
