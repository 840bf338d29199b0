import type {Element} from '../catalog/types.js'
import type {CompactOutcome, Inventory, Leftover, RemoveOutcome} from '../destination/inventory.js'
import type {RetentionPolicy} from '../plan/retention.js'

import {planPrune, type PrunePlan, type PruneSeriesPlan} from '../plan/prune.js'
import {describePolicy} from '../plan/retention.js'
import {SeriesCollector, type SeriesEntry} from '../plan/series.js'
import {type EventSink} from './events.js'
import {type FailureInfo, type SiteEnvRef} from './results.js'
import {StageSweep} from './stages.js'

export interface PruneRequest {
  policy: RetentionPolicy
  /** Only these site.envs (every series under the prefix when absent or empty). */
  targets?: SiteEnvRef[]
  /** Only these elements (all when absent or empty). */
  elements?: Element[]
  /** Print the plan, remove nothing. */
  dryRun: boolean
  /** Stop before removing more than this many (nothing is removed then). */
  maxDelete?: number
  /**
   * The run's clock: a backup dated more than a day after it is suspect (kept, counted by no rule,
   * reported). Required, so that no caller forgets the guard.
   */
  now: Date
  /** Count archives without pbm's record as pbm's (a mirror made by the old shell script). */
  includeUnrecorded?: boolean
}

export interface PruneDeps {
  inventory: Inventory
  /** Where the inventory is, for people and --json: `s3://bucket/prefix/` or the folder. */
  location: string
  events: EventSink
  /**
   * Asked once the plan is known and something is to be removed (not on a dry run): false removes
   * nothing. Absent: remove without asking (the command has its --yes, mirror its --prune).
   */
  confirm?: (result: PruneResult) => Promise<boolean>
}

/** One kept backup: by the policy (its reasons), or because Object Lock refused its removal. */
export interface PruneKept {
  file: string
  date: Date
  /** `s3://bucket/key` or the file's path, as every command's archive rows say where an archive is. */
  location: string
  bytes: number
  /** `daily #3`, `monthly #1`, `within 45d`, or `locked until 2030-01-01T00:00:00.000Z`. */
  reasons: string[]
  /** Set when the policy would remove it but Object Lock or a legal hold keeps it. */
  locked?: {until?: Date; mode?: string; legalHold?: boolean}
  /** What it is stored as, when more than one object (vault: its snapshots' short IDs). */
  parts?: string[]
}

/** One backup the policy removes: planned (dry run, or not yet asked), removed, or failed. */
export interface PruneRemoved {
  file: string
  date: Date
  location: string
  bytes: number
  status: 'failed' | 'planned' | 'removed'
  /** On a versioned bucket: hidden behind a delete marker, the data is still stored. */
  deleteMarker?: boolean
  error?: FailureInfo
  /** What its removal removes, when more than one object (vault: the snapshots `restic forget` is given). */
  parts?: string[]
}

/** One of pbm's own leftovers (vault: a snapshot without its completion record), removed with the plan. */
export interface PruneLeftover {
  what: string
  reason: string
  status: 'failed' | 'planned' | 'removed'
  error?: FailureInfo
}

export interface PruneSeriesResult {
  site: string
  env: string
  element: Element
  /** Newest first. */
  keep: PruneKept[]
  /** Newest first. */
  remove: PruneRemoved[]
  /** Of `keep`: dated more than a day in the future, so not trusted (kept, counted by no rule). */
  suspect: string[]
  /** Archive names without pbm's record: not pbm's, left alone (see --include-unrecorded). */
  unrecorded: number
}

