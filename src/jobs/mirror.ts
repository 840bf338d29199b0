import {setMaxListeners} from 'node:events'

import type {Element} from '../catalog/types.js'
import type {Destination} from '../destination/index.js'
import type {Terminus} from '../terminus/index.js'
import type {Site} from '../terminus/types.js'

import {InterruptedError, isAbortError, PbmError} from '../errors.js'
import {archiveKey} from '../plan/destination.js'
import {selectForMirror} from '../plan/select.js'
import {formatShard, selectShard, type Shard} from '../plan/shard.js'
import {type SiteEnv} from '../plan/targets.js'
import {createLimit} from '../util/limit.js'
import {type EventSink, targetId} from './events.js'
import {
  type ArchiveResult,
  baseOf,
  describeFailure,
  type MirrorResult,
  summarize,
  type TargetResult,
} from './results.js'
import {lookOne, preflight, type TransferContext, transferOne} from './transfer.js'
import {withNearestNames} from './unknown-names.js'

/** Site.envs given one by one, or every site of an organization (optionally with a tag) × envs. */
export type MirrorTargets = SiteEnv[] | {envs: string[]; org: string; tag?: string}

export interface MirrorPlan {
  targets: MirrorTargets
  elements: Element[]
  /** Run `terminus backup:create` first and mirror what it made. */
  create: boolean
  /** With create: how long Pantheon keeps the new backup. */
  keepForDays?: number
  createTimeoutMs: number
  /** Every listed backup not yet mirrored (optionally since a date), not only the newest set. */
  all: boolean
  since?: Date
  concurrency: number
  dryRun: boolean
  failFast: boolean
  force: boolean
  /** Only the sites of this shard (by a hash of the site name), for fleets of parallel runs. */
  shard?: Shard
  timeoutMs?: number
}

export interface MirrorDeps {
  terminus: Pick<
    Terminus,
    'backupUrl' | 'createBackup' | 'listBackups' | 'listEnvironments' | 'listOrgSites' | 'listSites'
  >
  destinations: Destination[]
  events: EventSink
  env?: NodeJS.ProcessEnv
}

/**
 * backup:mirror: every site.env at once (create → list → its archives), with Terminus calls, creates
 * and transfers each under their own limit. A failure is recorded for its site.env or archive and
 * never stops the rest, unless --fail-fast.
 */
