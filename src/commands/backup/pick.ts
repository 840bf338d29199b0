import {Args, Flags} from '@oclif/core'
import {stat} from 'node:fs/promises'

import type {Backup, Element} from '../../catalog/types.js'
import type {openTerminus} from '../../ui/terminus.js'

import {BaseCommand, EXIT_CODES_HELP} from '../../base-command.js'
import {groupIntoSets, parseDateInput} from '../../catalog/index.js'
import {PbmError, UsageError} from '../../errors.js'
import {
  checkDestinationFlags,
  checkFileFlag,
  destinationFlags,
  elementsFrom,
  s3Settings,
  transferFlags,
  vaultFlags,
  vaultFrom,
} from '../../flags.js'
import {openDestinations} from '../../jobs/destinations.js'
import {PICK_JSON} from '../../jobs/json.js'
import {pick} from '../../jobs/pick.js'
import {exitCodeOf, type PickResult, summarize} from '../../jobs/results.js'
import {withNearestNames} from '../../jobs/unknown-names.js'
import {archiveKey, type DestinationChoice, parseBucket} from '../../plan/destination.js'
import {checkFileTarget, looksLikeFilePath} from '../../plan/local-target.js'
import {
  type BackupChoice,
  checkNotExpired,
  hasBackupChoice,
  narrowToElements,
  selectBackups,
} from '../../plan/select.js'
import {formatSiteEnv, parseSiteEnv, type SiteEnv} from '../../plan/targets.js'
import * as ask from '../../ui/prompts.js'
import {describePlan, reportPick} from '../../ui/report.js'
import {resolveFolder} from '../../util/home.js'
import {resolveTimeoutMs} from '../../util/timeouts.js'

export default class Pick extends BaseCommand<typeof Pick> {
  static override args = {
    'site.env': Args.string({description: 'Site and environment, as in Terminus: <site>.<env>', required: false}),
  }
  static override description = `Lists the backups of a site environment (\`terminus backup:list\`), lets you choose one set — the newest, the newest at or before a date, or any archive by its filename, older ones too — and streams the chosen archives from Pantheon to S3 and/or a local folder, verified (size, MD5/CRC32C, gzip integrity) and resumable, under their Pantheon filenames with the right extension.

With a terminal and missing arguments it asks, step by step: site, environment, backup, elements, destination, then confirms. With --yes, --json, or no terminal it never asks: a missing choice is a usage error that names the flag.

${EXIT_CODES_HELP}`
  static override examples = [
    {command: '<%= config.bin %> <%= command.id %>', description: 'Choose everything interactively.'},
    {
      command:
        '<%= config.bin %> <%= command.id %> mysite.live --file mysite_live_2024-05-01T03-12-44_UTC_database.sql.gz --bucket my-backups --yes',
      description: 'Copy one older archive, by its filename, to S3 (as `terminus backup:get --file` names it).',
    },
    {
      command: '<%= config.bin %> <%= command.id %> mysite.live --latest --element db --to ./mysite.sql.gz --yes',
      description: 'Download the newest database backup to a file, like `terminus backup:get --to`, verified.',
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> mysite.live --at 2024-05-01 --bucket s3://my-backups/pantheon --yes --json',
      description:
        'The newest set of 1 May 2024 or earlier (by the time in its filenames), every element, to S3 under a prefix; JSON result.',
    },
  ]
  static override jsonShape = PICK_JSON
  static override flags = {
    ...destinationFlags,
    ...vaultFlags,
    ...transferFlags,
    at: Flags.string({
      exclusive: ['file', 'latest'],
      helpGroup: 'BACKUP',
      helpValue: 'DATE',
      summary:
        'The newest backup set at or before this date (2024-05-01 = end of that day, UTC) or date-time, by the time in its filenames; with --element, the newest archive of each element by then.',
    }),
    file: Flags.string({
      exclusive: ['at', 'latest'],
      helpGroup: 'BACKUP',
      helpValue: 'FILENAME|CATALOG_ID',
      multiple: true,
      summary: 'An archive by its exact filename or catalog ID, as `terminus backup:list` shows it; repeat for more.',
    }),
    latest: Flags.boolean({
      exclusive: ['at', 'file'],
      helpGroup: 'BACKUP',
      summary:
        'The newest backup set; with --element, the newest archive of each element (as terminus backup:get does).',
    }),
    to: Flags.string({
      env: 'PBM_TO',
      helpGroup: 'DESTINATION',
      helpValue: 'PATH',
      summary: 'Local folder (layout <site>/<env>/<file>), or, for one archive, a file path ending in its extension.',
    }),
  }
  static override summary = 'Choose any backup (newest, by date, or by filename) and transfer it to S3 or a folder.'

