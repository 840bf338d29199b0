import {Args, Flags} from '@oclif/core'

import {BaseCommand, PRUNE_EXIT_CODES_HELP} from '../../base-command.js'
import {UsageError} from '../../errors.js'
import {
  checkDestinationFlags,
  destinationFlags,
  destinationFrom,
  elementsFrom,
  mirrorFlags,
  policyFrom,
  retentionFlags,
  s3Settings,
  vaultFlags,
} from '../../flags.js'
import {openInventories} from '../../jobs/destinations.js'
import {PRUNE_JSON} from '../../jobs/json.js'
import {prune, pruneExitCode, type PruneResult} from '../../jobs/prune.js'
import {parseSiteEnv} from '../../plan/targets.js'
import * as ask from '../../ui/prompts.js'
import {formatPrunePlan, formatPruneTotals, reportPrune} from '../../ui/prune-report.js'
import {plural} from '../../util/plural.js'

const {endpoint, prefix, profile, region} = destinationFlags

export default class Prune extends BaseCommand<typeof Prune> {
  static override args = {
    'site.env': Args.string({
      description: 'Only the series of these site environments (<site>.<env>); default: every series under the prefix',
      required: false,
    }),
  }
  static override description = `Keeps a mirror to a retention policy with restic's "forget" rules: pbm's archives are sorted into series (one per site, env and element, found by listing the destination: no Terminus call), and of each series the policy keeps the newest backup of each of the last N hours, days, ISO weeks, months or years that have one (--keep-hourly ... --keep-yearly), the N newest (--keep-last), and everything within a duration of the newest (--keep-within). Rules are OR-ed, one backup can serve several, and every kept backup says why. Periods come from the UTC time in Pantheon's filename.

Only keys <prefix><site>/<env>/<Pantheon filename> that carry pbm's record of a verified transfer (S3 metadata; the local completion record) are counted: anything else is "not pbm's" and never touched (--include-unrecorded also counts archives without a record, as the old shell script left them). The newest backup of a series is never removed. A backup dated more than a day after this run's clock is not trusted: it is kept, reported as a warning, and never counts as the newest, as the anchor of --keep-within or as one of a count. In a local folder, each file is removed only while its folder still resolves to <root>/<site>/<env>. An object under S3 Object Lock or a legal hold is reported as kept (locked until DATE); on a versioned bucket a removal writes a delete marker, and pbm says so.

A vault (--restic REPO) is pruned by the same plan: each removed backup is its data snapshot and its completion record, forgotten by ID with one \`restic forget\` (never a snapshot pbm did not write), then \`restic prune\` frees their space. pbm's own leftovers in the vault (a data snapshot whose run died before saving its completion record, older than the lock lease or stored again since; a record whose data is gone) are removed with them, each with its reason. restic holds the repository exclusively while it forgets and prunes: a mirror into the vault at the same time makes the prune fail (exit 1), nothing half done.

At a terminal pbm shows the plan and asks; without one, removing needs --yes. --dry-run prints the plan and removes nothing (its --json says "removed": 0 and puts the plan in "wouldRemove" and "bytesWouldFree"); --max-delete N refuses a plan that removes more than N.

${PRUNE_EXIT_CODES_HELP}`
  static override examples = [
    {
      command:
        '<%= config.bin %> <%= command.id %> --bucket s3://backups/pantheon --keep-daily 7 --keep-weekly 4 --keep-monthly 6 --dry-run',
      description: 'What a grandfather-father-son policy would keep and remove, and why.',
    },
    {
      command:
        'RESTIC_PASSWORD_FILE=~/.config/pbm/vault-password <%= config.bin %> <%= command.id %> --restic /srv/vault --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --yes',
      description: 'A vault: restic forget of exactly the planned snapshots, then restic prune.',
    },
    {
      command: '<%= config.bin %> <%= command.id %> mysite.live --to /srv/backups --keep-within 45d --yes',
      description: 'Keep every backup of mysite.live within 45 days of its newest one.',
    },
    {
      command:
        'PBM_BUCKET=my-backups PBM_KEEP_DAILY=14 PBM_KEEP_MONTHLY=12 <%= config.bin %> <%= command.id %> --max-delete 200 --yes',
      description: 'From cron: the policy from the environment, and a guard against removing too much at once.',
    },
  ]
  static override flags = {
    ...retentionFlags,
    bucket: mirrorFlags.bucket,
    'dry-run': Flags.boolean({summary: 'Print the plan and remove nothing.'}),
    element: Flags.string({
      char: 'e',
      multiple: true,
      options: ['code', 'files', 'db', 'database'],
      summary: 'Only the series of this element; repeat for more (env: PBM_ELEMENTS, comma-separated).',
    }),
    endpoint,
    prefix,
    profile,
    region,
    to: mirrorFlags.to,
    ...vaultFlags,
  }
  static override jsonShape = PRUNE_JSON
  static override strict = false
  static override summary = 'Remove the backups of a mirror that a retention policy does not keep (restic’s rules).'

  public async run(): Promise<PruneResult> {
    const {argv, flags} = await this.parse(Prune)
    const {signal} = this.abort
    checkDestinationFlags(flags)
    const policy = policyFrom(flags)
    const targets = (argv as string[]).filter(Boolean).map((text) => parseSiteEnv(text))
    const elements = elementsFrom(flags.element)
    const [{inventory, location}] = openInventories(destinationFrom(this.flags, 'Which mirror?'), s3Settings(flags))
    const dryRun = Boolean(flags['dry-run'])
    const {interactive} = this
    if (!dryRun && !interactive && !flags.yes) {
      throw new UsageError(
        'Removing backups needs --yes when there is no terminal to ask at.',
        'Add --yes (or set PBM_YES=1), or look first with --dry-run.',
      )
    }

    let planShown = false
    const confirm = async (plan: PruneResult): Promise<boolean> => {
      this.log(formatPrunePlan(plan))
      // Nothing is removed yet: the totals say what would be.
      this.log(formatPruneTotals(plan))
      planShown = true
      const n = plan.summary.wouldRemove ?? 0
      return ask.askConfirm(`Remove ${plural(n, 'backup')} from ${location}?`, signal, false)
    }

    const result = await this.withRenderer({lines: true}, (events) =>
      prune(
        {
          dryRun,
          elements,
          includeUnrecorded: flags['include-unrecorded'],
          maxDelete: flags['max-delete'],
          now: new Date(),
          policy,
          targets,
        },
        {events, inventory, location, ...(interactive ? {confirm} : {})},
        signal,
      ),
    )
    if (!this.jsonEnabled()) {
      reportPrune({error: (l) => this.logToStderr(l), log: (l) => this.log(l)}, result, {planShown})
    }

    process.exitCode = pruneExitCode(result)
    return result
  }
}
