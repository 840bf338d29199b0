import {Flags} from '@oclif/core'

import type {Element} from './catalog/types.js'
import type {S3Settings} from './jobs/destinations.js'

import {isSafeFilename, isSiteName, normalizeElement, printable} from './catalog/index.js'
import {UsageError} from './errors.js'
import {type DestinationChoice, parseBucket} from './plan/destination.js'
import {parsePolicy, type RetentionPolicy} from './plan/retention.js'
import {resolveFolder} from './util/home.js'
import {resolveTimeoutMs} from './util/timeouts.js'

/**
 * Flags shared by backup:pick and backup:mirror. Every flag a cron job would set also reads an
 * environment variable; list-valued ones (elements, sites, envs) are read from comma-separated
 * variables by listFlag(), because oclif passes an env value to a `multiple` flag as one string.
 */
export const destinationFlags = {
  bucket: Flags.string({
    env: 'PBM_BUCKET',
    helpGroup: 'DESTINATION',
    helpValue: 'NAME|s3://BUCKET/PREFIX',
    summary: 'S3 bucket to mirror into.',
  }),
  endpoint: Flags.string({
    env: 'PBM_ENDPOINT',
    helpGroup: 'DESTINATION',
    helpValue: 'URL',
    summary: 'S3-compatible endpoint (MinIO, R2, B2, ...); AWS_ENDPOINT_URL_S3 works too.',
  }),
  prefix: Flags.string({
    env: 'PBM_PREFIX',
    helpGroup: 'DESTINATION',
    summary: 'Key prefix inside the bucket; keys are <prefix><site>/<env>/<file>.',
  }),
  profile: Flags.string({
    env: 'PBM_PROFILE',
    helpGroup: 'DESTINATION',
    summary: 'AWS profile from ~/.aws/config (default: the standard credential chain, AWS_PROFILE).',
  }),
  region: Flags.string({
    env: 'PBM_REGION',
    helpGroup: 'DESTINATION',
    summary: "The bucket's region (default: AWS_REGION or the profile's region).",
  }),
  sse: Flags.option({
    env: 'PBM_SSE',
    helpGroup: 'DESTINATION',
    options: ['AES256', 'aws:kms'] as const,
    summary: 'Server-side encryption of the stored objects.',
  })(),
  'sse-kms-key-id': Flags.string({
    dependsOn: ['sse'],
    env: 'PBM_SSE_KMS_KEY_ID',
    helpGroup: 'DESTINATION',
    summary: 'KMS key for --sse aws:kms.',
  }),
  'storage-class': Flags.string({
    env: 'PBM_STORAGE_CLASS',
    helpGroup: 'DESTINATION',
    summary: 'S3 storage class, e.g. STANDARD_IA, GLACIER_IR.',
  }),
  to: Flags.string({
    env: 'PBM_TO',
    helpGroup: 'DESTINATION',
    helpValue: 'PATH',
    summary: 'Local folder to mirror into (layout <site>/<env>/<file>).',
  }),
}

/**
 * --bucket and --to as the commands that read an existing mirror (prune, verify) describe them: the
 * same flags and variables as destinationFlags', in the words of what they point at.
 */
export const mirrorFlags = {
  bucket: Flags.string({
    env: 'PBM_BUCKET',
    helpGroup: 'DESTINATION',
    helpValue: 'NAME|s3://BUCKET/PREFIX',
    summary: 'S3 bucket holding the mirror (and the prefix it is under).',
  }),
  to: Flags.string({
    env: 'PBM_TO',
    helpGroup: 'DESTINATION',
    helpValue: 'PATH',
    summary: 'Local folder holding the mirror (layout <site>/<env>/<file>).',
  }),
}

/** A vault as a destination (backup:mirror and backup:pick), beside or instead of --bucket/--to. */
export const vaultFlags = {
  restic: Flags.string({
    env: 'PBM_RESTIC_REPO',
    helpGroup: 'DESTINATION',
    helpValue: 'REPO',
    summary:
      "A vault: a restic repository (made once with restic init) that keeps each archive's decompressed content as a snapshot; its password from RESTIC_PASSWORD_FILE/COMMAND.",
  }),
  'restic-bin': Flags.string({
    env: 'PBM_RESTIC_BIN',
    helpGroup: 'DESTINATION',
    helpValue: 'PATH',
    summary: 'The restic executable for --restic (0.14 or newer; default: restic on PATH).',
  }),
}

