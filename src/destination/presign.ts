/**
 * A mirrored archive goes back to Pantheon through a URL that Pantheon's servers fetch: a presigned GET
 * for an S3 object, and for an archive in a local folder a temporary stage (upload, presign, delete).
 * A presigned URL is a secret: it is returned to the caller and never printed or logged here.
 */
import type {S3Client} from '@aws-sdk/client-s3'

import createDebug from 'debug'
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'
import {Transform} from 'node:stream'

import {isSafeFilename} from '../catalog/index.js'
import {InterruptedError, PbmError} from '../errors.js'
import {presignerSdk, s3Sdk} from './aws-sdk.js'
import {makeClient, type S3ClientOptions, s3Endpoint, s3Error} from './s3.js'
import {
  deleteStage,
  listStageKeys,
  stageKey,
  stageMetadata,
  stageTagging,
  type SweepOptions,
  sweepStages,
  type SweptStage,
} from './stage.js'

const debug = createDebug('pbm:presign')

/**
 * Long enough for Pantheon to queue the import and fetch a 500 MB archive (0.3 MB/s would do), short
 * enough to be worth little if leaked: the URL is an argument of `terminus import:*`, which any local
 * user can read in the process table while the import runs (docs/TERMINUS-IMPORT.md).
 */
export const DEFAULT_PRESIGN_SECONDS = 30 * 60
/** Below this Pantheon may not even have started the fetch (the workflow is queued first). */
export const MIN_PRESIGN_SECONDS = 5 * 60
/** SigV4 presigned URLs are valid for at most 7 days (S3's cap). */
export const MAX_PRESIGN_SECONDS = 604_800
/** Deleting a stage must not hang a run that is ending (after a failure or Ctrl-C). */
export const STAGE_REMOVE_TIMEOUT_MS = 30_000

export interface S3Location extends S3ClientOptions {
  bucket: string
  /** A custom S3-compatible endpoint; AWS_ENDPOINT_URL_S3 when not given. */
  endpoint?: string
}

export interface PresignOptions {
  /** Lifetime in seconds: MIN_PRESIGN_SECONDS to MAX_PRESIGN_SECONDS; default DEFAULT_PRESIGN_SECONDS. */
  expiresInSeconds?: number
  /** The version the URL names (a versioned bucket): a later write under the key cannot be fetched through it. */
  versionId?: string
  /** A client built elsewhere (by makeClient); one is built from the location otherwise. */
  client?: S3Client
}

export interface PresignedUrl {
  /** The secret: hand it to Terminus as one argument, never print it. */
  url: string
  /**
   * When the URL stops working: the asked lifetime, or earlier when the credentials that signed it
   * (an STS session, SSO, an instance role) expire first.
   */
  expiresAt: Date
}

/** Check a lifetime before anything is signed or uploaded. */
export function checkPresignLifetime(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < MIN_PRESIGN_SECONDS || seconds > MAX_PRESIGN_SECONDS) {
    throw new PbmError(
      'bad-lifetime',
      `A presigned URL for Pantheon lives from 5 minutes (${MIN_PRESIGN_SECONDS} s) to 7 days (${MAX_PRESIGN_SECONDS} s, S3's cap); ${seconds} s is not possible.`,
      {
        exitCode: 2,
        hint: `Give a whole number of seconds from ${MIN_PRESIGN_SECONDS} to ${MAX_PRESIGN_SECONDS} (the default, 30 minutes, fits a 500 MB import).`,
      },
    )
  }

  return seconds
}

