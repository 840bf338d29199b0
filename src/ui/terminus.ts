import {Terminus} from '../terminus/index.js'

/**
 * The one Terminus adapter of a run. Its working directory is controlled by the adapter (Terminus reads
 * `.env` from its cwd); TERMINUS_USER and other TERMINUS_* settings pass through the environment.
 */
export function openTerminus(bin?: string, options: {concurrency?: number; createConcurrency?: number} = {}): Terminus {
  return new Terminus({bin: bin ?? 'terminus', ...options})
}