export interface PruneSummary {
  kept: number
  /** Removed: 0 on a dry run or when stopped (what the plan removes is `wouldRemove`). */
  removed: number
  bytesFreed: number
  /** Only when nothing was removed on purpose (dry run, --max-delete, not confirmed): what the plan removes. */
  wouldRemove?: number
  bytesWouldFree?: number
  /** Of the kept, those dated more than a day in the future (not trusted; reported as warnings). */
  suspect: number
  /** Archive names without pbm's record, left alone as not pbm's. */
  unrecorded: number
  /** Of the kept, those only Object Lock or a legal hold keeps. */
  locked: number
  failed: number
  /** Of the removed, those that left a delete marker (versioned bucket). */
  deleteMarkers: number
  /** pbm's leftovers removed (or, when nothing was removed, that would be): see PruneResult.leftovers. */
  leftovers: number
}

/** backup:prune's result, and its --json document. */
export interface PruneResult {
  /** `s3://bucket/prefix` or the folder. */
  location: string
  policy: string
  dryRun: boolean
  series: PruneSeriesResult[]
  summary: PruneSummary
  /** Objects under the prefix that are not pbm's archives: never touched. */
  foreign: {count: number; bytes: number}
  /** Named like pbm's archives, but without pbm's record: not pbm's, never touched, counted by no rule. */
  unrecorded: {count: number; bytes: number}
  /** pbm's archives of site.envs or elements left out by the arguments. */
  unselected: number
  /** Why nothing was removed although the plan removes something. */
  stopped?: {reason: 'max-delete'; maxDelete: number} | {reason: 'not-confirmed'}
  /** pbm's own leftovers found beside the archives, each with why, removed with the plan (empty: none). */
  leftovers: PruneLeftover[]
  /** The store-wide step after the removals that frees their space (vault: `restic prune`); absent elsewhere. */
  compact?: CompactOutcome
}

/**
 * backup:prune: list the destination, sort pbm's archives into series, apply the policy, then
 * (unless a dry run, over --max-delete, or not confirmed) remove what it does not keep, in batches.
 * Anything that is not one of pbm's archives is never touched.
 */
export async function prune(request: PruneRequest, deps: PruneDeps, signal: AbortSignal): Promise<PruneResult> {
  const {events, inventory} = deps
  const collector = new SeriesCollector({elements: request.elements, targets: request.targets})
  const stages = new StageSweep(inventory, events)
  let listed = 0
  for await (const page of stages.watch(inventory.list(signal))) {
    collector.add(page)
    listed += page.length
  }

  await stages.sweep(request.dryRun, signal)

  const listing = collector.result()
  if (!request.includeUnrecorded) {
    // Only what pbm recorded takes part: an object named like a backup is not one of pbm's.
    const entries = listing.series.flatMap((s) => s.entries)
    const recorded = await inventory.recorded(
      entries.map((e) => e.key),
      signal,
    )
    for (const entry of entries) entry.recorded = recorded.has(entry.key)
  }

  const plan = planPrune(listing, request.policy, {includeUnrecorded: request.includeUnrecorded, now: request.now})
  const {location} = deps
  events.emit({
    archives: plan.summary.kept + plan.summary.removed,
    foreign: plan.foreign.count + plan.unrecorded.count,
    listed,
    location,
    series: plan.series.length,
    type: 'prune:listed',
  })
  for (const s of plan.series) {
    for (const entry of s.suspect) {
      events.emit({
        message: `${inventory.describe(entry.key)} is dated ${entry.date.toISOString()}, more than a day ahead of this run's clock: not trusted as a backup date, so it is kept and counted by no rule.`,
        type: 'run:warning',
      })
    }
  }

  for (const s of plan.series) {
    events.emit({
      element: s.element,
      kept: s.keep.length,
      removed: s.remove.length,
      target: {env: s.env, site: s.site},
      type: 'prune:planned',
    })
  }

  const leftovers = inventory.leftovers
    ? await inventory.leftovers({elements: request.elements, now: request.now, targets: request.targets}, signal)
    : []
  const result = resultOf(plan, location, request, inventory, leftovers)
  const toRemove = plan.summary.removed
  if (request.dryRun) {
    if (inventory.compact) result.compact = await inventory.compact(true, signal)
    return finish(result, events)
  }

  if (toRemove === 0 && leftovers.length === 0) {
    if (inventory.compact) result.compact = await inventory.compact(false, signal)
    // A real run with nothing to remove: there is nothing it "would" do either.
    delete result.summary.wouldRemove
    delete result.summary.bytesWouldFree
    return finish(result, events)
  }

  if (request.maxDelete !== undefined && toRemove > request.maxDelete) {
    result.stopped = {maxDelete: request.maxDelete, reason: 'max-delete'}
    return finish(result, events)
  }

  if (toRemove > 0 && deps.confirm && !(await deps.confirm(result))) {
    result.stopped = {reason: 'not-confirmed'}
    return finish(result, events)
  }

  await removePlanned(plan, leftovers, result, deps, signal)
  // After the removals, once: frees what they held (a vault's forgotten snapshots' data).
  if (inventory.compact) result.compact = await inventory.compact(false, signal)
  return finish(result, events)
}