/** A presigned GET URL for s3://bucket/key, valid for the stated lifetime. */
export async function presignGet(
  location: S3Location,
  key: string,
  options: PresignOptions = {},
): Promise<PresignedUrl> {
  const seconds = checkPresignLifetime(options.expiresInSeconds ?? DEFAULT_PRESIGN_SECONDS)
  const endpoint = s3Endpoint(location.endpoint)
  const client = options.client ?? (await makeClient(location, endpoint))
  const {GetObjectCommand} = s3Sdk()
  const {getSignedUrl} = presignerSdk()
  const signedAt = Date.now()
  let url: string
  let credentialsExpire: Date | undefined
  try {
    credentialsExpire = (await client.config.credentials()).expiration
    const version = options.versionId ? {VersionId: options.versionId} : {}
    url = await getSignedUrl(client, new GetObjectCommand({Bucket: location.bucket, Key: key, ...version}), {
      expiresIn: seconds,
    })
  } catch (error) {
    throw s3Error(error, {bucket: location.bucket, endpoint, region: location.region}, 'presign-failed')
  } finally {
    if (!options.client) client.destroy()
  }

  const asked = new Date(signedAt + seconds * 1000)
  const expiresAt = credentialsExpire && credentialsExpire < asked ? credentialsExpire : asked
  debug(
    'presigned s3://%s/%s%s for %d s (valid until %s)',
    location.bucket,
    key,
    options.versionId ? ' (one version)' : '',
    seconds,
    expiresAt.toISOString(),
  )
  return {url, expiresAt}
}

export interface StageOptions extends Omit<PresignOptions, 'versionId'> {
  /** Prepended to the stage's key as is (give it a trailing `/` to make it a folder). */
  prefix?: string
  signal?: AbortSignal
  /** The MD5 (hex) that was verified: the store refuses an upload of other bytes (Content-MD5). */
  md5?: string
}

/** A local archive uploaded for Pantheon to fetch, until remove(). */
export interface Stage {
  /** The presigned GET URL (a secret). */
  url: string
  expiresAt: Date
  bucket: string
  key: string
  /** `s3://bucket/key`, safe to print. */
  where: string
  /** Delete the staged object. Idempotent; bounded by STAGE_REMOVE_TIMEOUT_MS; a failure says what to delete. */
  remove(): Promise<void>
}

/**
 * Upload a local archive to `s3://bucket/<prefix>pbm-stage-<ms>-<hex>-<file name>` (private: no ACL is
 * set, so only the bucket's owner can read it), presign it, and return a handle whose remove() deletes
 * it. The name keeps the archive's own name at the end so Pantheon sees its extension. The object is
 * marked as a stage with its URL's expiry (metadata and tags, stage.ts), so that a later run can sweep
 * it if this one dies before remove(). If anything fails after the upload, the object is deleted before
 * the error is thrown.
 */
