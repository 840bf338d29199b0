import type {Command} from '@oclif/core'
import type {ListrTask} from 'listr2'

import {setMaxListeners} from 'node:events'

import type {Element} from '../catalog/types.js'
import type {Terminus} from '../terminus/index.js'
import type {Site} from '../terminus/types.js'

import {InterruptedError, isAbortError, PbmError} from '../errors.js'
import {archiveKey, type DestinationChoice} from '../plan/destination.js'
import {selectForMirror} from '../plan/select.js'
import {formatSiteEnv, type SiteEnv, skipReason} from '../plan/targets.js'
import {createLimit} from '../util/limit.js'
import {openDestinations} from './destinations.js'
import {formatUtc} from './format.js'
import {chooseOutputMode} from './renderer.js'
import {formatResults, formatSummary} from './report.js'
import {type ArchiveResult, baseOf, type RunSummary, summarize} from './results.js'
import {preflight, s3Settings, type TransferFlags} from './run.js'
import {runTasks} from './tasks.js'
import {archiveTask, describeFailure, type TransferRun} from './transfers.js'

/** What happened to one site.env as a whole (its archives are in `archives`). */
export interface TargetResult {
  site: string
  env: string
  status: 'failed' | 'mirrored' | 'planned' | 'skipped'
  note?: string
  error?: {code: string; message: string}
}

export interface MirrorResult {
  targets: TargetResult[]
  archives: ArchiveResult[]
  summary: RunSummary
}

export interface MirrorFlags extends TransferFlags {
  all: boolean
  create: boolean
  'create-timeout': number
  'dry-run': boolean
  'fail-fast': boolean
  'keep-for'?: number
  since?: Date
}

type Targets = SiteEnv[] | {envs: string[]; org: string; tag?: string}

/**
 * backup:mirror's run: one task per site.env (create → list → one task per archive), all site.envs at
 * once, with Terminus calls, creates and transfers each under their own limit. Failures are recorded
 * per site.env and per archive and never stop the rest, unless --fail-fast.
 */
export async function mirrorTargets(options: {
  command: Command
  destination: DestinationChoice
  elements: Element[]
  flags: MirrorFlags
  signal: AbortSignal
  targets: Targets
  terminus: Terminus
}): Promise<MirrorResult> {
  const {command, elements, flags, terminus} = options
  const started = Date.now()
  const failFast = new AbortController()
  const signal = AbortSignal.any([options.signal, failFast.signal])
  setMaxListeners(0, signal)
  const {sites, targets} = await resolveTargets(terminus, options.targets, signal)
  const destinations = openDestinations(options.destination, s3Settings(flags))
  const mode = chooseOutputMode({json: flags.json, quiet: flags.quiet})
  const targetResults: TargetResult[] = []
  const run: TransferRun = {
    destinations,
    force: flags.force,
    onFailure() {
      // The failure itself is recorded where it happened; everything stopped because of it is "interrupted".
      if (flags['fail-fast'] && !failFast.signal.aborted)
        failFast.abort(new InterruptedError('Not finished: stopped by --fail-fast.'))
    },
    lineMode: mode.lineMode,
    progressEveryMs: mode.progressEveryMs,
    results: [],
    signal,
    slot: createLimit(flags.concurrency),
    terminus,
  }
  const envsOf = memoize((site: string) => terminus.listEnvironments(site, {signal}))

  if (!flags['dry-run']) await preflight(destinations, signal)

  const targetTask = (target: SiteEnv): ListrTask => {
    const name = formatSiteEnv(target)
    const record = (result: Omit<TargetResult, 'env' | 'site'>) => targetResults.push({...target, ...result})
    // A failing step's error does not reach this task's promise (listr2 handles subtasks itself):
    // record it here, or the target would vanish from the results and the run would exit 0.
    const fail = (error: unknown): never => {
      record({error: describeFailure(error), status: 'failed'})
      if (!isAbortError(error)) run.onFailure?.(error)
      throw error
    }

    return {
      async task(_ctx, task) {
        const skip = await envsOf(target.site)
          .then((envs) => skipReason(target, sites.get(target.site), envs))
          .catch((error: unknown) => {
            record({error: describeFailure(error), status: 'failed'})
            run.onFailure?.(error)
            throw error
          })
        if (skip) {
          record({note: skip, status: 'skipped'})
          task.skip(`${name}: skipped, ${skip}`)
          return
        }

        const steps: ListrTask[] = []
        if (flags.create) {
          steps.push({
            async task(_c, step) {
              if (flags['dry-run']) {
                step.skip('create backup: skipped (dry run)')
                return
              }

              await terminus
                .createBackup(target.site, target.env, {
                  element: elements.length === 1 ? elements[0] : 'all',
                  keepForDays: flags['keep-for'],
                  pollingDelayMs: politePolling(),
                  signal,
                  timeoutMs: flags['create-timeout'] * 60_000,
                })
                .catch(fail)
              step.title = 'create backup: done'
            },
            title: 'create backup',
          })
        }

        steps.push({
          async task(_c, step) {
            const backups = await terminus.listBackups(target.site, target.env, {signal}).catch(fail)
            const chosen = selectForMirror(backups, {all: flags.all, elements, since: flags.since})
            if (chosen.length === 0) {
              step.skip(`no ${elements.join('/')} backups to mirror`)
              record({note: 'no backups to mirror', status: 'skipped'})
              return
            }

            step.title = `${chosen.length} archive${chosen.length === 1 ? '' : 's'} of the backup of ${formatUtc(chosen[0].date)}${flags.all ? ' and older ones' : ''}`
            if (flags['dry-run']) {
              for (const backup of chosen) {
                for (const d of destinations) {
                  run.results.push({
                    ...baseOf(backup),
                    destination: d.kind,
                    location: d.describe(archiveKey(backup)),
                    status: 'planned',
                  })
                }
              }

              record({status: 'planned'})
              return
            }

            // Run the archives here rather than return them, so that this site.env shows as failed
            // (not as done) in the tree when one of its archives failed.
            await step
              .newListr(
                chosen.map((backup) => archiveTask({backup, key: archiveKey(backup)}, run, backup.element)),
                {concurrent: true, exitOnError: false},
              )
              .run()
            const failed = chosen.filter((b) => run.results.some((r) => r.file === b.file && r.status === 'failed'))
            if (failed.length > 0) {
              throw new PbmError('archives-failed', `${failed.length} of ${chosen.length} archives failed`)
            }
          },
          title: 'list backups',
        })

        // In order: list only after the create has finished.
        return task.newListr(steps, {concurrent: false, exitOnError: true})
      },
      title: name,
    }
  }

  const wrapped = targets.map((target): ListrTask => {
    const inner = targetTask(target)
    return {
      ...inner,
      async task(ctx, task) {
        try {
          return await (inner.task as (c: unknown, t: unknown) => Promise<unknown>)(ctx, task)
        } catch (error) {
          if (!targetResults.some((r) => r.site === target.site && r.env === target.env)) {
            targetResults.push({...target, error: describeFailure(error), status: 'failed'})
            if (!isAbortError(error)) run.onFailure?.(error)
          }

          throw error
        }
      },
    }
  })

  await runTasks(wrapped, mode, {concurrent: true})
  settleTargets(targets, targetResults, run.results, signal)
  return finishMirror(
    command,
    {archives: run.results, started, targets: targetResults},
    flags,
    options.signal,
    failFast.signal,
  )
}