export const transferFlags = {
  timeout: Flags.integer({
    min: 1,
    summary:
      'Seconds to wait on a silent peer (S3 connect and idle, a download stalled, clean-up calls) before giving up or retrying; default 30 (env: PBM_TIMEOUT).',
  }),
  concurrency: Flags.integer({
    default: 4,
    env: 'PBM_CONCURRENCY',
    min: 1,
    summary: 'Archives transferred at the same time.',
  }),
  'dry-run': Flags.boolean({summary: 'Print the plan and transfer nothing.'}),
  element: Flags.string({
    char: 'e',
    multiple: true,
    options: ['code', 'files', 'db', 'database'],
    summary: 'Element to transfer; repeat for more (env: PBM_ELEMENTS, comma-separated).',
  }),
  force: Flags.boolean({
    env: 'PBM_FORCE',
    summary: 'Transfer again and overwrite an existing object or file of the same name.',
  }),
}

/**
 * A repeatable flag takes every word after it, so `--element db alpha.live` hands it the SITE.ENV meant
 * as the argument. The usage error naming the flag that swallowed it, or undefined when no value looks
 * like a SITE.ENV.
 */
export function swallowedBy(flag: string, values: readonly string[] | undefined): UsageError | undefined {
  const siteEnv = values?.find((value) => {
    const [site, env, ...rest] = value.split('.')
    return rest.length === 0 && env !== undefined && isSiteName(site) && isSiteName(env)
  })
  if (siteEnv === undefined) return undefined
  return new UsageError(
    `--${flag} took "${siteEnv}" as its value, but it looks like the SITE.ENV argument.`,
    `Put ${siteEnv} before the flags, or write --${flag}=VALUE.`,
  )
}

/** Refuse a repeatable flag's value that is a swallowed SITE.ENV (see swallowedBy). */
export function checkNotSwallowed(flag: string, values: readonly string[] | undefined): void {
  const error = swallowedBy(flag, values)
  if (error) throw error
}

/**
 * --file names an archive as Pantheon does (`mysite_live_2024-05-01T03-12-44_UTC_database.sql.gz`) or by
 * catalog ID: a value that cannot be a name at all (a path, `..`, a SITE.ENV the flag swallowed) is
 * refused before any call. A mistyped name goes on, to be answered with the nearest names listed.
 */
export function checkFileFlag(values: readonly string[] | undefined): void {
  checkNotSwallowed('file', values)
  for (const value of values ?? []) {
    if (isSafeFilename(value)) continue
    throw new UsageError(
      `--file takes an archive's name as Pantheon gives it, not a path: "${printable(value)}".`,
      'For example --file mysite_live_2024-05-01T03-12-44_UTC_database.sql.gz (`terminus backup:list SITE.ENV` lists them); --to says where it goes.',
    )
  }
}

/** A repeatable flag's values, or else the comma-separated environment variable's. */
export function listFlag(values: string[] | undefined, envName: string, env = process.env): string[] | undefined {
  if (values?.length)
    return values
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean)
  const fromEnv = env[envName]
  if (!fromEnv) return undefined
  const list = fromEnv
    .split(/[\s,]+/)
    .map((v) => v.trim())
    .filter(Boolean)
  return list.length > 0 ? list : undefined
}

export function elementsFrom(values: string[] | undefined, env = process.env): Element[] | undefined {
  const list = listFlag(values, 'PBM_ELEMENTS', env)
  return list ? [...new Set(list.map((v) => normalizeElement(v)))] : undefined
}

/** Destination flags that only mean something together: refuse them rather than ignore them. */
export function checkDestinationFlags(flags: {
  bucket?: string
  endpoint?: string
  prefix?: string
  sse?: string
  'sse-kms-key-id'?: string
}): void {
  checkEndpoint(flags.endpoint)
  if (flags.prefix && !flags.bucket) {
    throw new UsageError(
      '--prefix is a key prefix inside an S3 bucket, but no --bucket was given.',
      'Add --bucket NAME, or put the prefix into --to DIR.',
    )
  }

  if (flags['sse-kms-key-id'] && flags.sse !== 'aws:kms') {
    throw new UsageError('--sse-kms-key-id goes with --sse aws:kms.', 'Add --sse aws:kms, or leave out the key.')
  }
}

/** --endpoint (PBM_ENDPOINT) is an http(s) URL: a usage error before any S3 call, not the SDK's "Invalid URL". */
export function checkEndpoint(endpoint: string | undefined): void {
  if (endpoint === undefined) return
  let url: undefined | URL
  try {
    url = new URL(endpoint)
  } catch {}

  if (url && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname) return
  throw new UsageError(
    `--endpoint takes the URL of an S3-compatible store, not "${printable(endpoint)}".`,
    'For example --endpoint https://s3.eu-central-1.wasabisys.com or http://127.0.0.1:9000 (or PBM_ENDPOINT).',
  )
}

