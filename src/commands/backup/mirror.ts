import {Args, Flags} from '@oclif/core'
import path from 'node:path'

import {BaseCommand, EXIT_CODES_HELP} from '../../base-command.js'
import {ELEMENTS} from '../../catalog/index.js'
import {EXIT, UsageError} from '../../errors.js'
import {
  checkDestinationFlags,
  destinationFlags,
  elementsFrom,
  listFlag,
  s3Settings,
  transferFlags,
} from '../../flags.js'
import {openDestinations} from '../../jobs/destinations.js'
import {mirror, type MirrorTargets} from '../../jobs/mirror.js'
import {exitCodeOf, type MirrorResult} from '../../jobs/results.js'
import {verifyExitCode, type VerifyResult, verifyStored} from '../../jobs/verify.js'
import {type DestinationChoice, parseBucket} from '../../plan/destination.js'
import {parseSinceInput} from '../../plan/select.js'
import {expandTargets} from '../../plan/targets.js'
import * as ask from '../../ui/prompts.js'
import {reportMirror} from '../../ui/report.js'
import {openTerminus} from '../../ui/terminus.js'
import {reportVerify} from '../../ui/verify-report.js'

export default class Mirror extends BaseCommand<typeof Mirror> {
  static override args = {
    'site.env': Args.string({
      description: 'Site environments to mirror, as <site>.<env>; give as many as you like',
      required: false,
    }),
  }
  static override description = `The "pantheon-backup-to-s3.sh" script of Pantheon's guide, done right: for every site × environment × element, optionally create a backup first (--create), then stream the newest backup set (or with --all every listed backup) into S3 and/or a local folder. Transfers run in parallel (--concurrency), Terminus calls under their own limits, every archive is verified, and a re-run only transfers what is missing. One failing site never stops the others.

Sites come from SITE.ENV arguments, from --site × --env, or from every site of --org (optionally --tag). Frozen sites and uninitialized environments are skipped with a note. Every flag also reads an environment variable, for cron; TERMINUS_USER passes through to Terminus.

${EXIT_CODES_HELP} With --verify: 3 when the mirror succeeded but the verify found problems.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --site site-one --site site-two --bucket my-backups --create --yes',
      description: 'What pantheon-backup-to-s3.sh does (dev and live, code files db), in parallel and verified.',
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> --org my-agency --tag nightly --env live --bucket s3://backups/pantheon',
      description: 'The newest backups of every live environment of an organization’s tagged sites.',
    },
    {
      command: '<%= config.bin %> <%= command.id %> mysite.live --all --since 2024-05-01 --to /srv/backups',
      description: 'Every backup since 1 May not yet in a local folder.',
    },
    {
      command:
        'PBM_SITES="site-one site-two" PBM_BUCKET=my-backups <%= config.bin %> <%= command.id %> --create --quiet',
      description: 'From cron: configuration from the environment, only the summary and errors printed.',
    },
  ]
  static override flags = {
    ...destinationFlags,
    ...transferFlags,
    all: Flags.boolean({
      env: 'PBM_ALL',
      helpGroup: 'BACKUP',
      summary: 'Every listed backup not yet at the destination, not only the newest set.',
    }),
    create: Flags.boolean({
      env: 'PBM_CREATE',
      helpGroup: 'BACKUP',
      summary: 'Create a backup first (terminus backup:create) and mirror what it made.',
    }),
    'create-concurrency': Flags.integer({
      default: 8,
      env: 'PBM_CREATE_CONCURRENCY',
      helpGroup: 'LIMITS',
      min: 1,
      summary: 'backup:create runs at the same time; they mostly wait on Pantheon.',
    }),
    'create-timeout': Flags.integer({
      default: 60,
      env: 'PBM_CREATE_TIMEOUT',
      helpGroup: 'BACKUP',
      helpValue: 'MINUTES',
      min: 1,
      summary: 'Give up on a backup:create after this long (Terminus itself waits forever).',
    }),
    env: Flags.string({
      multiple: true,
      summary: 'Environment of each --site; repeat for more [default: dev, live] (env: PBM_ENVS).',
    }),
    'fail-fast': Flags.boolean({
      env: 'PBM_FAIL_FAST',
      summary: 'Stop at the first failure (in-flight transfers are aborted cleanly).',
    }),
    'keep-for': Flags.integer({
      env: 'PBM_KEEP_FOR',
      helpGroup: 'BACKUP',
      helpValue: 'DAYS',
      min: 1,
      summary: 'With --create: how long Pantheon keeps the new backup (Terminus default: 365).',
    }),
    org: Flags.string({env: 'PBM_ORG', summary: 'Mirror every site of this organization (name or ID).'}),
    quiet: Flags.boolean({char: 'q', env: 'PBM_QUIET', summary: 'Print only the summary and errors.'}),
    since: Flags.string({
      dependsOn: ['all'],
      env: 'PBM_SINCE',
      helpGroup: 'BACKUP',
      helpValue: 'DATE',
      summary: 'With --all: only backups finished at or after this date or date-time.',
    }),
    site: Flags.string({multiple: true, summary: 'A site to mirror; repeat for more (env: PBM_SITES).'}),
    tag: Flags.string({dependsOn: ['org'], env: 'PBM_TAG', summary: 'With --org: only sites with this tag.'}),
    verify: Flags.boolean({
      env: 'PBM_VERIFY',
      summary:
        "Last step: the quick verify of what was mirrored (it is there, its size agrees with pbm's record); problems exit 3.",
    }),
    'terminus-concurrency': Flags.integer({
      default: 4,
      env: 'PBM_TERMINUS_CONCURRENCY',
      helpGroup: 'LIMITS',
      min: 1,
      summary: 'Short Terminus calls (list, get) at the same time; Pantheon throttles scripted fan-out.',
    }),
  }
  static override strict = false
  static override summary = 'Mirror the newest (or all) backups of many sites and environments, in parallel.'

  public async run(): Promise<MirrorResult & {verify?: VerifyResult}> {
    const {flags} = this
    const {signal} = this.abort
    const terminus = openTerminus(flags.terminus, {
      concurrency: flags['terminus-concurrency'],
      createConcurrency: flags['create-concurrency'],
    })
    const elements = elementsFrom(flags.element) ?? [...ELEMENTS]
    const since = flags.since === undefined ? undefined : parseSinceInput(flags.since)
    checkDestinationFlags(flags)
    // Before any Terminus call or question: a run without a destination cannot do anything.
    const destination = this.chooseDestination()
    const targets = await this.chooseTargets(terminus, signal)

    const plan = {
      all: flags.all,
      concurrency: flags.concurrency,
      create: flags.create,
      createTimeoutMs: flags['create-timeout'] * 60_000,
      dryRun: flags['dry-run'],
      elements,
      failFast: flags['fail-fast'],
      force: flags.force,
      keepForDays: flags['keep-for'],
      since,
      targets,
    }
    const destinations = openDestinations(destination, s3Settings(flags))
    const result = await this.withRenderer({quiet: flags.quiet}, (events) =>
      mirror(plan, {destinations, events, terminus}, signal),
    )
    if (!this.jsonEnabled()) {
      reportMirror({error: (l) => this.logToStderr(l), log: (l) => this.log(l)}, result, {quiet: flags.quiet})
    }

    process.exitCode = exitCodeOf(result.summary, signal)
    if (!flags.verify || plan.dryRun || signal.aborted) return result

    // The mirror's own failure (1) wins; otherwise what the verify found decides (3, or 1 if it could not look).
    const verified = await this.withRenderer({quiet: flags.quiet}, (events) =>
      verifyStored(result.archives, destinations, events, signal),
    )
    if (!this.jsonEnabled()) {
      reportVerify({error: (l) => this.logToStderr(l), log: (l) => this.log(l)}, verified, {quiet: flags.quiet})
    }

    if (process.exitCode === EXIT.ok) process.exitCode = verifyExitCode(verified.summary, signal)
    return {...result, verify: verified}
  }

  private chooseDestination(): DestinationChoice {
    const {bucket, prefix, to} = this.flags
    if (!bucket && !to) {
      throw new UsageError(
        'Where to? No destination was given.',
        'Add --bucket NAME (or s3://bucket/prefix) and/or --to DIR, or set PBM_BUCKET / PBM_TO.',
      )
    }

    return {
      local: to ? {path: path.resolve(to)} : undefined,
      s3: bucket ? parseBucket(bucket, prefix) : undefined,
    }
  }

  private async chooseTargets(terminus: ReturnType<typeof openTerminus>, signal: AbortSignal): Promise<MirrorTargets> {
    const {argv, flags} = await this.parse(Mirror)
    const explicit = (argv as string[]).filter(Boolean)
    const envs = listFlag(flags.env, 'PBM_ENVS') ?? ['dev', 'live']
    let sites = listFlag(flags.site, 'PBM_SITES') ?? []
    const withEnv = sites.find((site) => site.includes('.'))
    if (withEnv) {
      throw new UsageError(
        `--site takes a site name, not "${withEnv}".`,
        `Give ${withEnv} as an argument (pbm backup:mirror ${withEnv}), or use --site with --env.`,
      )
    }

    if (flags.org) {
      if (explicit.length > 0 || sites.length > 0) throw new UsageError('Give either --org or sites, not both.')
      return {envs, org: flags.org, tag: flags.tag}
    }

    if (explicit.length === 0 && sites.length === 0) {
      if (!this.interactive) {
        throw new UsageError(
          'Which sites? None was given.',
          'Add SITE.ENV arguments, --site NAME (with --env), --org ORG, or set PBM_SITES.',
        )
      }

      sites = await ask.askSites(await terminus.listSites({signal}), signal)
    }

    return expandTargets(explicit, sites, envs)
  }
}
