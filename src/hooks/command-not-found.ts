import {type Hook, toConfiguredId} from '@oclif/core'

import {nearestNames} from '../catalog/index.js'
import {EXIT} from '../errors.js'

/**
 * `pbm backup:pik` (or `pbm pick`): say which command was meant, in one line, and exit 2 as any usage
 * error does. Compared with each command's whole id and with its last part, so a topic left out is
 * found too.
 */
const lastPart = (id: string) => id.split(':').at(-1) ?? id

const hook: Hook.CommandNotFound = async function (options) {
  const ids = options.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const typed = options.id
  const [byLast] = nearestNames(
    ids.map((id) => lastPart(id)),
    lastPart(typed),
    1,
    {includeExact: true},
  )
  const near = nearestNames(ids, typed, 1)[0] ?? ids.find((id) => lastPart(id) === byLast)
  const {bin} = options.config
  const shown = toConfiguredId(typed, options.config)
  this.error(
    [
      `${shown} is not a ${bin} command.${near ? ` Did you mean ${toConfiguredId(near, options.config)}?` : ''}`,
      `Run ${bin} --help for the list of commands.`,
    ].join('\n'),
    {exit: EXIT.usage},
  )
}

export default hook
