import {Args, Flags} from '@oclif/core'
import {stat} from 'node:fs/promises'

import type {Backup} from '../../catalog/types.js'

import {BaseCommand, RESTORE_EXIT_CODES_HELP} from '../../base-command.js'
import {parseDateInput} from '../../catalog/index.js'
import {
  checkPresignLifetime,
  DEFAULT_PRESIGN_SECONDS,
  MAX_PRESIGN_SECONDS,
  MIN_PRESIGN_SECONDS,
} from '../../destination/presign.js'
import {PbmError, UsageError} from '../../errors.js'
import {checkEndpoint, checkFileFlag, destinationFlags, elementsFrom, vaultFlags, vaultFrom} from '../../flags.js'
import {RESTORE_JSON} from '../../jobs/json.js'
import {
  openRestoreMirror,
  restore,
  type RestoreMirror,
  saveArchives,
  savedRows,
  type SavePlan,
  stageMissing,
  withRecordedFolders,
} from '../../jobs/restore.js'
import {restoreExitCode, type RestoreResult} from '../../jobs/results.js'
import {archiveKey, parseBucket} from '../../plan/destination.js'
import {checkFileTarget, looksLikeFilePath} from '../../plan/local-target.js'
import {
  checkImportSize,
  mirrorSetsNewestFirst,
  type RestorableElement,
  restorableElements,
  selectForRestore,
} from '../../plan/restore.js'
import {type BackupChoice, hasBackupChoice, narrowToElements} from '../../plan/select.js'
import {formatSiteEnv, parseSiteEnv, type SiteEnv} from '../../plan/targets.js'
import * as ask from '../../ui/prompts.js'
import {describeRestorePlan, reportRestore} from '../../ui/restore.js'
import {resolveFolder} from '../../util/home.js'

const ORDER: RestorableElement[] = ['files', 'database']

/** `90m`, `3h`, `2d`, or plain seconds. */
export function parseLifetime(text: string): number {
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(text)
  if (!match) {
    throw new UsageError(
      `--presign-expiry takes a duration like 30m, 3h or 2d (or seconds), not "${text}".`,
      'From 5m to 7d (S3’s cap for presigned URLs); the default, 30m, fits a 500 MB import.',
    )
  }

  const unit = {'': 1, d: 86_400, h: 3600, m: 60, s: 1}[match[2].toLowerCase() as '' | 'd' | 'h' | 'm' | 's']
  const seconds = Number(match[1]) * unit
  if (seconds < MIN_PRESIGN_SECONDS || seconds > MAX_PRESIGN_SECONDS) {
    throw new UsageError(
      `--presign-expiry is from 5m to 7d (S3’s cap for presigned URLs), not ${text}.`,
      'The default, 30m, fits a 500 MB import; raise it for a slow one.',
    )
  }

  return checkPresignLifetime(seconds)
}

