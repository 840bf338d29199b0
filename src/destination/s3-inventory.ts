import type {S3Client} from '@aws-sdk/client-s3'

import createDebug from 'debug'

import {printable} from '../catalog/names.js'
import {PbmError} from '../errors.js'
import {redact} from '../redact.js'
import {createLimit} from '../util/limit.js'
import {s3Sdk} from './aws-sdk.js'
import {DELETE_BATCH, type Inventory, type InventoryObject, LIST_PAGE, type RemoveOutcome} from './inventory.js'
import {checkKey} from './key.js'
import {checkBucketName, createS3Client, resolveEndpoint, type S3ClientOptions} from './s3-client.js'
import {META, s3Error} from './s3.js'
import {sweepStages} from './stage.js'

const debug = createDebug('pbm:s3-inventory')

export interface S3InventoryOptions extends S3ClientOptions {
  bucket: string
  /** Prepended to every key as is, as for the S3 destination. */
  prefix?: string
  /** Object Lock lookups (HeadObject) at once (default 8). */
  lockConcurrency?: number
  /** pbm's record lookups (HeadObject, one per archive before a prune) at once (default 32). */
  recordConcurrency?: number
  /** For tests: the clock that decides whether a retention date is still in the future. */
  now?: () => Date
}

type LockState = {locked: false} | {locked: true; until?: Date; mode?: string; legalHold?: boolean}

/** Error codes of DeleteObjects (per key) that may mean Object Lock or a legal hold. */
const MAYBE_LOCKED = new Set(['AccessDenied', 'InvalidRequest', 'ObjectLocked', 'ObjectLockedException'])

