import type {Destination} from '../destination/index.js'
import type {Terminus} from '../terminus/index.js'
import type {EventSink} from './events.js'

import {createLimit} from '../util/limit.js'
import {baseOf, type PickResult, summarize} from './results.js'
import {lookOne, type PlannedArchive, preflight, transferOne} from './transfer.js'

export interface PickPlan {
  archives: PlannedArchive[]
  concurrency: number
  dryRun: boolean
  force: boolean
  timeoutMs?: number
}

export interface PickDeps {
  destinations: Destination[]
  terminus: Pick<Terminus, 'backupUrl'>
  events: EventSink
}

/**
 * backup:pick's work once the choices are made: preflight the destinations, then transfer the chosen
 * archives in parallel (each in its own slot), one result row per archive and destination.
 */
export async function pick(plan: PickPlan, deps: PickDeps, signal: AbortSignal): Promise<PickResult> {
  const started = Date.now()
  const {destinations, events} = deps
  const context = {
    destinations,
    events,
    force: plan.force,
    signal,
    slot: createLimit(plan.concurrency),
    terminus: deps.terminus,
    timeoutMs: plan.timeoutMs,
  }
  if (plan.dryRun) {
    const archives = (await Promise.all(plan.archives.map((item) => lookOne(item, context)))).flat()
    return {archives, summary: summarize(archives, 0)}
  }

  await preflight(destinations, signal)
  events.emit({archives: plan.archives.map((p) => baseOf(p.backup)), command: 'pick', type: 'run:started'})
  const rows = await Promise.all(plan.archives.map((item) => transferOne(item, context)))
  const archives = rows.flat()
  const summary = summarize(archives, (Date.now() - started) / 1000)
  events.emit({summary, type: 'run:summary'})
  return {archives, summary}
}