/** Targets from arguments, or every site of an org; plus the site list, to know which are frozen. */
async function resolveTargets(
  terminus: Terminus,
  targets: Targets,
  signal: AbortSignal,
): Promise<{sites: Map<string, Site>; targets: SiteEnv[]}> {
  if (Array.isArray(targets)) {
    const sites = await terminus.listSites({signal})
    return {sites: new Map(sites.map((s) => [s.name, s])), targets}
  }

  const sites = await terminus.listOrgSites(targets.org, targets.tag, {signal})
  if (sites.length === 0) {
    throw new PbmError(
      'no-sites',
      `The organization ${targets.org} has no sites${targets.tag ? ` tagged ${targets.tag}` : ''}.`,
    )
  }

  return {
    sites: new Map(sites.map((s) => [s.name, s])),
    targets: sites.flatMap((site) => targets.envs.map((env) => ({env, site: site.name}))),
  }
}

/** A target whose task finished without a record is mirrored (or failed, if one of its archives did). */
function settleTargets(
  targets: SiteEnv[],
  results: TargetResult[],
  archives: ArchiveResult[],
  signal: AbortSignal,
): void {
  for (const target of targets) {
    if (results.some((r) => r.site === target.site && r.env === target.env)) continue
    const own = archives.filter((a) => a.site === target.site && a.env === target.env)
    const failed = own.find((a) => a.status === 'failed')
    if (failed) results.push({...target, error: failed.error, status: 'failed'})
    else if (own.length > 0) results.push({...target, status: 'mirrored'})
    else if (signal.aborted)
      results.push({
        ...target,
        error: {code: 'interrupted', message: 'Not started: the run was stopped.'},
        status: 'failed',
      })
  }
}

function finishMirror(
  command: Command,
  outcome: {archives: ArchiveResult[]; started: number; targets: TargetResult[]},
  flags: MirrorFlags,
  userSignal: AbortSignal,
  failFastSignal: AbortSignal,
): MirrorResult {
  const {archives, targets} = outcome
  const base = summarize(archives, (Date.now() - outcome.started) / 1000)
  const failedTargets = targets.filter(
    (t) =>
      t.status === 'failed' && !archives.some((a) => a.site === t.site && a.env === t.env && a.status === 'failed'),
  )
  const summary = {...base, failed: base.failed + failedTargets.length}
  if (!flags.json) {
    if (!flags.quiet) {
      command.log('')
      command.log(formatResults(archives))
    }

    for (const t of targets.filter((t) => t.status === 'skipped' && !flags.quiet))
      command.log(`- ${t.site}.${t.env}: skipped, ${t.note}`)
    for (const t of failedTargets) command.logToStderr(`✖ ${t.site}.${t.env}: ${t.error?.message}`)
    if (flags.quiet)
      for (const a of archives.filter((a) => a.status === 'failed'))
        command.logToStderr(`✖ ${a.site}.${a.env} ${a.element}: ${a.error?.message}`)
    command.log('')
    command.log(formatSummary(summary))
    if (failFastSignal.aborted && !userSignal.aborted) command.log('Stopped at the first failure (--fail-fast).')
  }

  if (userSignal.aborted && userSignal.reason instanceof InterruptedError) process.exitCode = 130
  else if (summary.failed > 0) process.exitCode = 1
  return {archives, summary, targets}
}

function memoize<T>(fn: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>()
  return (key) => {
    let hit = cache.get(key)
    if (!hit) {
      hit = fn(key)
      cache.set(key, hit)
    }

    return hit
  }
}

/**
 * Terminus polls a backup workflow every 5 s; many creates at once would poll Pantheon's API hard, so
 * mirror asks for every 10 s unless the user set TERMINUS_WORKFLOW_POLLING_DELAY_MS themselves.
 */
function politePolling(env = process.env): number | undefined {
  return env.TERMINUS_WORKFLOW_POLLING_DELAY_MS ? undefined : 10_000
}