/** The exit code of a prune: 1 when anything failed or --max-delete stopped it, else 0. */
export function pruneExitCode(result: PruneResult): number {
  const failed =
    result.summary.failed > 0 ||
    result.leftovers.some((l) => l.status === 'failed') ||
    result.compact?.status === 'failed'
  return failed || result.stopped?.reason === 'max-delete' ? 1 : 0
}

function resultOf(
  plan: PrunePlan,
  location: string,
  request: PruneRequest,
  inventory: Inventory,
  leftovers: Leftover[],
): PruneResult {
  const parts = (key: string) => {
    const found = inventory.partsOf?.(key)
    return found ? {parts: found} : {}
  }

  const suspect = plan.series.reduce((n, s) => n + s.suspect.length, 0)
  return {
    dryRun: Boolean(request.dryRun),
    foreign: plan.foreign,
    unrecorded: plan.unrecorded,
    location,
    policy: describePolicy(request.policy),
    series: plan.series.map((s) => ({
      element: s.element,
      env: s.env,
      keep: s.keep.map((k) => ({
        bytes: k.size,
        date: k.date,
        file: k.file,
        location: inventory.describe(k.key),
        reasons: k.reasons,
        ...parts(k.key),
      })),
      remove: s.remove.map((r) => ({
        bytes: r.size,
        date: r.date,
        file: r.file,
        location: inventory.describe(r.key),
        status: 'planned' as const,
        ...parts(r.key),
      })),
      site: s.site,
      suspect: s.suspect.map((e) => e.file),
      unrecorded: s.unrecorded.length,
    })),
    // Nothing is removed yet: what the plan removes is said as what it would (removePlanned replaces it).
    summary: {
      bytesFreed: 0,
      bytesWouldFree: plan.summary.bytesFreed,
      deleteMarkers: 0,
      failed: 0,
      kept: plan.summary.kept,
      leftovers: leftovers.length,
      locked: 0,
      removed: 0,
      suspect,
      unrecorded: plan.unrecorded.count,
      wouldRemove: plan.summary.removed,
    },
    leftovers: leftovers.map((l) => ({reason: l.reason, status: 'planned' as const, what: l.what})),
    unselected: plan.unselected,
  }
}

