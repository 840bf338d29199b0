import path from 'node:path'

import {Terminus} from '../terminus/index.js'

/**
 * The one Terminus adapter of a run. Its working directory is controlled by the adapter (Terminus reads
 * `.env` from its cwd); TERMINUS_USER and other TERMINUS_* settings pass through the environment.
 */
export function openTerminus(bin?: string, options: {concurrency?: number; createConcurrency?: number} = {}): Terminus {
  // Terminus runs in a private working directory: a relative path (vendor/bin/terminus, as Composer
  // installs it) must be made absolute here, while a bare name is looked up on PATH.
  const resolved = bin && bin.includes('/') ? path.resolve(bin) : bin
  return new Terminus({bin: resolved ?? 'terminus', ...options})
}