/** The S3 settings that come straight from the destination flags (the rest is the AWS chain's). */
export function s3Settings(flags: {
  endpoint?: string
  profile?: string
  region?: string
  sse?: 'AES256' | 'aws:kms'
  'sse-kms-key-id'?: string
  'storage-class'?: string
  timeout?: number
}): S3Settings {
  return {
    timeoutMs: resolveTimeoutMs(flags.timeout),
    endpoint: flags.endpoint,
    profile: flags.profile,
    region: flags.region,
    sse: flags.sse,
    sseKmsKeyId: flags['sse-kms-key-id'],
    storageClass: flags['storage-class'],
  }
}

const keepCount = (period: string, env: string) =>
  Flags.string({
    env,
    helpGroup: 'RETENTION',
    helpValue: 'N',
    summary: `Keep the newest backup of each of the last N ${period} that have one (-1 or "unlimited": of every one of them; 0: rule off).`,
  })

/** The retention policy (restic's `forget` rules), shared by backup:prune and backup:mirror --prune. */
export const retentionFlags = {
  'keep-daily': keepCount('days', 'PBM_KEEP_DAILY'),
  'keep-hourly': keepCount('hours', 'PBM_KEEP_HOURLY'),
  'keep-last': Flags.string({
    env: 'PBM_KEEP_LAST',
    helpGroup: 'RETENTION',
    helpValue: 'N',
    summary:
      'Keep the N newest backups of each series, whatever their dates (-1 or "unlimited": all of them; 0: rule off).',
  }),
  'keep-monthly': keepCount('months', 'PBM_KEEP_MONTHLY'),
  'keep-weekly': keepCount('ISO weeks', 'PBM_KEEP_WEEKLY'),
  'keep-within': Flags.string({
    env: 'PBM_KEEP_WITHIN',
    helpGroup: 'RETENTION',
    helpValue: 'DURATION',
    summary: 'Keep every backup within this long of the newest of its series (45d, 2y3m, 12h).',
  }),
  'keep-yearly': keepCount('years', 'PBM_KEEP_YEARLY'),
  'include-unrecorded': Flags.boolean({
    env: 'PBM_INCLUDE_UNRECORDED',
    helpGroup: 'RETENTION',
    summary:
      "Count archives without pbm's record (S3 metadata, local completion record) too: for a mirror made by the old shell script.",
  }),
  'max-delete': Flags.integer({
    env: 'PBM_MAX_DELETE',
    helpGroup: 'RETENTION',
    helpValue: 'N',
    min: 0,
    summary: 'Remove nothing (and exit 1) when the plan would remove more than N backups.',
  }),
}

/** The policy of the retention flags; none at all (or all 0) is a usage error, as a bad count or duration. */
export function policyFrom(flags: {
  'keep-daily'?: string
  'keep-hourly'?: string
  'keep-last'?: string
  'keep-monthly'?: string
  'keep-weekly'?: string
  'keep-within'?: string
  'keep-yearly'?: string
}): RetentionPolicy {
  return parsePolicy({
    keepDaily: flags['keep-daily'],
    keepHourly: flags['keep-hourly'],
    keepLast: flags['keep-last'],
    keepMonthly: flags['keep-monthly'],
    keepWeekly: flags['keep-weekly'],
    keepWithin: flags['keep-within'],
    keepYearly: flags['keep-yearly'],
  })
}

/**
 * Where the mirror is (or goes), from --bucket/--prefix and --to; without either, a usage error that
 * asks `question` (a command's own words) and names the flags.
 */
export function destinationFrom(
  flags: {bucket?: string; prefix?: string; restic?: string; 'restic-bin'?: string; to?: string},
  question: string,
): DestinationChoice {
  const {bucket, prefix, restic, to} = flags
  if (!bucket && !to && !restic) {
    throw new UsageError(
      `${question} No destination was given.`,
      'restic' in flags
        ? 'Add --bucket NAME (or s3://bucket/prefix), --to DIR and/or --restic REPO, or set PBM_BUCKET / PBM_TO / PBM_RESTIC_REPO.'
        : 'Add --bucket NAME (or s3://bucket/prefix) and/or --to DIR, or set PBM_BUCKET / PBM_TO.',
    )
  }

  return {
    local: to ? {path: resolveFolder(to)} : undefined,
    s3: bucket ? parseBucket(bucket, prefix) : undefined,
    ...vaultFrom(flags),
  }
}

/** The vault of --restic (a local repository's path made absolute, as --to's is), if any. */
export function vaultFrom(flags: {restic?: string; 'restic-bin'?: string}): Pick<DestinationChoice, 'restic'> {
  const {restic} = flags
  if (!restic) return {}
  // restic's backends are `name:...`; anything else is a folder (a Windows drive letter is not ours).
  const repo = /^[a-z][\d+.a-z-]*:/i.test(restic) ? restic : resolveFolder(restic)
  return {restic: {repo, bin: flags['restic-bin']}}
}