  public async run(): Promise<PickResult> {
    const {flags} = this
    const {signal} = this.abort
    const choice: BackupChoice = {
      at: flags.at === undefined ? undefined : parseDateInput(flags.at),
      files: flags.file,
      latest: flags.latest,
    }
    const elements = elementsFrom(flags.element)
    checkDestinationFlags(flags)
    checkFileFlag(flags.file)
    // `--to=~/x` reaches pbm unexpanded (a shell expands only a word that starts with ~).
    const to = flags.to === undefined ? undefined : resolveFolder(flags.to)
    this.checkNothingToAsk(choice)
    const terminus = this.openTerminus()
    const target = await this.chooseTarget(terminus, signal)
    const where = formatSiteEnv(target)
    const backups = await terminus.listBackups(target.site, target.env, {signal}).catch(async (error: unknown) => {
      throw await withNearestNames(terminus, target, error, signal)
    })
    if (backups.length === 0) {
      throw new PbmError('no-backups', `${where} has no backups.`, {
        hint: `Create one with: terminus backup:create ${where}`,
      })
    }

    const chosen = await this.chooseBackups(backups, choice, elements, signal)
    checkNotExpired(chosen)

    const fileTarget = await this.isFileTarget(to)
    if (fileTarget) checkFileTarget(to as string, chosen)
    const destination = await this.chooseDestination(to, signal)
    const planned = chosen.map((backup) => ({backup, key: archiveKey(backup)}))

    if (this.interactive && !flags['dry-run']) {
      this.log(
        describePlan(
          planned.map((p) => p.backup),
          destination,
        ),
      )
      if (!(await ask.askConfirm('Transfer now?', signal))) {
        // Saying no is an answer, not a failure.
        this.log('Cancelled: nothing was transferred.')
        return {archives: [], summary: summarize([], 0)}
      }
    }

    const destinations = openDestinations(destination, s3Settings(flags), fileTarget)
    const plan = {
      archives: planned,
      concurrency: flags.concurrency,
      dryRun: flags['dry-run'],
      force: flags.force,
      timeoutMs: resolveTimeoutMs(flags.timeout),
    }
    const result = await this.withRenderer({}, (events) => pick(plan, {destinations, events, terminus}, signal))
    if (!this.jsonEnabled())
      reportPick({error: (l) => this.logToStderr(l), log: (l) => this.log(l)}, result, {dryRun: plan.dryRun})
    process.exitCode = exitCodeOf(result.summary, signal)
    return result
  }

  private async chooseBackups(
    backups: Backup[],
    choice: BackupChoice,
    elements: Element[] | undefined,
    signal: AbortSignal,
  ): Promise<Backup[]> {
    if (hasBackupChoice(choice)) {
      const selected = selectBackups(backups, choice, choice.files?.length ? undefined : elements)
      // With --file, --element still narrows (and must match) what the names chose.
      if (choice.files?.length && elements?.length) {
        const narrowed = selected.filter((b) => elements.includes(b.element))
        if (narrowed.length === 0) throw new UsageError('None of the --file archives is of the --element asked for.')
        return narrowed
      }

      return selected
    }

    const set = await ask.askBackupSet(groupIntoSets(backups), signal)
    if (elements?.length) return narrowToElements(set, elements)
    const asked = set.backups.length > 1 ? await ask.askElements(set, signal) : set.backups.map((b) => b.element)
    return narrowToElements(set, asked)
  }

  private async chooseDestination(toFlag: string | undefined, signal: AbortSignal): Promise<DestinationChoice> {
    const {flags} = this
    let {bucket} = flags
    let to = toFlag
    if (!bucket && !to && !flags.restic) {
      ;({bucket, to} = await ask.askDestination({bucket, to}, signal))
    }

    return {
      local: to ? {path: resolveFolder(to)} : undefined,
      s3: bucket ? parseBucket(bucket, flags.prefix) : undefined,
      ...vaultFrom(flags),
    }
  }

  private async chooseTarget(terminus: ReturnType<typeof openTerminus>, signal: AbortSignal): Promise<SiteEnv> {
    if (this.args['site.env']) return parseSiteEnv(this.args['site.env'])
    const site = await ask.askSite(await terminus.listSites({signal}), signal)
    const env = await ask.askEnvironment(site, await terminus.listEnvironments(site, {signal}), signal)
    return {env, site}
  }

  /**
   * Without a person to ask, every choice must be in the flags: say which is missing before any
   * Terminus call, so a cron job fails in milliseconds, not after listing backups.
   */
  private checkNothingToAsk(choice: BackupChoice): void {
    if (this.interactive) return
    if (!this.args['site.env']) {
      throw new UsageError(
        'Which site? The SITE.ENV argument is missing.',
        'Add it, for example: pbm backup:pick mysite.live',
      )
    }

    parseSiteEnv(this.args['site.env'])
    if (!hasBackupChoice(choice)) {
      throw new UsageError(
        'Which backup? Without a terminal pbm does not guess.',
        'Add --latest, --at DATE, or --file NAME (the filename from `terminus backup:list`).',
      )
    }

    if (!this.flags.bucket && !this.flags.to && !this.flags.restic) {
      throw new UsageError(
        'Where to? No destination was given.',
        'Add --bucket NAME (or s3://bucket/prefix), --to PATH and/or --restic REPO.',
      )
    }
  }

  /** `--to` names a file when it is not an existing folder and its name ends like an archive. */
  private async isFileTarget(to: string | undefined): Promise<boolean> {
    if (!to) return false
    const existing = await stat(to).catch(() => {})
    if (existing?.isDirectory()) return false
    return looksLikeFilePath(to)
  }
}