export function createS3Inventory(options: S3InventoryOptions): Inventory {
  const {bucket} = options
  checkBucketName(bucket)
  const prefix = options.prefix ?? ''
  const endpoint = resolveEndpoint(options)
  const context = {bucket, endpoint, region: options.region}
  const now = options.now ?? (() => new Date())
  let clientPromise: Promise<S3Client> | undefined
  const client = (): Promise<S3Client> => {
    clientPromise ??= createS3Client(options)
    return clientPromise
  }

  // Once per inventory: with Object Lock enabled, a plain delete "succeeds" by writing a delete marker
  // over a locked version; pbm asks first and reports the object as locked instead.
  let lockEnabled: Promise<boolean> | undefined
  const bucketHasObjectLock = (signal?: AbortSignal): Promise<boolean> => {
    lockEnabled ??= (async () => {
      const {GetObjectLockConfigurationCommand} = s3Sdk()
      try {
        const r = await (
          await client()
        ).send(new GetObjectLockConfigurationCommand({Bucket: bucket}), {
          abortSignal: signal,
        })
        return r.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled'
      } catch (error) {
        // ObjectLockConfigurationNotFoundError: no lock; s3rver and others: not implemented. A delete
        // refused because of a lock is still recognised from its per-key error.
        debug('GetObjectLockConfiguration: %s', (error as Error).name)
        return false
      }
    })()
    return lockEnabled
  }

  // HeadObject answers the retention mode and date and the legal hold in one request (when the
  // credentials may read them: s3:GetObjectRetention, s3:GetObjectLegalHold). GetObjectRetention
  // would need two requests, and moto 5 answers it with the object itself.
  const lockOf = async (key: string, signal?: AbortSignal): Promise<LockState> => {
    const {HeadObjectCommand} = s3Sdk()
    const Key = prefix + key
    try {
      const head = await (await client()).send(new HeadObjectCommand({Bucket: bucket, Key}), {abortSignal: signal})
      const until = head.ObjectLockRetainUntilDate
      const retained = until !== undefined && until.getTime() > now().getTime()
      const legalHold = head.ObjectLockLegalHoldStatus === 'ON'
      if (!retained && !legalHold) return {locked: false}
      return {
        locked: true,
        ...(retained ? {until, ...(head.ObjectLockMode ? {mode: head.ObjectLockMode} : {})} : {}),
        ...(legalHold ? {legalHold} : {}),
      }
    } catch (error) {
      if (signal?.aborted) throw error
      // Gone already, or not allowed to look: the delete itself will tell.
      debug('HeadObject %s: %s', printable(Key), (error as Error).name)
      return {locked: false}
    }
  }

  const removeBatch = async (keys: readonly string[], signal?: AbortSignal): Promise<RemoveOutcome[]> => {
    const outcomes = new Map<string, RemoveOutcome>()
    const candidates: string[] = []
    for (const key of keys) {
      try {
        checkKey(key)
        candidates.push(key)
      } catch (error) {
        outcomes.set(key, {key, status: 'failed', code: 'unsafe-key', message: (error as Error).message})
      }
    }

    const limit = createLimit(Math.max(1, options.lockConcurrency ?? 8))
    let deletable = candidates
    if (candidates.length > 0 && (await bucketHasObjectLock(signal))) {
      const states = await Promise.all(candidates.map((key) => limit(() => lockOf(key, signal), signal)))
      deletable = []
      for (const [i, key] of candidates.entries()) {
        const state = states[i]
        if (state.locked) outcomes.set(key, locked(key, state))
        else deletable.push(key)
      }
    }

    if (deletable.length > 0) {
      const {DeleteObjectsCommand} = s3Sdk()
      try {
        const r = await (
          await client()
        ).send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: {Objects: deletable.map((key) => ({Key: prefix + key})), Quiet: false},
          }),
          {abortSignal: signal},
        )
        for (const d of r.Deleted ?? []) {
          const key = d.Key?.slice(prefix.length)
          if (key === undefined) continue
          outcomes.set(key, {key, status: 'removed', ...(d.DeleteMarker ? {deleteMarker: true} : {})})
        }

        const refused: Array<{key: string; code: string; message: string}> = []
        for (const e of r.Errors ?? []) {
          const key = e.Key?.slice(prefix.length)
          if (key === undefined) continue
          refused.push({key, code: e.Code ?? 'unknown', message: e.Message ?? ''})
        }

        const checked = await Promise.all(
          refused.map(async (e) =>
            MAYBE_LOCKED.has(e.code) ? {e, state: await limit(() => lockOf(e.key, signal), signal)} : {e},
          ),
        )
        for (const {e, state} of checked) {
          outcomes.set(
            e.key,
            state?.locked
              ? locked(e.key, state)
              : {key: e.key, status: 'failed', code: e.code, message: redact(e.message || e.code)},
          )
        }
      } catch (error) {
        if (signal?.aborted) throw error
        const failure = s3Error(error, context, 'delete-failed')
        for (const key of deletable) {
          outcomes.set(key, {key, status: 'failed', code: failure.code, message: failure.message})
        }
      }
    }

    // A key the answer did not mention is reported, not assumed gone.
    return keys.map(
      (key) =>
        outcomes.get(key) ?? {key, status: 'failed', code: 'no-answer', message: 'DeleteObjects did not mention it.'},
    )
  }

  /** pbm's metadata of a verified transfer, at the object's size (a malformed size is no record). */
  const hasRecord = async (key: string, signal?: AbortSignal): Promise<boolean> => {
    const {HeadObjectCommand} = s3Sdk()
    const Key = prefix + key
    try {
      const head = await (await client()).send(new HeadObjectCommand({Bucket: bucket, Key}), {abortSignal: signal})
      const meta = head.Metadata ?? {}
      if (meta[META.verified] === undefined) return false
      const size = meta[META.size]
      return size === undefined || size === String(head.ContentLength ?? -1)
    } catch (error) {
      if (signal?.aborted) throw error
      const status = (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
      // Gone since the listing: nothing to count or remove.
      if (status === 404) return false
      if (status === 403) {
        throw new PbmError('access-denied', `Access denied reading the metadata of s3://${bucket}/${printable(Key)}.`, {
          cause: error,
          hint: "Pruning reads pbm's record of each archive (s3:GetObject); --include-unrecorded prunes without it.",
        })
      }

      throw s3Error(error, context, 'list-failed')
    }
  }

  return {
    kind: 's3',
    describe: (key) => `s3://${bucket}/${prefix}${key}`,

    async recorded(keys, signal) {
      // One round trip per archive, all before the plan: as many at once as a connection pool keeps busy.
      const limit = createLimit(Math.max(1, options.recordConcurrency ?? 32))
      const found = new Set<string>()
      await Promise.all(
        keys.map((key) =>
          limit(async () => {
            if (await hasRecord(key, signal)) found.add(key)
          }, signal),
        ),
      )
      return found
    },

    async *list(signal) {
      const {ListObjectsV2Command} = s3Sdk()
      const s3 = await client()
      let token: string | undefined
      do {
        let page
        try {
          page = await s3.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              ...(prefix ? {Prefix: prefix} : {}),
              MaxKeys: LIST_PAGE,
              ContinuationToken: token,
            }),
            {abortSignal: signal},
          )
        } catch (error) {
          if (signal?.aborted) throw error
          throw listError(error, context)
        }

        const objects: InventoryObject[] = []
        for (const o of page.Contents ?? []) {
          if (!o.Key?.startsWith(prefix)) continue
          objects.push({
            key: o.Key.slice(prefix.length),
            size: o.Size ?? 0,
            ...(o.LastModified ? {lastModified: o.LastModified} : {}),
          })
        }

        yield objects
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
    },

    async *remove(keys, signal) {
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        signal?.throwIfAborted()
        yield await removeBatch(keys.slice(i, i + DELETE_BATCH), signal)
      }
    },

    async sweepStages(keys, signal) {
      return sweepStages(
        await client(),
        bucket,
        keys.map((key) => prefix + key),
        {now: now(), signal},
      )
    },
  }
}

function locked(key: string, state: LockState & {locked: true}): RemoveOutcome {
  return {
    key,
    status: 'locked',
    ...(state.until ? {until: state.until} : {}),
    ...(state.mode ? {mode: state.mode} : {}),
    ...(state.legalHold ? {legalHold: true} : {}),
  }
}

function listError(error: unknown, context: {bucket: string; endpoint?: string; region?: string}): PbmError {
  const status = (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
  if ((error as Error).name === 'AccessDenied' || status === 403) {
    return new PbmError('access-denied', `Access denied listing the bucket "${context.bucket}".`, {
      cause: error,
      hint: 'Pruning needs s3:ListBucket on the bucket and s3:DeleteObject on its objects (s3:GetObjectRetention and s3:GetObjectLegalHold with Object Lock).',
    })
  }

  return s3Error(error, context, 'list-failed')
}
