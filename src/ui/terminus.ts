import path from 'node:path'

import type {EventSink} from '../jobs/events.js'

import {Terminus, TerminusBudget} from '../terminus/index.js'

export interface OpenTerminusOptions {
  callsPerMinute?: number
  concurrency?: number
  createConcurrency?: number
  /** Where pauses and warnings go; without it, a warning is one `! ...` line on stderr. */
  events?: EventSink
  /** `--terminus-timeout` (seconds) for each lookup; default the adapter's. */
  timeoutSeconds?: number
}

/**
 * The one Terminus adapter of a run. Its working directory is controlled by the adapter (Terminus reads
 * `.env` from its cwd); TERMINUS_USER and other TERMINUS_* settings pass through the environment. One
 * budget spaces every call (`callsPerMinute`) and pauses them all when Pantheon throttles, telling
 * `events` of each pause.
 */
export function openTerminus(bin?: string, options: OpenTerminusOptions = {}): Terminus {
  // Terminus runs in a private working directory: a relative path (vendor/bin/terminus, as Composer
  // installs it) must be made absolute here, while a bare name is looked up on PATH.
  const resolved = bin && bin.includes('/') ? path.resolve(bin) : bin
  const {callsPerMinute, events, timeoutSeconds, ...limits} = options
  // The first pause after throttling (then doubled, with jitter); Pantheon-sized by default.
  const baseMs = Number(process.env.PBM_TERMINUS_BACKOFF_MS)
  const budget = new TerminusBudget({
    ...(Number.isFinite(baseMs) && baseMs > 0 ? {backoff: {baseMs}} : {}),
    callsPerMinute,
    onPause: (p) =>
      events?.emit({
        attempt: p.attempt,
        command: p.command,
        delayMs: p.delayMs,
        type: 'terminus:paused',
        until: new Date(p.until),
      }),
  })
  return new Terminus({
    bin: resolved ?? 'terminus',
    budget,
    onWarning: (message) =>
      events ? events.emit({message, type: 'run:warning'}) : process.stderr.write(`! ${message}\n`),
    ...(timeoutSeconds === undefined ? {} : {timeoutMs: timeoutSeconds * 1000}),
    ...limits,
  })
}