export async function stageForImport(location: S3Location, file: string, options: StageOptions = {}): Promise<Stage> {
  checkPresignLifetime(options.expiresInSeconds ?? DEFAULT_PRESIGN_SECONDS)
  if (options.signal?.aborted) throw new InterruptedError()
  const name = path.basename(file)
  if (!isSafeFilename(name)) throw new PbmError('bad-file', `Not an archive name that can be staged: ${name}.`)
  const {size} = await stat(file)
  const endpoint = s3Endpoint(location.endpoint)
  const client = options.client ?? (await makeClient(location, endpoint))
  const {PutObjectCommand} = s3Sdk()
  const key = stageKey(options.prefix ?? '', name)
  const where = `s3://${location.bucket}/${key}`
  const context = {bucket: location.bucket, endpoint, region: location.region}
  // The version written, deleted by remove() (stage.ts's deleteStage).
  let versionId: string | undefined

  let removed: Promise<void> | undefined
  const remove = (): Promise<void> => {
    removed ??= deleteStage(client, location.bucket, key, versionId, AbortSignal.timeout(STAGE_REMOVE_TIMEOUT_MS)).then(
      () => {
        debug('removed the stage %s', where)
        if (!options.client) client.destroy()
      },
      (error: unknown) => {
        removed = undefined // a later call may try again
        throw new PbmError('stage-not-removed', `The staged archive ${where} could not be deleted.`, {
          cause: error,
          hint: `Delete it by hand: aws s3 rm ${where} (a later restore through this stage, or backup:prune of its bucket, deletes it once its URL has expired).`,
        })
      },
    )
    return removed
  }

  try {
    // Signed before the upload, so that the expiry recorded on the object is the URL's own: a later
    // run's sweep cannot delete a stage whose URL still works.
    const {url, expiresAt} = await presignGet(location, key, {...options, client})
    let sent = createHash('md5')
    const put = (tagged: boolean) => {
      sent = createHash('md5')
      const body = createReadStream(file).pipe(
        new Transform({
          transform(chunk: Buffer, _encoding, done) {
            sent.update(chunk)
            done(null, chunk)
          },
        }),
      )
      return client.send(
        new PutObjectCommand({
          Bucket: location.bucket,
          Key: key,
          Body: body,
          ContentLength: size,
          ContentType: 'application/gzip',
          Metadata: stageMetadata(expiresAt),
          ...(tagged ? {Tagging: stageTagging(expiresAt)} : {}),
          ...(options.md5 ? {ContentMD5: Buffer.from(options.md5, 'hex').toString('base64')} : {}),
        }),
        {abortSignal: options.signal},
      )
    }

    let written
    try {
      written = await put(true)
    } catch (error) {
      // Tags need s3:PutObjectTagging, and some S3-compatible stores have none: the metadata and the
      // name still mark the stage.
      if (options.signal?.aborted || !taggingRefused(error)) throw error
      debug('tags refused (%s): staging %s without them', (error as Error).name, where)
      written = await put(false)
    }

    versionId = written.VersionId
    // Stores that ignore Content-MD5 (some S3-compatible ones) took the upload: check what was sent.
    if (options.md5 && sent.digest('hex') !== options.md5) throw badDigest()
    debug('staged %s as %s (%d bytes)', name, where, size)
    return {url, expiresAt, bucket: location.bucket, key, where, remove}
  } catch (error) {
    // The upload may have completed before the failure (or the abort): never leave it behind.
    await remove().catch((error_: unknown) => debug('%s', (error_ as Error).message))
    if (options.signal?.aborted)
      throw options.signal.reason instanceof PbmError ? options.signal.reason : new InterruptedError()
    if ((error as Error).name === 'BadDigest') {
      throw new PbmError('changed-since-verified', `${file} changed since it was verified: it was not staged.`, {
        cause: error,
        hint: 'Run the restore again: it verifies the archive as it is now.',
      })
    }

    throw s3Error(error, context, 'stage-failed')
  }
}

function badDigest(): Error {
  return Object.assign(new Error('The uploaded bytes are not the verified archive.'), {name: 'BadDigest'})
}

function taggingRefused(error: unknown): boolean {
  const err = error as Error & {$metadata?: {httpStatusCode?: number}}
  const status = err.$metadata?.httpStatusCode
  return (
    err.name === 'NotImplemented' ||
    err.name === 'AccessDenied' ||
    status === 403 ||
    status === 501 ||
    (status === 400 && /tag/i.test(err.message ?? ''))
  )
}

/**
 * Delete the expired stages under `prefix` of the stage bucket (stage.ts's rule: provably pbm's, URL
 * expired). Failures are returned, never thrown (an abort is); a listing that fails is one failure.
 */
export async function sweepExpiredStages(
  location: S3Location & {prefix: string},
  options: SweepOptions = {},
): Promise<SweptStage[]> {
  const endpoint = s3Endpoint(location.endpoint)
  const client = await makeClient(location, endpoint)
  try {
    const keys = await listStageKeys(client, location.bucket, location.prefix, options.signal)
    return await sweepStages(client, location.bucket, keys, options)
  } catch (error) {
    if (options.signal?.aborted) throw error
    const failure = s3Error(error, {bucket: location.bucket, endpoint, region: location.region}, 'list-failed')
    return [
      {
        error: {code: failure.code, message: `Expired restore stages could not be looked for: ${failure.message}`},
        where: `s3://${location.bucket}/${location.prefix}`,
      },
    ]
  } finally {
    client.destroy()
  }
}
