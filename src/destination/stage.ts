/**
 * Restore stages: a local archive uploaded to S3 for Pantheon to fetch (presign.ts's stageForImport).
 * Each is named `<prefix>pbm-stage-<ms>-<12 hex>-<archive file>` and carries pbm's marker and the moment
 * its presigned URL expires, as metadata (HeadObject returns it) and as tags (what a bucket lifecycle
 * rule can filter on). A restore deletes its stage when the import ends; one that a crash or a second
 * Ctrl-C left behind is deleted by the next restore through that stage, and by backup:prune of a bucket
 * that holds it, once its URL has expired: never before (a running restore's stage is in use), and
 * never an object that is not provably a stage (its name and its marker, read from the object itself).
 */
import type {S3Client} from '@aws-sdk/client-s3'

import createDebug from 'debug'
import {randomBytes} from 'node:crypto'

import {isSafeFilename, printable} from '../catalog/names.js'
import {s3Sdk} from './aws-sdk.js'

const debug = createDebug('pbm:stage')

/** Metadata keys (x-amz-meta-*) and tag keys of a stage object. */
export const STAGE_META = {expires: 'pbm-stage-expires', marker: 'pbm-stage'} as const
/** What every stage's name starts with (after the stage prefix). */
export const STAGE_NAME_START = 'pbm-stage-'
/**
 * A stage is swept only this long after its recorded expiry: the clocks of the run that wrote it and of
 * the run that sweeps may differ, and Pantheon may still be reading a download it began in time.
 */
export const STAGE_SWEEP_GRACE_MS = 5 * 60 * 1000

const STAGE_NAME = /^pbm-stage-\d{13}-[\da-f]{12}-(.+)$/

/** The key of a new stage of `file` (an archive name) under `prefix` (prepended as is). */
export function stageKey(prefix: string, file: string, now = Date.now()): string {
  return `${prefix}${STAGE_NAME_START}${now}-${randomBytes(6).toString('hex')}-${file}`
}

/** True when the key's last part is named as pbm names a stage (the name alone proves nothing). */
export function isStageKey(key: string): boolean {
  const name = STAGE_NAME.exec(key.slice(key.lastIndexOf('/') + 1))
  return name !== null && isSafeFilename(name[1])
}

/** The metadata of a stage whose URL expires at `expiresAt`. */
export function stageMetadata(expiresAt: Date): Record<string, string> {
  return {[STAGE_META.expires]: expiresAt.toISOString(), [STAGE_META.marker]: '1'}
}

/** The same facts as tags (the x-amz-tagging header's form), for lifecycle rules and the console. */
export function stageTagging(expiresAt: Date): string {
  return new URLSearchParams({[STAGE_META.expires]: expiresAt.toISOString(), [STAGE_META.marker]: '1'}).toString()
}

/**
 * When the URL of the stage stored under `key` expired (or expires), or undefined when the object is not
 * provably a pbm stage: a stage's name, pbm's marker and a readable expiry, all three.
 */
export function stageExpiry(key: string, metadata: Record<string, string> | undefined): Date | undefined {
  if (!isStageKey(key) || metadata?.[STAGE_META.marker] !== '1') return undefined
  const text = metadata[STAGE_META.expires] ?? ''
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(text)) return undefined
  const expires = new Date(text)
  return Number.isNaN(expires.getTime()) ? undefined : expires
}

/** A stage may be deleted by another run: it is provably pbm's, and its URL expired over the grace ago. */
export function isSweepable(key: string, metadata: Record<string, string> | undefined, now: Date): boolean {
  const expires = stageExpiry(key, metadata)
  return expires !== undefined && expires.getTime() + STAGE_SWEEP_GRACE_MS < now.getTime()
}

/**
 * Delete a stage: the version that was written or read, so that on a versioned bucket its data is gone
 * (a delete marker would keep the dump stored). Without s3:DeleteObjectVersion, a plain delete at least
 * hides it (a lifecycle rule for noncurrent versions then removes the data).
 */
export async function deleteStage(
  client: S3Client,
  bucket: string,
  key: string,
  versionId: string | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const {DeleteObjectCommand} = s3Sdk()
  if (versionId && versionId !== 'null') {
    try {
      await client.send(new DeleteObjectCommand({Bucket: bucket, Key: key, VersionId: versionId}), {
        abortSignal: signal,
      })
      return
    } catch (error) {
      const status = (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
      if (signal?.aborted || status !== 403) throw error
      debug('deleting one version of %s was refused: a plain delete instead', printable(key))
    }
  }

  await client.send(new DeleteObjectCommand({Bucket: bucket, Key: key}), {abortSignal: signal})
}

/** One expired stage found by a sweep: deleted, or (with `error`) still there. */
export interface SweptStage {
  /** `s3://bucket/key`. */
  where: string
  /** When its URL expired (absent when the stages could not even be listed). */
  expiredAt?: Date
  error?: {code: string; message: string}
}

export interface SweepOptions {
  now?: Date
  signal?: AbortSignal
}

/**
 * Among `keys` (full keys in `bucket`), delete every expired pbm stage: each candidate by name is read
 * (HeadObject) and deleted only when its own metadata says it is a stage whose URL has expired, by the
 * version that was read (on a versioned bucket the stage's data is gone, not hidden behind a marker).
 * Failures are returned, not thrown: a sweep never fails the run it belongs to (an abort still throws).
 */
export async function sweepStages(
  client: S3Client,
  bucket: string,
  keys: Iterable<string>,
  options: SweepOptions = {},
): Promise<SweptStage[]> {
  const {HeadObjectCommand} = s3Sdk()
  const now = options.now ?? new Date()
  const {signal} = options
  const swept: SweptStage[] = []
  for (const key of keys) {
    if (!isStageKey(key)) continue
    signal?.throwIfAborted()
    const where = `s3://${bucket}/${key}`
    let head
    try {
      head = await client.send(new HeadObjectCommand({Bucket: bucket, Key: key}), {abortSignal: signal})
    } catch (error) {
      if (signal?.aborted) throw error
      // Gone already (its own run deleted it) or not readable: nothing proves it is an expired stage.
      debug('HeadObject %s: %s', printable(where), (error as Error).name)
      continue
    }

    if (!isSweepable(key, head.Metadata, now)) continue
    const expiredAt = stageExpiry(key, head.Metadata)!
    try {
      await deleteStage(client, bucket, key, head.VersionId, signal)
      debug('swept the expired stage %s (its URL expired at %s)', printable(where), expiredAt.toISOString())
      swept.push({expiredAt, where})
    } catch (error) {
      if (signal?.aborted) throw error
      swept.push({
        error: {
          code: 'stage-not-removed',
          message: `The expired restore stage ${where} could not be deleted (${(error as Error).name}): delete it by hand (aws s3 rm ${where}).`,
        },
        expiredAt,
        where,
      })
    }
  }

  return swept
}

/** Every stage under `prefix` of the bucket (keys that start `<prefix>pbm-stage-`), listed page by page. */
export async function listStageKeys(
  client: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const {ListObjectsV2Command} = s3Sdk()
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await client.send(
      new ListObjectsV2Command({Bucket: bucket, ContinuationToken: token, Prefix: prefix + STAGE_NAME_START}),
      {abortSignal: signal},
    )
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key)
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)

  return keys
}
