import type {EventSink} from '../jobs/events.js'

import {NO_EVENTS} from '../jobs/events.js'
import {outputWidth} from './fit.js'
import {jsonLogRenderer} from './jsonlog.js'
import {lineRenderer} from './lines.js'

/** A sink of job events that draws them; close() waits until the last of them is shown. */
export interface Renderer extends EventSink {
  close(): Promise<void>
}

export type RendererName = 'json-lines' | 'lines' | 'silent' | 'tree'

/**
 * How the work is shown while it runs. The animated tree takes over the terminal, so it is only for a
 * person at a real terminal; cron and CI get one line per change; --json and --quiet get none (their
 * output is the result, after the run).
 */
export function chooseRenderer(
  options: RendererOptions,
  env = process.env,
  isTTY = Boolean(process.stdout.isTTY),
): RendererName {
  // A log collector wants every event, whatever else is printed (the --json result stays on stdout).
  if (options.logFormat === 'json') return 'json-lines'
  if (options.json || options.quiet) return 'silent'
  const plain = !isTTY || Boolean(env.CI) || env.NODE_ENV === 'test' || env.TERM === 'dumb'
  // `lines`: a command whose events the tree does not draw (a few sequential steps: prune, restore)
  // prints them as lines at a terminal too.
  return plain || options.lines ? 'lines' : 'tree'
}

export interface RendererOptions {
  json?: boolean
  logFormat?: string
  quiet?: boolean
  /** The job's events are steps the tree does not draw (prune, restore): lines, also at a terminal. */
  lines?: boolean
}

/** The tree (listr2, ~7 MiB of RSS) is loaded only when it is drawn: cron and pods never need it. */
export async function openRenderer(
  options: RendererOptions,
  write: {err: (line: string) => void; out: (line: string) => void},
  env = process.env,
): Promise<Renderer> {
  switch (chooseRenderer(options, env)) {
    case 'json-lines': {
      return jsonLogRenderer({progressEveryMs: lineProgressInterval(env), write: write.err})
    }

    case 'lines': {
      return lineRenderer({progressEveryMs: lineProgressInterval(env), width: outputWidth(), write: write.out})
    }

    case 'tree': {
      const {treeRenderer} = await import('./tree.js')
      return treeRenderer({progressEveryMs: 150})
    }

    default: {
      return {...NO_EVENTS, async close() {}}
    }
  }
}

/** PBM_PROGRESS_INTERVAL (seconds) sets how often cron logs get a progress line; 5 s by default. */
export function lineProgressInterval(env: NodeJS.ProcessEnv): number {
  const seconds = Number(env.PBM_PROGRESS_INTERVAL)
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 5000
}