export default class Restore extends BaseCommand<typeof Restore> {
  static override args = {
    'target.env': Args.string({
      description: 'The site environment to restore into, as in Terminus: <site>.<env>',
      name: 'TARGET_SITE.ENV',
      // At a terminal a missing target is asked; without one it is a usage error (checkNothingToAsk).
      required: false,
    }),
  }
  static override description = `Brings a mirrored backup back to Pantheon, for when Pantheon no longer holds it: verifies the archive in the mirror (pbm's record; --deep reads it back in full), presigns a GET URL for a short, stated time, and runs \`terminus import:database\` / \`terminus import:files\` into TARGET_SITE.ENV, waiting for Pantheon's workflow. The presigned URL is never printed or logged.

From a vault (--restic REPO), each archive is \`restic dump\` of its snapshot, gzip-compressed on the fly into a .tar.gz/.sql.gz under its Pantheon filename; its content's SHA-256 must be the one recorded when it was mirrored, or nothing is imported. It then goes through --stage like a local mirror's archive.

--output PATH writes the archives to local files instead of importing them (a file for one archive, or a folder that takes each under its Pantheon filename): from any source, verified as they stream (a mirror's archive by size, MD5 and gzip; a vault's by its content's SHA-256), 0600, under the final name only once complete. A different existing file is not replaced without --force. With --output, nothing on Pantheon changes: TARGET_SITE.ENV may be left out (--from names whose backup), and no stage, --yes or Terminus is needed.

From a local mirror (--to DIR), Pantheon still needs a URL: --stage s3://bucket/prefix uploads the archive there for the import and deletes it afterwards, also after a failure or Ctrl-C. A stage that a crash left behind is marked (tags and metadata) with its URL's expiry, and deleted by the next restore through that stage (or backup:prune of its bucket) once the URL has expired.

The URL is valid for --presign-expiry (default 30m) and, on a versioned bucket, names the version that was verified. It is an argument of \`terminus import:*\`, so local users can read it in the process table while the import runs: restore on a single-tenant runner, or mount /proc with hidepid=2.

Guardrails: the code cannot be restored (it lives in the site's Git repository); archives above Pantheon's 500MB URL-import limit are refused before any change, with the manual route; a live target needs --allow-live (and, at a terminal, typing the site name); a backup of the target is created first unless --no-backup-first; --dry-run prints the steps and changes nothing. With a terminal, missing choices are asked; without one (or with --json), everything must be in flags, --yes included.

${RESTORE_EXIT_CODES_HELP}`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> mysite.dev --from mysite.live --bucket my-backups',
      description: "Choose one of live's mirrored backups interactively and restore it into dev.",
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> mysite.dev --from mysite.live --latest --element db --bucket s3://my-backups/pantheon --yes',
      description: "The newest mirrored database of live into dev, unattended (a backup of dev's database first).",
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> mysite.test --at 2024-05-01 --element files --to /srv/mirror --stage s3://scratch/pbm-stage --yes',
      description: 'From a local mirror, through a temporary S3 stage (deleted after the import).',
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> mysite.dev --from mysite.live --at 2024-05-01 --element db --restic /srv/vault --stage s3://scratch/pbm-stage --yes',
      description: "From a vault: live's database of May 1st, content-checked, staged and imported into dev.",
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> --from mysite.live --latest --element db --restic /srv/vault --output ~/restores/',
      description:
        "Write live's newest database from the vault to ~/restores/<Pantheon filename>; nothing is imported.",
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> mysite.live --latest --element db --bucket my-backups --allow-live --dry-run',
      description: 'Print what restoring live would run, and change nothing.',
    },
  ]
  static override jsonShape = RESTORE_JSON
  static override flags = {
    bucket: Flags.string({
      env: 'PBM_BUCKET',
      helpGroup: 'DESTINATION',
      helpValue: 'NAME|s3://BUCKET/PREFIX',
      summary: 'The S3 mirror: a bucket name or s3://bucket/prefix.',
    }),
    endpoint: destinationFlags.endpoint,
    prefix: destinationFlags.prefix,
    profile: destinationFlags.profile,
    region: destinationFlags.region,
    ...vaultFlags,
    to: Flags.string({
      env: 'PBM_TO',
      exclusive: ['bucket'],
      helpGroup: 'DESTINATION',
      helpValue: 'DIR',
      summary: 'The local mirror folder (layout <site>/<env>/<file>); needs --stage.',
    }),
    stage: Flags.string({
      env: 'PBM_STAGE',
      helpGroup: 'DESTINATION',
      helpValue: 's3://BUCKET/PREFIX',
      summary: 'With --to or --restic: where the archive is uploaded for Pantheon to fetch; deleted after the import.',
    }),
    output: Flags.string({
      char: 'o',
      helpGroup: 'DESTINATION',
      helpValue: 'PATH',
      summary:
        'Write the archive to this file (or into this folder, under its Pantheon filename) instead of importing it.',
    }),
    force: Flags.boolean({summary: 'With --output: replace a different file at that path.'}),
    from: Flags.string({
      helpGroup: 'BACKUP',
      helpValue: 'SITE.ENV',
      summary: 'Whose backup to restore (default: the target itself).',
    }),
    at: Flags.string({
      exclusive: ['file', 'latest'],
      helpGroup: 'BACKUP',
      helpValue: 'DATE',
      summary:
        'The newest mirrored archive of each element at or before this date (2024-05-01 = end of that day, UTC).',
    }),
    file: Flags.string({
      exclusive: ['at', 'latest'],
      helpGroup: 'BACKUP',
      helpValue: 'FILENAME',
      multiple: true,
      summary: 'A mirrored archive by its exact filename; repeat for the files and the database.',
    }),
    latest: Flags.boolean({
      exclusive: ['at', 'file'],
      helpGroup: 'BACKUP',
      summary: 'The newest mirrored archive of each element.',
    }),
    element: Flags.string({
      char: 'e',
      helpGroup: 'BACKUP',
      multiple: true,
      options: ['files', 'db', 'database', 'code'],
      summary: 'What to restore: db and/or files; repeat for both (code is refused: it lives in Git).',
    }),
    deep: Flags.boolean({summary: 'Read each archive back in full (size, MD5, gzip integrity) before importing it.'}),
    'presign-expiry': Flags.string({
      default: '30m',
      env: 'PBM_PRESIGN_EXPIRY',
      helpValue: 'DURATION',
      summary:
        'How long the presigned URL Pantheon fetches stays valid (30m fits a 500 MB import): 5m to 7d, e.g. 90m, 3h, 2d.',
    }),
    'allow-live': Flags.boolean({summary: 'Allow restoring into a live environment.'}),
    'backup-first': Flags.boolean({
      allowNo: true,
      default: true,
      summary: 'Create a backup of the target’s elements first (terminus backup:create); --no-backup-first skips it.',
    }),
    'dry-run': Flags.boolean({summary: 'Print the steps that would run (URL redacted) and change nothing.'}),
  }
  static override summary = 'Restore a mirrored backup (database, files) into a Pantheon environment.'

  public async run(): Promise<RestoreResult> {
    const {flags} = this
    const {signal} = this.abort
    const targetArg = this.args['target.env']
    const choice: BackupChoice = {
      at: flags.at === undefined ? undefined : parseDateInput(flags.at),
      files: flags.file,
      latest: flags.latest,
    }
    const given = elementsFrom(flags.element)
    const elements = given ? restorableElements(given) : undefined
    const dryRun = flags['dry-run']
    checkEndpoint(flags.endpoint)
    checkFileFlag(flags.file)
    const output = flags.output ? resolveFolder(flags.output) : undefined
    if (targetArg && !output) this.checkLive(parseSiteEnv(targetArg))
    const sources = [flags.bucket && '--bucket', flags.to && '--to', flags.restic && '--restic'].filter(Boolean)
    if (sources.length === 0) {
      throw new UsageError(
        'Where is the mirror? No --bucket, --to or --restic was given.',
        'Add --bucket NAME|s3://BUCKET/PREFIX, --to DIR or --restic REPO.',
      )
    }

    if (sources.length > 1) throw new UsageError(`A restore reads one mirror: ${sources.join(' or ')}, not both.`)
    if (flags.prefix && !flags.bucket) throw new UsageError('--prefix goes with --bucket.')
    if (flags.force && !output) throw new UsageError('--force goes with --output (a file that may be replaced).')
    if (output && flags.stage) {
      throw new UsageError('--output writes a local file and imports nothing: --stage is not used with it.')
    }

    if ((flags.to || flags.restic) && !flags.stage && !output) throw stageMissing()
    if (flags.stage && !flags.to && !flags.restic) {
      throw new UsageError(
        '--stage is for a local mirror (--to DIR) or a vault (--restic REPO); an S3 mirror is presigned where it is.',
      )
    }

    const expiresInSeconds = parseLifetime(flags['presign-expiry'] ?? String(DEFAULT_PRESIGN_SECONDS))
    this.checkNothingToAsk(choice, elements, dryRun, Boolean(output))
    const s3 = {endpoint: flags.endpoint, profile: flags.profile, region: flags.region}
    const mirror = openRestoreMirror({
      local: flags.to ? {root: resolveFolder(flags.to)} : undefined,
      s3: flags.bucket ? {...s3, ...parseBucket(flags.bucket, flags.prefix)} : undefined,
      stage: flags.stage ? {...s3, ...parseBucket(flags.stage)} : undefined,
      vault: vaultFrom(flags).restic,
    })
    if (output) return this.saveToFiles(mirror, output, choice, elements, signal)
    const target = targetArg ? parseSiteEnv(targetArg) : this.checkLive(await this.askTarget(signal))
    const where = formatSiteEnv(target)
    const source = await this.chooseSource(mirror, target, signal)
    const archives = await mirror.listArchives(source.site, source.env, signal)
    if (archives.length === 0) {
      throw new PbmError('no-backups', `The mirror holds no archives of ${formatSiteEnv(source)}.`, {
        hint: `Mirror them first (pbm backup:mirror ${formatSiteEnv(source)} ...), or check --bucket/--prefix/--to.`,
      })
    }

    const chosen = await this.chooseBackups(mirror, source, archives, choice, elements, signal)
    const items = chosen.map((backup) => ({backup, key: archiveKey(backup)}))
    // Refused before anything is asked or changed: Pantheon would not import it through a URL.
    for (const item of items) {
      checkImportSize(
        {element: item.backup.element as RestorableElement, file: item.backup.file, size: item.backup.sizeBytes},
        target,
      )
    }

    const view = {
      archives: items.map((i) => ({
        date: i.backup.date,
        element: i.backup.element,
        file: i.backup.file,
        from: mirror.describe(i.key),
        size: i.backup.sizeBytes,
      })),
      backupFirst: flags['backup-first'],
      expiresInSeconds,
      source,
      stage: flags.stage,
      target,
    }
    if (dryRun && !this.jsonEnabled()) this.log(describeRestorePlan(view))
    if (this.interactive && !dryRun) {
      this.log(describeRestorePlan(view))
      const ok =
        target.env === 'live'
          ? await ask.askTypeName(
              target.site,
              `This replaces the ${view.archives.map((a) => a.element).join(' and ')} of LIVE.`,
              signal,
            )
          : await ask.askConfirmNo(`Import into ${where} now? This replaces what is there.`, signal)
      if (!ok) {
        this.log(`Cancelled: nothing was changed on ${where}.`)
        return {backupFirst: {element: 'all', status: 'skipped', target: where}, restored: []}
      }
    }

    const plan = {backupFirst: flags['backup-first'], deep: flags.deep, dryRun, expiresInSeconds, items, target}
    const terminus = this.openTerminus()
    const result = await this.withRenderer({lines: true}, (events) => restore(plan, {events, mirror, terminus}, signal))
    if (!this.jsonEnabled()) reportRestore({error: (l) => this.logToStderr(l), log: (l) => this.log(l)}, result)
    process.exitCode = restoreExitCode(result, signal)
    return result
  }

  /** --output: the chosen archives into local files; no target, no Terminus, no stage. */
  private async saveToFiles(
    mirror: RestoreMirror,
    output: string,
    choice: BackupChoice,
    elements: RestorableElement[] | undefined,
    signal: AbortSignal,
  ): Promise<RestoreResult> {
    const targetArg = this.args['target.env']
    const source = this.flags.from
      ? parseSiteEnv(this.flags.from)
      : targetArg
        ? parseSiteEnv(targetArg)
        : await this.chooseSource(mirror, undefined, signal)
    const archives = await mirror.listArchives(source.site, source.env, signal)
    if (archives.length === 0) {
      throw new PbmError('no-backups', `The mirror holds no archives of ${formatSiteEnv(source)}.`, {
        hint: `Mirror them first (pbm backup:mirror ${formatSiteEnv(source)} ...), or check --bucket/--prefix/--to/--restic.`,
      })
    }

    const chosen = await this.chooseBackups(mirror, source, archives, choice, elements, signal)
    const isFolder = (await stat(output).catch(() => {}))?.isDirectory() || !looksLikeFilePath(output)
    if (!isFolder) checkFileTarget(output, chosen)
    const plan: SavePlan = {
      force: this.flags.force,
      items: chosen.map((backup) => ({backup, key: archiveKey(backup)})),
      output: isFolder ? {folder: output} : {file: output},
      source,
    }
    if (this.flags['dry-run']) {
      const result: RestoreResult = {
        backupFirst: {element: 'all', status: 'skipped', target: ''},
        restored: savedRows(plan, mirror, 'planned'),
      }
      if (!this.jsonEnabled()) reportRestore({error: (l) => this.logToStderr(l), log: (l) => this.log(l)}, result)
      return result
    }

    const result = await this.withRenderer({lines: true}, (events) => saveArchives(plan, {events, mirror}, signal))
    if (!this.jsonEnabled()) reportRestore({error: (l) => this.logToStderr(l), log: (l) => this.log(l)}, result)
    process.exitCode = restoreExitCode(result, signal)
    return result
  }

  private async chooseBackups(
    mirror: RestoreMirror,
    source: SiteEnv,
    archives: Awaited<ReturnType<RestoreMirror['listArchives']>>,
    choice: BackupChoice,
    elements: RestorableElement[] | undefined,
    signal: AbortSignal,
  ): Promise<Backup[]> {
    let chosen: Backup[]
    if (hasBackupChoice(choice)) {
      chosen = selectForRestore(source.site, source.env, archives, choice, elements ?? ORDER)
      if (choice.files?.length && elements) {
        chosen = chosen.filter((b) => elements.includes(b.element as RestorableElement))
        if (chosen.length === 0) throw new UsageError('None of the --file archives is of the --element asked for.')
      }
    } else {
      // The list shows who started each set (pbm's record of Pantheon's folder), as backup:pick's does.
      const sets = mirrorSetsNewestFirst(
        source.site,
        source.env,
        await withRecordedFolders(mirror, source, archives, signal),
      )
      if (sets.length === 0)
        throw new PbmError('no-backups', `The mirror holds no database or files archive of ${formatSiteEnv(source)}.`)
      const set = await ask.askBackupSet(sets, signal)
      const asked =
        elements ??
        restorableElements(
          set.backups.length > 1 ? await ask.askElements(set, signal) : set.backups.map((b) => b.element),
        )
      chosen = narrowToElements(set, asked)
    }

    const byElement = new Map<string, Backup>()
    for (const backup of chosen) {
      if (byElement.has(backup.element)) {
        throw new UsageError(`Two ${backup.element} archives were chosen; a restore imports one of each.`)
      }

      byElement.set(backup.element, backup)
    }

    return ORDER.flatMap((el) => byElement.get(el) ?? [])
  }

  private async chooseSource(
    mirror: RestoreMirror,
    target: SiteEnv | undefined,
    signal: AbortSignal,
  ): Promise<SiteEnv> {
    if (this.flags.from) return parseSiteEnv(this.flags.from)
    if (!this.interactive && target) return target
    const siteEnvs = await mirror.listSiteEnvs(signal)
    if (siteEnvs.length === 0)
      throw new PbmError('no-backups', 'The mirror holds no archives at all.', {hint: 'Check --bucket/--prefix/--to.'})
    return ask.askSourceSiteEnv(siteEnvs, target, signal)
  }

  /** A live target needs --allow-live, given or asked. */
  private checkLive(target: SiteEnv): SiteEnv {
    if (target.env === 'live' && !this.flags['allow-live']) {
      throw new UsageError(
        `${formatSiteEnv(target)} is a live environment: restoring replaces what visitors see.`,
        'Add --allow-live if that is what you mean (a backup of it is made first unless --no-backup-first).',
      )
    }

    return target
  }

  /** The site.env to restore into, asked at a terminal: site, then environment, as backup:pick asks. */
  private async askTarget(signal: AbortSignal): Promise<SiteEnv> {
    const terminus = this.openTerminus()
    // Named as the target: the next question asks which site.env's backup goes into it.
    const site = await ask.askSite(await terminus.listSites({signal}), signal, 'Restore into site (type to filter)')
    const envs = await terminus.listEnvironments(site, {signal})
    const env = await ask.askEnvironment(site, envs, signal, `Restore into which environment of ${site}`)
    return {env, site}
  }

  /** Without a person to ask, every choice must be in the flags: say which is missing before any call. */
  private checkNothingToAsk(
    choice: BackupChoice,
    elements: RestorableElement[] | undefined,
    dryRun: boolean,
    output: boolean,
  ): void {
    if (this.interactive) return
    if (output && !this.args['target.env'] && !this.flags.from) {
      throw new UsageError(
        'Whose backup? With --output and no TARGET_SITE.ENV, --from names it.',
        'Add --from SITE.ENV, for example: pbm backup:restore --from mysite.live --output ./restores ...',
      )
    }

    if (!output && !this.args['target.env']) {
      throw new UsageError(
        'Restore into which site environment? The TARGET_SITE.ENV argument is missing.',
        'Add it, for example: pbm backup:restore mysite.dev --from mysite.live ...',
      )
    }

    if (!hasBackupChoice(choice)) {
      throw new UsageError(
        'Which backup? Without a terminal pbm does not guess.',
        'Add --latest, --at DATE, or --file NAME (a filename in the mirror).',
      )
    }

    if (!elements && !choice.files?.length) {
      throw new UsageError(
        'What to restore? Without a terminal pbm does not guess.',
        'Add --element db and/or --element files.',
      )
    }

    if (!dryRun && !output && !this.flags.yes) {
      throw new UsageError(
        `Restoring replaces what ${formatSiteEnv(parseSiteEnv(this.args['target.env']!))} holds, and nobody is here to confirm it.`,
        'Add --yes (or --dry-run to see the steps first).',
      )
    }
  }
}
