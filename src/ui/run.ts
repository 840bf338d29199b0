import type {Command} from '@oclif/core'

import type {Terminus} from '../terminus/index.js'

import {InterruptedError} from '../errors.js'
import {type DestinationChoice} from '../plan/destination.js'
import {createLimit} from '../util/limit.js'
import {openDestinations} from './destinations.js'
import {chooseOutputMode} from './renderer.js'
import {formatResults, formatSummary} from './report.js'
import {type ArchiveResult, baseOf, type RunSummary, summarize} from './results.js'
import {runTasks} from './tasks.js'
import {archiveTask, type PlannedArchive, type TransferRun} from './transfers.js'

export interface PickResult {
  archives: ArchiveResult[]
  summary: RunSummary
}

/** The flags every transferring command has (see flags.ts). */
export interface TransferFlags {
  concurrency: number
  endpoint?: string
  force: boolean
  json?: boolean
  profile?: string
  quiet?: boolean
  region?: string
  sse?: 'AES256' | 'aws:kms'
  'sse-kms-key-id'?: string
  'storage-class'?: string
}

/**
 * Preflight the destinations, transfer a flat list of archives with a live task list, print the table
 * and summary, and set the exit code. Shared by backup:pick; backup:mirror builds its own tree from
 * the same pieces.
 */
export async function transferPlanned(options: {
  command: Command
  destination: DestinationChoice
  dryRun: boolean
  fileTarget: boolean
  flags: TransferFlags
  planned: PlannedArchive[]
  signal: AbortSignal
  terminus: Terminus
}): Promise<PickResult> {
  const {command, flags, planned, signal} = options
  const started = Date.now()
  const destinations = openDestinations(options.destination, s3Settings(flags), options.fileTarget)
  if (options.dryRun) {
    const archives = planned.flatMap(({backup, key}) =>
      destinations.map((d) => ({
        ...baseOf(backup),
        destination: d.kind,
        location: d.describe(key),
        status: 'planned' as const,
      })),
    )
    const result = {archives, summary: summarize(archives, 0)}
    if (!flags.json) command.log(formatResults(archives))
    return result
  }

  const mode = chooseOutputMode({json: flags.json, quiet: flags.quiet})
  const run: TransferRun = {
    destinations,
    force: flags.force,
    lineMode: mode.lineMode,
    progressEveryMs: mode.progressEveryMs,
    results: [],
    signal,
    slot: createLimit(flags.concurrency),
    terminus: options.terminus,
  }
  await preflight(destinations, signal)
  await runTasks(
    planned.map((item) => archiveTask(item, run, `${item.backup.element}`)),
    mode,
    {concurrent: true},
  )
  return finish(command, run.results, started, flags, signal)
}

export function s3Settings(flags: TransferFlags) {
  return {
    endpoint: flags.endpoint,
    profile: flags.profile,
    region: flags.region,
    sse: flags.sse,
    sseKmsKeyId: flags['sse-kms-key-id'],
    storageClass: flags['storage-class'],
  }
}

/** Fail before any download when a destination cannot take the archives (no bucket, no access, ...). */
export async function preflight(
  destinations: {preflight(signal?: AbortSignal): Promise<void>}[],
  signal: AbortSignal,
): Promise<void> {
  await Promise.all(destinations.map((d) => d.preflight(signal)))
}

/** Print the table and summary (not under --json), set the exit code, and return the --json result. */
export function finish(
  command: Command,
  archives: ArchiveResult[],
  started: number,
  flags: {json?: boolean},
  signal: AbortSignal,
): PickResult {
  const summary = summarize(archives, (Date.now() - started) / 1000)
  if (!flags.json) {
    command.log('')
    command.log(formatResults(archives))
    command.log('')
    command.log(formatSummary(summary))
  }

  if (signal.aborted && signal.reason instanceof InterruptedError) process.exitCode = 130
  else if (summary.failed > 0) process.exitCode = 1
  return {archives, summary}
}
