import {isBucketName} from '../catalog/names.js'
import {UsageError} from '../errors.js'

/** Where the user asked archives to go, before any client exists. */
export interface DestinationChoice {
  s3?: {bucket: string; prefix: string}
  /** A folder (layout <site>/<env>/<file>) or, for exactly one archive, a file path. */
  local?: {path: string}
  /** A vault: a restic repository as restic takes it, and the restic to run (`--restic-bin`). */
  restic?: {repo: string; bin?: string}
}

/**
 * `--bucket` takes a bare bucket name or an `s3://bucket/prefix` URL; `--prefix` adds to (or sets) the
 * prefix. The prefix always ends in `/` when not empty so keys never run into it.
 */
export function parseBucket(bucketArg: string, prefixArg?: string): {bucket: string; prefix: string} {
  let bucket = bucketArg.trim()
  let prefix = ''
  if (bucket.startsWith('s3://')) {
    const rest = bucket.slice('s3://'.length)
    const slash = rest.indexOf('/')
    bucket = slash === -1 ? rest : rest.slice(0, slash)
    prefix = slash === -1 ? '' : rest.slice(slash + 1)
  } else if (bucket.includes('://')) {
    throw new UsageError(`--bucket takes a bucket name or s3://bucket/prefix, not ${bucketArg}.`)
  }

  if (!isBucketName(bucket)) {
    throw new UsageError(
      `"${bucket}" is not a valid S3 bucket name.`,
      'Bucket names are 3-63 characters: lowercase letters, digits, dots and hyphens.',
    )
  }

  if (prefixArg) prefix = prefix ? joinPrefix(prefix, prefixArg) : prefixArg
  return {bucket, prefix: normalizePrefix(prefix)}
}

export function normalizePrefix(prefix: string): string {
  const parts = prefix.split('/').filter((part) => part !== '')
  if (parts.some((part) => part === '.' || part === '..')) {
    throw new UsageError(`The prefix "${prefix}" may not contain "." or ".." segments.`)
  }

  return parts.length === 0 ? '' : `${parts.join('/')}/`
}

function joinPrefix(a: string, b: string): string {
  return `${a.replace(/\/+$/, '')}/${b.replace(/^\/+/, '')}`
}

/**
 * The key layout, S3 and local alike: `<site>/<env>/<pantheon filename>`, under the bucket's prefix or
 * the local folder. Pantheon's filename already carries the date, the element and the extension.
 */
export function archiveKey(archive: {env: string; file: string; site: string}): string {
  return `${archive.site}/${archive.env}/${archive.file}`
}