/** Removes every planned entry (all series in one stream of batches) and records each outcome. */
async function removePlanned(
  plan: PrunePlan,
  leftovers: Leftover[],
  result: PruneResult,
  deps: PruneDeps,
  signal: AbortSignal,
): Promise<void> {
  const {events, inventory} = deps
  const where = new Map<string, {entry: SeriesEntry; index: number; series: PruneSeriesPlan}>()
  for (const [index, series] of plan.series.entries()) {
    for (const entry of series.remove) where.set(entry.key, {entry, index, series})
  }

  const outcomes = new Map<string, RemoveOutcome>()
  // The leftovers go with the archives: one removal (a vault: one `restic forget` per batch).
  for await (const batch of inventory.remove([...where.keys(), ...leftovers.map((l) => l.key)], signal)) {
    for (const outcome of batch) {
      outcomes.set(outcome.key, outcome)
      const at = where.get(outcome.key)
      if (!at) continue
      const ref = {element: at.series.element, file: at.entry.file, target: {env: at.series.env, site: at.series.site}}
      switch (outcome.status) {
        case 'removed': {
          events.emit({...ref, deleteMarker: Boolean(outcome.deleteMarker), type: 'prune:removed'})
          break
        }

        case 'locked': {
          events.emit({...ref, legalHold: outcome.legalHold, type: 'prune:locked', until: outcome.until})
          break
        }

        case 'failed': {
          events.emit({...ref, error: {code: outcome.code, message: outcome.message}, type: 'prune:failed'})
          break
        }
      }
    }
  }

  result.leftovers = leftovers.map((l) => {
    const outcome = outcomes.get(l.key)
    const row = {reason: l.reason, what: l.what}
    if (outcome?.status === 'removed') return {...row, status: 'removed' as const}
    const error = outcome?.status === 'failed' ? {code: outcome.code, message: outcome.message} : noAnswer()
    return {...row, error, status: 'failed' as const}
  })
  const summary: PruneSummary = {
    bytesFreed: 0,
    deleteMarkers: 0,
    failed: 0,
    kept: 0,
    leftovers: result.leftovers.filter((l) => l.status === 'removed').length,
    locked: 0,
    removed: 0,
    suspect: result.summary.suspect,
    unrecorded: result.summary.unrecorded,
  }
  for (const series of result.series) {
    const remove: PruneRemoved[] = []
    for (const entry of series.remove) {
      const key = `${series.site}/${series.env}/${entry.file}`
      const outcome = outcomes.get(key)
      if (outcome?.status === 'locked') {
        const lock = {
          ...(outcome.until ? {until: outcome.until} : {}),
          ...(outcome.mode ? {mode: outcome.mode} : {}),
          ...(outcome.legalHold ? {legalHold: true} : {}),
        }
        series.keep.push({
          bytes: entry.bytes,
          date: entry.date,
          file: entry.file,
          location: entry.location,
          locked: lock,
          reasons: [lockReason(lock)],
        })
        summary.locked++
        continue
      }

      if (outcome?.status === 'removed') {
        remove.push({...entry, status: 'removed', ...(outcome.deleteMarker ? {deleteMarker: true} : {})})
        summary.bytesFreed += entry.bytes
        if (outcome.deleteMarker) summary.deleteMarkers++
      } else {
        const error = outcome?.status === 'failed' ? {code: outcome.code, message: outcome.message} : noAnswer()
        remove.push({...entry, error, status: 'failed'})
        summary.failed++
      }
    }

    series.keep.sort((a, b) => b.date.getTime() - a.date.getTime())
    series.remove = remove
    summary.kept += series.keep.length
    summary.removed += remove.filter((r) => r.status === 'removed').length
  }

  result.summary = summary
}

/** `locked until 2030-01-01T00:00:00.000Z (COMPLIANCE)`, `legal hold`. */
export function lockReason(lock: {until?: Date; mode?: string; legalHold?: boolean}): string {
  const parts: string[] = []
  if (lock.until) parts.push(`locked until ${lock.until.toISOString()}${lock.mode ? ` (${lock.mode})` : ''}`)
  if (lock.legalHold) parts.push('legal hold')
  return parts.length > 0 ? parts.join(', ') : 'locked'
}

function noAnswer(): FailureInfo {
  return {code: 'no-answer', message: 'The destination did not say whether it was removed.'}
}

function finish(result: PruneResult, events: EventSink): PruneResult {
  events.emit({
    location: result.location,
    summary: result.summary,
    type: 'prune:summary',
    ...(result.stopped ? {stopped: result.stopped.reason} : {}),
  })
  return result
}
