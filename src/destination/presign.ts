/**
 * A mirrored archive goes back to Pantheon through a URL that Pantheon's servers fetch: a presigned GET
 * for an S3 object, and for an archive in a local folder a temporary stage (upload, presign, delete).
 * A presigned URL is a secret: it is returned to the caller and never printed or logged here.
 */
import type {S3Client} from '@aws-sdk/client-s3'

import createDebug from 'debug'
import {randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {isSafeFilename} from '../catalog/index.js'
import {InterruptedError, PbmError} from '../errors.js'
import {presignerSdk, s3Sdk} from './aws-sdk.js'
import {makeClient, type S3ClientOptions, s3Endpoint, s3Error} from './s3.js'

const debug = createDebug('pbm:presign')

/** Long enough for Pantheon to queue and fetch a 500 MB archive, short enough to be worth little if leaked. */
export const DEFAULT_PRESIGN_SECONDS = 3 * 3600
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
  /** Lifetime in seconds: 1 to MAX_PRESIGN_SECONDS; default DEFAULT_PRESIGN_SECONDS. */
  expiresInSeconds?: number
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
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new PbmError(
      'bad-lifetime',
      `A presigned URL lives from 1 second to 7 days (${MAX_PRESIGN_SECONDS} s); ${seconds} is not possible.`,
      {exitCode: 2, hint: `Give a whole number of seconds up to ${MAX_PRESIGN_SECONDS}.`},
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
    url = await getSignedUrl(client, new GetObjectCommand({Bucket: location.bucket, Key: key}), {
      expiresIn: seconds,
    })
  } catch (error) {
    throw s3Error(error, {bucket: location.bucket, endpoint, region: location.region}, 'presign-failed')
  } finally {
    if (!options.client) client.destroy()
  }

  const asked = new Date(signedAt + seconds * 1000)
  const expiresAt = credentialsExpire && credentialsExpire < asked ? credentialsExpire : asked
  debug('presigned s3://%s/%s for %d s (valid until %s)', location.bucket, key, seconds, expiresAt.toISOString())
  return {url, expiresAt}
}

export interface StageOptions extends PresignOptions {
  /** Prepended to the stage's key as is (give it a trailing `/` to make it a folder). */
  prefix?: string
  signal?: AbortSignal
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
 * Upload a local archive to `s3://bucket/<prefix><unique>-<file name>` (private: no ACL is set, so only
 * the bucket's owner can read it), presign it, and return a handle whose remove() deletes it. The name
 * keeps the archive's own name at the end so Pantheon sees its extension. If anything fails after the
 * upload, the object is deleted before the error is thrown.
 */
export async function stageForImport(location: S3Location, file: string, options: StageOptions = {}): Promise<Stage> {
  checkPresignLifetime(options.expiresInSeconds ?? DEFAULT_PRESIGN_SECONDS)
  if (options.signal?.aborted) throw new InterruptedError()
  const name = path.basename(file)
  if (!isSafeFilename(name)) throw new PbmError('bad-file', `Not an archive name that can be staged: ${name}.`)
  const {size} = await stat(file)
  const endpoint = s3Endpoint(location.endpoint)
  const client = options.client ?? (await makeClient(location, endpoint))
  const {DeleteObjectCommand, PutObjectCommand} = s3Sdk()
  const key = `${options.prefix ?? ''}pbm-stage-${Date.now()}-${randomBytes(6).toString('hex')}-${name}`
  const where = `s3://${location.bucket}/${key}`
  const context = {bucket: location.bucket, endpoint, region: location.region}

  let removed: Promise<void> | undefined
  const remove = (): Promise<void> => {
    removed ??= client
      .send(new DeleteObjectCommand({Bucket: location.bucket, Key: key}), {
        abortSignal: AbortSignal.timeout(STAGE_REMOVE_TIMEOUT_MS),
      })
      .then(
        () => {
          debug('removed the stage %s', where)
          if (!options.client) client.destroy()
        },
        (error: unknown) => {
          removed = undefined // a later call may try again
          throw new PbmError('stage-not-removed', `The staged archive ${where} could not be deleted.`, {
            cause: error,
            hint: `Delete it by hand: aws s3 rm ${where}`,
          })
        },
      )
    return removed
  }

  try {
    await client.send(
      new PutObjectCommand({
        Bucket: location.bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: size,
        ContentType: 'application/gzip',
      }),
      {abortSignal: options.signal},
    )
    debug('staged %s as %s (%d bytes)', name, where, size)
    const {url, expiresAt} = await presignGet(location, key, {...options, client})
    return {url, expiresAt, bucket: location.bucket, key, where, remove}
  } catch (error) {
    // The upload may have completed before the failure (or the abort): never leave it behind.
    await remove().catch((error_: unknown) => debug('%s', (error_ as Error).message))
    if (options.signal?.aborted)
      throw options.signal.reason instanceof PbmError ? options.signal.reason : new InterruptedError()
    throw s3Error(error, context, 'stage-failed')
  }
}
