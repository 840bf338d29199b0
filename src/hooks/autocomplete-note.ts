import type {Hook} from '@oclif/core'

/**
 * `pbm autocomplete` prints @oclif/plugin-autocomplete's setup steps; for bash they only work with the
 * bash-completion package installed, which the plugin does not say.
 */
const hook: Hook.Postrun = async function (options) {
  if (options.Command.id !== 'autocomplete') return
  const argv = options.argv ?? []
  if (argv.some((arg) => arg === '-r' || arg === '--refresh-cache')) return
  const shell = argv.find((arg) => !arg.startsWith('-')) ?? (process.env.SHELL ?? '').split('/').at(-1)
  if (shell !== 'bash') return
  this.log(
    'Note: in bash, completion needs the bash-completion package (Debian/Ubuntu: apt-get install bash-completion; macOS: brew install bash-completion@2), loaded by ~/.bashrc.',
  )
}

export default hook
