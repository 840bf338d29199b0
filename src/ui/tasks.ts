import {Listr, type ListrTask, PRESET_TIMER} from 'listr2'

import type {OutputMode} from './renderer.js'

/**
 * Runs a listr2 task tree in the chosen output mode. Failures of single tasks are collected, not
 * thrown: one archive or site failing never stops the others (fail-fast aborts through the signal).
 */
export async function runTasks(
  tasks: ListrTask[],
  mode: OutputMode,
  options: {concurrent?: boolean} = {},
): Promise<void> {
  const list = new Listr(tasks, {
    collectErrors: false,
    concurrent: options.concurrent ?? false,
    exitOnError: false,
    // We handle Ctrl-C ourselves: abort the transfers, clean up, then exit 130.
    registerSignalListeners: false,
    renderer: mode.renderer,
    rendererOptions: {
      collapseErrors: false,
      collapseSubtasks: false,
      formatOutput: 'truncate',
      persistentOutput: false,
      showErrorMessage: true,
      timer: PRESET_TIMER,
    },
  } as never)
  await list.run()
}