export async function mirror(plan: MirrorPlan, deps: MirrorDeps, userSignal: AbortSignal): Promise<MirrorResult> {
  const {events, terminus} = deps
  const started = Date.now()
  const failFast = new AbortController()
  const signal = AbortSignal.any([userSignal, failFast.signal])
  setMaxListeners(0, signal)
  // A destination that cannot take archives fails the run before any Terminus call or backup:create.
  if (!plan.dryRun) await preflight(deps.destinations, signal)

  // The site list says which sites are frozen (Pantheon creates no backup of those).
  const resolving = resolveTargets(terminus, plan.targets, signal)
  resolving.catch(() => {})
  // Each create starts as soon as the site list is in: the create is the long part.
  const creates = new Map<string, Promise<void>>()
  const startCreates = (targets: SiteEnv[]) => {
    if (!plan.create || plan.dryRun) return
    for (const target of targets) {
      const creating = createBackup(target)
      // Awaited by the target later; until then its failure must not count as unhandled.
      creating.catch(() => {})
      creates.set(targetId(target), creating)
    }
  }

  const createBackup = async (target: SiteEnv): Promise<void> => {
    // The target says why it made none (mirrorTarget).
    if ((await resolving).sites.get(target.site)?.frozen) return
    events.emit({target, type: 'backup:creating'})
    const creating = Date.now()
    await terminus.createBackup(target.site, target.env, {
      element: plan.elements.length === 1 ? plan.elements[0] : 'all',
      keepForDays: plan.keepForDays,
      pollingDelayMs: politePolling(deps.env),
      signal,
      timeoutMs: plan.createTimeoutMs,
    })
    events.emit({seconds: (Date.now() - creating) / 1000, target, type: 'backup:created'})
  }

  const inShard = (targets: SiteEnv[]) => selectShard(targets, plan.shard, (t) => t.site)
  if (Array.isArray(plan.targets)) startCreates(inShard(plan.targets))
  let resolved: {sites: Map<string, Site>; targets: SiteEnv[]}
  try {
    resolved = await resolving
  } catch (error) {
    // Without the site list nothing can be judged: stop the creates already asked for.
    failFast.abort(error)
    await Promise.allSettled(creates.values())
    throw error
  }

  const {sites} = resolved
  const targets = inShard(resolved.targets)
  if (!Array.isArray(plan.targets)) startCreates(targets)

  const targetResults: TargetResult[] = []
  const archives: ArchiveResult[] = []
  const onFailure = () => {
    // The failure itself is recorded where it happened; everything stopped because of it is "interrupted".
    if (plan.failFast && !failFast.signal.aborted) {
      failFast.abort(new InterruptedError('Not finished: stopped by --fail-fast.'))
    }
  }

  const transfers: TransferContext = {
    destinations: deps.destinations,
    events,
    force: plan.force,
    lookahead: createLimit(plan.concurrency),
    onFailure,
    signal,
    slot: createLimit(plan.concurrency),
    terminus,
    timeoutMs: plan.timeoutMs,
  }

  const mirrorTarget = async (target: SiteEnv): Promise<TargetResult> => {
    const creating = creates.get(targetId(target))
    // A frozen site gets no new backup, but Pantheon may still list (and serve) the ones it has.
    const frozen = sites.get(target.site)?.frozen === true
    events.emit({target, type: 'target:started'})
    if (plan.create && (plan.dryRun || frozen)) {
      events.emit({reason: frozen ? FROZEN_NO_CREATE : 'dry run', target, type: 'backup:create-skipped'})
    }

    await creating
    // One call per site.env: the backup list also answers for environments that do not exist (an
    // error) and for uninitialized ones (no backups), so no env:list is needed.
    let unlisted: unknown
    const backups = await terminus.listBackups(target.site, target.env, {signal}).catch(async (error: unknown) => {
      if (!frozen || isAbortError(error)) throw await withNearestNames(terminus, target, error, signal)
      unlisted = error
      return []
    })
    if (unlisted !== undefined) {
      return {
        ...target,
        note: `the site is frozen, and Pantheon lists no backups of it (${describeFailure(unlisted).message})`,
        status: 'skipped',
      }
    }

    const chosen = selectForMirror(backups, {all: plan.all, elements: plan.elements, since: plan.since})
    if (chosen.length === 0) {
      const note =
        backups.length === 0
          ? 'no backups listed (an environment that is not initialized has none)'
          : `no ${plan.elements.join('/')} backups to mirror`
      return {...target, note, status: 'skipped'}
    }

    events.emit({
      archives: chosen.map((b) => baseOf(b)),
      newest: new Date(Math.max(...chosen.map((b) => b.date.getTime()))),
      older: plan.all,
      target,
      type: 'backups:chosen',
    })
    const items = chosen.map((backup) => ({backup, key: archiveKey(backup)}))
    if (plan.dryRun) {
      archives.push(...(await Promise.all(items.map((item) => lookOne(item, transfers)))).flat())
      return {...target, status: 'planned'}
    }

    const rows = (await Promise.all(items.map((item) => transferOne(item, transfers)))).flat()
    archives.push(...rows)
    const failed = rows.find((r) => r.status === 'failed')
    return failed ? {...target, error: failed.error, status: 'failed'} : {...target, status: 'mirrored'}
  }

  events.emit({command: 'mirror', create: plan.create, targets, type: 'run:started'})
  await Promise.all(
    targets.map(async (target) => {
      let result: TargetResult
      try {
        result = await mirrorTarget(target)
      } catch (error) {
        if (!isAbortError(error)) onFailure()
        result = {...target, error: describeFailure(error), status: 'failed'}
      }

      targetResults.push(result)
      if (result.status === 'skipped') events.emit({reason: result.note ?? '', target, type: 'target:skipped'})
      else if (result.status === 'failed' && result.error) {
        events.emit({error: result.error, target, type: 'target:failed'})
      } else events.emit({status: result.status, target, type: 'target:done'})
    }),
  )

  const base = summarize(archives, (Date.now() - started) / 1000)
  // A site.env that failed before any archive (unknown env, failed create) counts as one failure.
  const failedTargets = targetResults.filter(
    (t) =>
      t.status === 'failed' && !archives.some((a) => a.site === t.site && a.env === t.env && a.status === 'failed'),
  )
  const summary = {...base, failed: base.failed + failedTargets.length}
  events.emit({summary, type: 'run:summary'})
  const stoppedEarly = failFast.signal.aborted && !userSignal.aborted
  return {
    archives,
    summary,
    targets: orderLike(targets, targetResults),
    ...(plan.shard ? {shard: formatShard(plan.shard)} : {}),
    ...(stoppedEarly ? {stoppedEarly} : {}),
  }
}

const FROZEN_NO_CREATE = 'the site is frozen: Pantheon makes no new backup of it; its listed backups are still mirrored'

/** Targets from arguments, or every site of an org; plus the site list, to know which are frozen. */
async function resolveTargets(
  terminus: MirrorDeps['terminus'],
  targets: MirrorTargets,
  signal: AbortSignal,
): Promise<{sites: Map<string, Site>; targets: SiteEnv[]}> {
  if (Array.isArray(targets)) {
    const sites = await terminus.listSites({signal})
    return {sites: new Map(sites.map((s) => [s.name, s])), targets}
  }

  // An organization lists each site once; the environments asked for may repeat.
  const sites = await terminus.listOrgSites(targets.org, targets.tag, {signal})
  const envs = [...new Set(targets.envs)]
  if (sites.length === 0) {
    throw new PbmError(
      'no-sites',
      `The organization ${targets.org} has no sites${targets.tag ? ` tagged ${targets.tag}` : ''}.`,
    )
  }

  return {
    sites: new Map(sites.map((s) => [s.name, s])),
    targets: [...new Map(sites.map((s) => [s.name, s])).keys()].flatMap((site) => envs.map((env) => ({env, site}))),
  }
}

/** Results in the order the targets were given, whatever order they finished in. */
function orderLike(targets: SiteEnv[], results: TargetResult[]): TargetResult[] {
  const index = (t: SiteEnv) => targets.findIndex((x) => x.site === t.site && x.env === t.env)
  return [...results].sort((a, b) => index(a) - index(b))
}

/**
 * Terminus polls a backup workflow every 5 s; many creates at once would poll Pantheon's API hard, so
 * mirror asks for every 10 s unless the user set TERMINUS_WORKFLOW_POLLING_DELAY_MS themselves.
 */
function politePolling(env = process.env): number | undefined {
  return env.TERMINUS_WORKFLOW_POLLING_DELAY_MS ? undefined : 10_000
}
