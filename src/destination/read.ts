import type {S3Client} from '@aws-sdk/client-s3'
import type {Readable} from 'node:stream'

import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {PbmError} from '../errors.js'
import {s3Sdk} from './aws-sdk.js'
import {checkKey} from './key.js'
import {readLocalRecord} from './local.js'
import {checkBucketName, createS3Client, resolveEndpoint, type S3ClientOptions} from './s3-client.js'
import {META, s3Error} from './s3.js'

/** What pbm recorded about an archive when it stored it, as far as the store returns it with the body. */
export interface RecordedFacts {
  size?: number
  md5?: string
  crc32c?: string
}

/** One stored object being read back, start to end. */
export interface StoredRead {
  /** The bytes, in order; iterating pulls them (backpressure), breaking out closes the source. */
  body: AsyncIterable<Buffer>
  size: number
  /** S3: pbm's metadata, which comes with the body. A local folder's record is read by inspect(). */
  recorded?: RecordedFacts
}

/** What backup:verify asks a store that checks itself whole: read no data, all of it, a slice, a share. */
export type StoreCheckRead = 'all' | 'none' | {index: number; of: number} | {percent: number}

/** What a store's own check found (vault: `restic check`). */
export interface StoreCheck {
  /** What ran, as a person would type it: `restic check --read-data-subset 1/7`. */
  command: string
  /** Archives (keys) the check found damaged, and why. */
  damaged: Array<{key: string; detail: string}>
  /** Damage the check could not tie to an archive, in the store's words (empty: none). */
  problems: string[]
}

/** Reads stored archives back (backup:verify --deep), under the same keys as the Destination. */
export interface ObjectReader {
  readonly kind: 'local' | 'restic' | 's3'
  describe(key: string): string
  /** `versionId` (S3, versioned bucket): read that version, not whatever is newest under the key. */
  read(key: string, signal?: AbortSignal, versionId?: string): Promise<StoredRead>
  /**
   * Local folders: pbm's completion record as written, even when the file no longer matches it (the
   * destination's inspect() trusts a record only while size and mtime are unchanged).
   */
  recorded?(key: string): Promise<RecordedFacts | undefined>
  /**
   * A store that checks its own integrity as a whole (vault: `restic check`, reading its packs back):
   * verify runs it once instead of reading each archive back, and marks the archives it names.
   */
  checkAll?(read: StoreCheckRead, signal?: AbortSignal): Promise<StoreCheck>
}

const READ_BUFFER = 1024 * 1024

/** A local mirror folder: `<root>/<key>`, streamed in 1 MiB reads. */
export function createLocalReader(options: {root: string}): ObjectReader {
  const root = path.resolve(options.root)
  const pathOf = (key: string): string => {
    const full = path.join(root, ...checkKey(key))
    if (!full.startsWith(root + path.sep)) throw new PbmError('unsafe-key', `Refusing a path outside ${root}.`)
    return full
  }

  return {
    kind: 'local',
    describe: pathOf,
    async recorded(key) {
      const record = await readLocalRecord(pathOf(key))
      if (!record || record.file !== path.basename(key)) return
      return {
        size: record.size,
        ...(record.md5 ? {md5: record.md5} : {}),
        ...(record.crc32c ? {crc32c: record.crc32c} : {}),
      }
    },

    async read(key, signal) {
      const full = pathOf(key)
      try {
        const st = await stat(full)
        if (!st.isFile()) throw new PbmError('not-a-file', `${full} is not a regular file.`)
        return {body: createReadStream(full, {highWaterMark: READ_BUFFER, signal}), size: st.size}
      } catch (error) {
        if (error instanceof PbmError) throw error
        const {code} = error as NodeJS.ErrnoException
        if (code === 'ENOENT') throw new PbmError('not-found', `${full} is gone.`, {cause: error})
        throw new PbmError('not-readable', `Cannot read ${full} (${code ?? (error as Error).message}).`, {cause: error})
      }
    },
  }
}

export interface S3ReaderOptions extends S3ClientOptions {
  bucket: string
  /** Prepended to every key as is, as for the S3 destination. */
  prefix?: string
}

/** An S3 bucket (and prefix): one GetObject per archive, its body streamed as it arrives. */
export function createS3Reader(options: S3ReaderOptions): ObjectReader {
  const {bucket} = options
  checkBucketName(bucket)
  const prefix = options.prefix ?? ''
  const context = {bucket, endpoint: resolveEndpoint(options), region: options.region}
  let clientPromise: Promise<S3Client> | undefined
  const client = (): Promise<S3Client> => {
    clientPromise ??= createS3Client(options)
    return clientPromise
  }

  const keyOf = (key: string): string => {
    checkKey(key)
    return prefix + key
  }

  return {
    kind: 's3',
    describe: (key) => `s3://${bucket}/${keyOf(key)}`,
    async read(key, signal, versionId) {
      const {GetObjectCommand} = s3Sdk()
      const where = `s3://${bucket}/${keyOf(key)}`
      const version = versionId && versionId !== 'null' ? {VersionId: versionId} : {}
      try {
        const got = await (
          await client()
        ).send(new GetObjectCommand({Bucket: bucket, Key: keyOf(key), ...version}), {abortSignal: signal})
        const meta = got.Metadata ?? {}
        const size = meta[META.size]
        return {
          body: got.Body as Readable,
          recorded:
            meta[META.verified] === undefined
              ? undefined
              : {
                  crc32c: meta[META.crc32c],
                  md5: meta[META.md5],
                  // A malformed value becomes NaN, which matches no size.
                  ...(size === undefined ? {} : {size: /^\d+$/.test(size) ? Number(size) : Number.NaN}),
                },
          size: got.ContentLength ?? 0,
        }
      } catch (error) {
        const status = (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
        if ((error as Error).name === 'NoSuchKey' || (status === 404 && (error as Error).name !== 'NoSuchBucket')) {
          throw new PbmError('not-found', `${where} is gone.`, {cause: error})
        }

        if (status === 403) {
          throw new PbmError('access-denied', `Access denied reading ${where}.`, {
            cause: error,
            hint: 'backup:verify --deep needs s3:GetObject (and kms:Decrypt for SSE-KMS objects).',
          })
        }

        throw s3Error(error, context, 'read-failed')
      }
    },
  }
}
