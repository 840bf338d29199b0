import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {ELEMENTS} from '../../catalog/index.js'
import {UsageError} from '../../errors.js'
import {
  checkDestinationFlags,
  destinationFlags,
  destinationFrom,
  elementsFrom,
  listFlag,
  mirrorFlags,
  s3Settings,
  vaultFlags,
} from '../../flags.js'
import {openVerifyStores} from '../../jobs/destinations.js'
import {VERIFY_JSON} from '../../jobs/json.js'
import {type MirrorTargets} from '../../jobs/mirror.js'
import {verify, verifyExitCode, type VerifyResult} from '../../jobs/verify.js'
import {expandTargets} from '../../plan/targets.js'
import {parseSample} from '../../plan/verify.js'
import {reportVerify} from '../../ui/verify-report.js'

/** restic-style, so that cron and Kubernetes can tell a broken mirror from an outage. */
export const VERIFY_EXIT_CODES_HELP = `Exit codes: 0 everything checked is ok (a site.env gone from Pantheon included); 3 problems found (objects missing, corrupt or unverifiable; site.envs incomplete, stale or missing: listed); 1 something could not be verified (Terminus not logged in or not there, which stops the run up front; a site.env Terminus could not list; the store failed; this wins over 3, since the run cannot vouch for the mirror); 2 a usage error; 130 interrupted (Ctrl-C).`

