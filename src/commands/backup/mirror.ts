import {Args, Flags} from '@oclif/core'

import type {openTerminus} from '../../ui/terminus.js'

import {BaseCommand, EXIT_CODES_HELP, PRUNE_EXIT_CODES_HELP} from '../../base-command.js'
import {ELEMENTS} from '../../catalog/index.js'
import {EXIT, UsageError} from '../../errors.js'
import {
  checkDestinationFlags,
  checkNotSwallowed,
  destinationFlags,
  destinationFrom,
  elementsFrom,
  listFlag,
  policyFrom,
  retentionFlags,
  s3Settings,
  transferFlags,
  vaultFlags,
} from '../../flags.js'
import {openDestinations, openInventories} from '../../jobs/destinations.js'
import {createRelay} from '../../jobs/events.js'
import {MIRROR_JSON} from '../../jobs/json.js'
import {mirror, type MirrorTargets} from '../../jobs/mirror.js'
import {prune, pruneExitCode} from '../../jobs/prune.js'
import {describeFailure, exitCodeOf, mirrorPingSummary, type MirrorResult, summarize} from '../../jobs/results.js'
import {verifyExitCode, type VerifyResult, verifyStored} from '../../jobs/verify.js'
import {parseSinceInput} from '../../plan/select.js'
import {parseShard} from '../../plan/shard.js'
import {expandTargets} from '../../plan/targets.js'
import {parseTerminusRate} from '../../terminus/index.js'
import * as ask from '../../ui/prompts.js'
import {formatPruneTotals, reportPrune} from '../../ui/prune-report.js'
import {describeMirrorPlan, reportMirror} from '../../ui/report.js'
import {reportVerify} from '../../ui/verify-report.js'
import {parsePingUrl, pingBody, Pinger, type PingOutcome} from '../../util/ping.js'
import {resolveTimeoutMs} from '../../util/timeouts.js'

/** The environments of each --site when none are given: what pantheon-backup-to-s3.sh mirrors. */
const DEFAULT_ENVS = ['dev', 'live'] as const