export default class Verify extends BaseCommand<typeof Verify> {
  static override args = {
    'site.env': Args.string({
      description: 'Site environments to verify, as <site>.<env> (default: every one in the mirror)',
      required: false,
    }),
  }
  static override description = `Is the newest backup of every site.env in the mirror, is every stored archive still byte for byte what Pantheon gave, and is anything too old?

Quick (default): every pbm archive in the mirror is checked against the record pbm wrote when it stored it (S3 metadata; the local completion record): its size, and a plain-MD5 ETag against the recorded MD5. An archive without a record is "unverifiable". Coverage: every archive of the newest backup set of each site.env on Pantheon (terminus backup:list) is in the mirror, or it is "missing". No archive bytes are read.

--deep reads every archive back (S3 GET or the local file), recomputing MD5 and CRC32C and inflating the whole gzip stream with the same verifier the transfers use, at close to download speed and in bounded memory. --sample K/N reads a deterministic slice (K of N: run 1/7 on Mondays ... 7/7 on Sundays to read everything each week); --sample P% a random share.

A vault (--restic REPO): coverage and age come from its snapshots (an archive counts with its completion record); quick runs \`restic check\` (the repository's structure), --deep runs \`restic check --read-data-subset\` (every pack read back and hashed; --sample K/N reads slice K of N of the packs, P% a random share), and the archives whose content sits in a damaged pack are "corrupt", each naming the pack. restic holds the repository exclusively while it checks: a mirror into the vault at the same time makes the check an error (exit 1).

Each site.env gets a status: "ok"; "incomplete" (an archive of the newest set on Pantheon is not in the mirror); "stale" (see --max-age); "missing" (nothing of it in the mirror); "gone" (Pantheon no longer has the site or env, and the mirror keeps its backups: reported, not a problem); "error" (Terminus could not list it). Not logged in, or no Terminus to run, stops the run once, before checking, with one message.

--max-age HOURS marks a site.env whose newest mirrored backup is older as "stale". --offline skips Terminus: coverage and age come from the mirror alone (no "incomplete" or "gone" then). --repair re-mirrors what is missing or corrupt from Pantheon while Pantheon still has it; a corrupt object is replaced, the one case pbm overwrites without --force, because it is provably damaged.

${VERIFY_EXIT_CODES_HELP}`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --bucket my-backups --max-age 26',
      description: 'Every site.env in the bucket: records, coverage against Pantheon, nothing older than 26 hours.',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --bucket my-backups --deep --sample "$(date +%u)/7"',
      description: 'From cron: read a seventh of the archives back every night, all of them each week.',
    },
    {
      command: '<%= config.bin %> <%= command.id %> mysite.live --to /srv/backups --offline --json',
      description: 'One site.env in a local folder, without Terminus, as JSON.',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --bucket my-backups --repair',
      description: 'Re-mirror whatever is missing or corrupt, then say what could not be repaired.',
    },
  ]
  static override jsonShape = VERIFY_JSON
  static override flags = {
    ...destinationFlags,
    ...mirrorFlags,
    ...vaultFlags,
    concurrency: Flags.integer({
      default: 4,
      env: 'PBM_CONCURRENCY',
      min: 1,
      summary: 'Archives read back (or repaired) at the same time.',
    }),
    deep: Flags.boolean({
      env: 'PBM_DEEP',
      helpGroup: 'VERIFY',
      summary: 'Read every archive back: MD5, CRC32C and full gzip integrity.',
    }),
    element: Flags.string({
      char: 'e',
      multiple: true,
      options: ['code', 'files', 'db', 'database'],
      summary: 'Element to verify; repeat for more (env: PBM_ELEMENTS, comma-separated) [default: all].',
    }),
    env: Flags.string({
      multiple: true,
      summary: 'Environment of each --site; repeat for more [default: dev, live] (env: PBM_ENVS).',
    }),
    'max-age': Flags.integer({
      env: 'PBM_MAX_AGE',
      helpGroup: 'VERIFY',
      helpValue: 'HOURS',
      min: 1,
      summary: 'A site.env whose newest mirrored backup is older than this is stale.',
    }),
    offline: Flags.boolean({
      env: 'PBM_OFFLINE',
      helpGroup: 'VERIFY',
      summary: 'No Terminus: coverage and age from the mirror alone.',
    }),
    org: Flags.string({env: 'PBM_ORG', summary: 'Verify every site of this organization (name or ID).'}),
    quiet: Flags.boolean({char: 'q', env: 'PBM_QUIET', summary: 'Print only the problems and the summary.'}),
    repair: Flags.boolean({
      env: 'PBM_REPAIR',
      helpGroup: 'VERIFY',
      summary: 'Re-mirror missing and corrupt archives from Pantheon (corrupt ones are replaced).',
    }),
    sample: Flags.string({
      dependsOn: ['deep'],
      env: 'PBM_SAMPLE',
      helpGroup: 'VERIFY',
      helpValue: 'K/N|P%',
      summary: 'With --deep: read only slice K of N (deterministic), or a random P percent.',
    }),
    site: Flags.string({multiple: true, summary: 'A site to verify; repeat for more (env: PBM_SITES).'}),
    tag: Flags.string({dependsOn: ['org'], env: 'PBM_TAG', summary: 'With --org: only sites with this tag.'}),
    'terminus-concurrency': Flags.integer({
      default: 4,
      env: 'PBM_TERMINUS_CONCURRENCY',
      helpGroup: 'LIMITS',
      min: 1,
      summary: 'Terminus calls at the same time; Pantheon throttles scripted fan-out.',
    }),
  }
  static override strict = false
  static override summary = 'Check the mirror: coverage, recorded checksums, --deep re-read, age; exit 3 on problems.'

  public async run(): Promise<VerifyResult> {
    const {flags} = this
    const {signal} = this.abort
    checkDestinationFlags(flags)
    const destination = destinationFrom(this.flags, 'Which mirror?')
    const sample = flags.sample === undefined ? undefined : parseSample(flags.sample)
    if (flags.offline && flags.repair) {
      throw new UsageError('--repair mirrors from Pantheon, and --offline keeps pbm away from it.', 'Leave out one.')
    }

    const targets = await this.chooseTargets()
    if (flags.offline && targets && !Array.isArray(targets)) {
      throw new UsageError(
        '--org needs Terminus to list the sites, and --offline was given.',
        'Give SITE.ENV or --site.',
      )
    }

    const terminus = flags.offline ? undefined : this.openTerminus({concurrency: flags['terminus-concurrency']})
    const plan = {
      concurrency: flags.concurrency,
      deep: flags.deep,
      elements: elementsFrom(flags.element) ?? [...ELEMENTS],
      maxAgeHours: flags['max-age'],
      offline: flags.offline,
      repair: flags.repair,
      sample,
      targets,
    }
    const stores = openVerifyStores(destination, s3Settings(flags))
    const result = await this.withRenderer({quiet: flags.quiet}, (events) =>
      verify(plan, {events, stores, terminus}, signal),
    )
    if (!this.jsonEnabled()) {
      reportVerify({error: (l) => this.logToStderr(l), log: (l) => this.log(l)}, result, {quiet: flags.quiet})
    }

    process.exitCode = verifyExitCode(result.summary, signal)
    return result
  }

  /** SITE.ENV arguments, --site x --env, or --org; none of them: everything in the mirror. */
  private async chooseTargets(): Promise<MirrorTargets | undefined> {
    const {argv, flags} = await this.parse(Verify)
    const explicit = (argv as string[]).filter(Boolean)
    const envs = listFlag(flags.env, 'PBM_ENVS') ?? ['dev', 'live']
    const sites = listFlag(flags.site, 'PBM_SITES') ?? []
    const withEnv = sites.find((site) => site.includes('.'))
    if (withEnv) {
      throw new UsageError(
        `--site takes a site name, not "${withEnv}".`,
        `Give ${withEnv} as an argument (pbm backup:verify ${withEnv}), or use --site with --env.`,
      )
    }

    if (flags.org) {
      if (explicit.length > 0 || sites.length > 0) throw new UsageError('Give either --org or sites, not both.')
      return {envs, org: flags.org, tag: flags.tag}
    }

    if (explicit.length === 0 && sites.length === 0) return undefined
    return expandTargets(explicit, sites, envs)
  }
}