export default class Mirror extends BaseCommand<typeof Mirror> {
  static override args = {
    'site.env': Args.string({
      description: 'Site environments to mirror, as <site>.<env>; give as many as you like',
      required: false,
    }),
  }
  static override description = `The "pantheon-backup-to-s3.sh" script of Pantheon's guide, done right: for every site × environment × element, optionally create a backup first (--create), then stream the newest backup set (or with --all every listed backup) into S3 and/or a local folder. Transfers run in parallel (--concurrency), Terminus calls under their own limits, every archive is verified, and a re-run only transfers what is missing. One failing site never stops the others.

Sites come from SITE.ENV arguments, from --site × --env, or from every site of --org (optionally --tag). A frozen site gets no --create (Pantheon makes no new backup of it), but the backups Pantheon still lists for it are mirrored; uninitialized environments are skipped with a note. Every flag also reads an environment variable, for cron; TERMINUS_USER and the other TERMINUS_* settings pass through to Terminus (not TERMINUS_HTTP_MAX_RETRIES).

With --prune and a retention policy (the --keep-* flags, restic's rules as in backup:prune), each site.env whose archives were all mirrored and verified then has its series pruned at every destination; a site.env with any failure is not pruned in that run. --prune is the consent to remove: there is no question, and --dry-run shows the prune plan too.

${EXIT_CODES_HELP} With --verify: 3 when the mirror succeeded but the verify found problems. With --prune: ${PRUNE_EXIT_CODES_HELP.replace('Exit codes: ', '')}`
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
        'RESTIC_PASSWORD_FILE=~/.config/pbm/vault-password <%= config.bin %> <%= command.id %> --site mysite --restic s3:https://s3.amazonaws.com/my-vault',
      description:
        'Into a vault (a restic repository made once with restic init): each night stores only what changed.',
    },
    {
      command:
        'PBM_SITES="site-one site-two" PBM_BUCKET=my-backups <%= config.bin %> <%= command.id %> --create --quiet',
      description: 'From cron: configuration from the environment, only the summary and errors printed.',
    },
  ]
  static override jsonShape = MIRROR_JSON
  static override flags = {
    ...destinationFlags,
    ...vaultFlags,
    ...transferFlags,
    ...retentionFlags,
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
    prune: Flags.boolean({
      env: 'PBM_PRUNE',
      helpGroup: 'RETENTION',
      summary: 'After mirroring, apply the --keep-* policy to each site.env mirrored without a failure.',
    }),
    quiet: Flags.boolean({char: 'q', env: 'PBM_QUIET', summary: 'Print only the summary and errors.'}),
    since: Flags.string({
      dependsOn: ['all'],
      env: 'PBM_SINCE',
      helpGroup: 'BACKUP',
      helpValue: 'DATE',
      summary: 'With --all: only backups at or after this date or date-time (the time in their filenames).',
    }),
    site: Flags.string({multiple: true, summary: 'A site to mirror; repeat for more (env: PBM_SITES).'}),
    tag: Flags.string({dependsOn: ['org'], env: 'PBM_TAG', summary: 'With --org: only sites with this tag.'}),
    ping: Flags.string({
      env: 'PBM_PING',
      helpGroup: 'FLEET',
      helpValue: 'URL',
      summary:
        'Health check (healthchecks.io style): a POST to URL/start as the run begins, then to URL on success, URL/<exit code> when the run ends with failures or problems, or URL/fail when it stops on an error; each body holds the counts and the first errors, and ?rid= pairs a start with its end. A check UUID alone means https://hc-ping.com/UUID. A failed ping is only a warning; --dry-run sends none.',
    }),
    shard: Flags.string({
      env: 'PBM_SHARD',
      helpGroup: 'FLEET',
      helpValue: 'K/N',
      summary:
        'Mirror only shard K of N (1-based): sites are assigned by a hash of their name, all environments of a site together; for Kubernetes Indexed Jobs (K = JOB_COMPLETION_INDEX + 1) and Actions matrices.',
    }),
    'terminus-rate': Flags.string({
      env: 'PBM_TERMINUS_RATE',
      helpGroup: 'LIMITS',
      helpValue: 'CALLS/MIN',
      summary:
        'At most this many Terminus calls per minute across the run (60, 60/min, 2/s, 900/h; off); throttling by Pantheon pauses every call with back-off either way.',
    }),
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

  public async run(): Promise<MirrorResult> {
    const {flags} = this
    const {signal} = this.abort
    const shard =
      flags.shard === undefined
        ? undefined
        : parseShard(flags.shard, flags.shard === process.env.PBM_SHARD ? 'PBM_SHARD' : '--shard')
    const pinger = flags.ping === undefined ? undefined : new Pinger(parsePingUrl(flags.ping))
    const relay = createRelay()
    const terminus = this.openTerminus({
      callsPerMinute: flags['terminus-rate'] === undefined ? undefined : parseTerminusRate(flags['terminus-rate']),
      concurrency: flags['terminus-concurrency'],
      createConcurrency: flags['create-concurrency'],
      events: relay,
    })
    const elements = elementsFrom(flags.element) ?? [...ELEMENTS]
    const since = flags.since === undefined ? undefined : parseSinceInput(flags.since)
    checkDestinationFlags(flags)
    // Before any Terminus call or question: a run without a destination cannot do anything.
    const destination = destinationFrom(this.flags, 'Where to?')
    const policy = this.choosePolicy()
    const targets = await this.chooseTargets(terminus, signal)
    if (this.interactive && !flags['dry-run']) {
      this.log(describeMirrorPlan({all: flags.all, create: flags.create, destination, elements, targets}))
      if (!(await ask.askConfirm('Mirror now?', signal))) {
        // Saying no is an answer, not a failure.
        this.log('Cancelled: nothing was mirrored.')
        return {archives: [], summary: summarize([], 0), targets: []}
      }
    }

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
      shard,
      since,
      targets,
      timeoutMs: resolveTimeoutMs(flags.timeout),
    }
    const destinations = openDestinations(destination, s3Settings(flags))
    const ping = async (outcome: Promise<PingOutcome> | undefined) => {
      const sent = await outcome
      if (sent && !sent.ok) this.logToStderr(`! ${sent.warning}`)
    }

    if (!plan.dryRun) await ping(pinger?.start())
    let result: MirrorResult
    try {
      result = await this.withRenderer({quiet: flags.quiet}, async (events): Promise<MirrorResult> => {
        relay.attach(events)
        const mirrored = await mirror(plan, {destinations, events, terminus}, signal)
        if (!policy) return mirrored
        // Only what this run mirrored and verified completely (or, on a dry run, planned): a site.env
        // with any failure keeps everything until a run that mirrors it well.
        const healthy = mirrored.targets
          .filter((t) => t.status === 'mirrored' || (plan.dryRun && t.status === 'planned'))
          .map((t) => ({env: t.env, site: t.site}))
        if (healthy.length === 0 || signal.aborted) return {...mirrored, prune: []}
        const pruned = []
        for (const {inventory, location} of openInventories(destination, s3Settings(flags))) {
          const request = {
            dryRun: plan.dryRun,
            elements,
            includeUnrecorded: flags['include-unrecorded'],
            maxDelete: flags['max-delete'],
            now: new Date(),
            policy,
            targets: healthy,
          }
          pruned.push(await prune(request, {events, inventory, location}, signal))
        }

        return {...mirrored, prune: pruned}
      })
    } catch (error) {
      if (!plan.dryRun) {
        const body = pingBody({command: this.id ?? 'backup:mirror', counts: {}, errors: [describeFailure(error)]})
        await ping(pinger?.fail(body))
      }

      throw error
    }

    const out = {error: (l: string) => this.logToStderr(l), log: (l: string) => this.log(l)}
    if (!this.jsonEnabled()) {
      reportMirror(out, result, {quiet: flags.quiet})
      for (const pruned of result.prune ?? []) {
        out.log('')
        if (flags.quiet) out.log(`${pruned.location}: ${formatPruneTotals(pruned)}`)
        else reportPrune(out, pruned)
      }
    }

    const pruneCode = Math.max(0, ...(result.prune ?? []).map((p) => pruneExitCode(p)))
    const mirrorCode = exitCodeOf(result.summary, signal)
    process.exitCode = mirrorCode === 0 ? pruneCode : mirrorCode
    if (flags.verify && !plan.dryRun && !signal.aborted) {
      // The mirror's own failure (1) wins; otherwise what the verify found decides (3, or 1 if it could not look).
      // What the prune just removed is gone by design: the verify checks what the mirror holds now.
      const pruned = new Set(
        (result.prune ?? []).flatMap((p) =>
          p.series.flatMap((s) => s.remove.filter((r) => r.status === 'removed').map((r) => r.location)),
        ),
      )
      const held = result.archives.filter((a) => !pruned.has(a.location))
      const verified: VerifyResult = await this.withRenderer({quiet: flags.quiet}, (events) =>
        verifyStored(held, destinations, events, signal),
      )
      if (!this.jsonEnabled()) reportVerify(out, verified, {quiet: flags.quiet})
      if (process.exitCode === EXIT.ok) process.exitCode = verifyExitCode(verified.summary, signal)
      result = {...result, verify: verified}
    }

    if (!plan.dryRun && pinger) {
      const body = pingBody(mirrorPingSummary(this.id ?? 'backup:mirror', result))
      await ping(process.exitCode === 0 ? pinger.success(body) : pinger.exitStatus(process.exitCode, body))
    }

    return result
  }

  /**
   * --prune's policy. A --keep-* flag on the command line without --prune would be ignored, so it is
   * refused; from the environment (PBM_KEEP_*, shared with a backup:prune cron job) it is not.
   */
  private choosePolicy(): ReturnType<typeof policyFrom> | undefined {
    const {flags} = this
    if (flags.prune) return policyFrom(flags)
    const given = this.argv.find((arg) => Object.keys(retentionFlags).some((name) => arg.split('=')[0] === `--${name}`))
    if (given)
      throw new UsageError(`${given.split('=')[0]} is a retention setting, but --prune was not given.`, 'Add --prune.')
    return undefined
  }

  private async chooseTargets(terminus: ReturnType<typeof openTerminus>, signal: AbortSignal): Promise<MirrorTargets> {
    const {argv, flags} = await this.parse(Mirror)
    const explicit = (argv as string[]).filter(Boolean)
    checkNotSwallowed('env', flags.env)
    const givenEnvs = listFlag(flags.env, 'PBM_ENVS')
    let envs = givenEnvs ?? [...DEFAULT_ENVS]
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

    if (this.interactive && sites.length > 0 && !givenEnvs) {
      // Every environment the chosen sites have (test and multidevs too), the default ones checked;
      // each site then mirrors those of the chosen that it has.
      const has = new Map<string, string[]>()
      for (const site of sites)
        has.set(
          site,
          (await terminus.listEnvironments(site, {signal})).map((e) => e.name),
        )
      envs = await ask.askEnvironments([...has.values()].flat(), DEFAULT_ENVS, signal)
      const chosen = sites.flatMap((site) =>
        envs.filter((env) => has.get(site)?.includes(env)).map((env) => `${site}.${env}`),
      )
      return expandTargets([...explicit, ...chosen], [], [])
    }

    return expandTargets(explicit, sites, envs)
  }
}
