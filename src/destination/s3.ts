import type {S3Client} from '@aws-sdk/client-s3'

import createDebug from 'debug'
import {randomBytes} from 'node:crypto'
import {PassThrough} from 'node:stream'

import type {Destination, ExistingObject, Sink} from './types.js'

import {PbmError} from '../errors.js'
import {redact} from '../redact.js'
import {checkKey} from './key.js'
import {Waiter} from './wait.js'

const debug = createDebug('pbm:s3')

export interface S3DestinationOptions {
  bucket: string
  /** Prepended to every key as is: give it a trailing `/` to make it a folder. */
  prefix?: string
  region?: string
  /** A custom S3-compatible endpoint; AWS_ENDPOINT_URL_S3 is used when not given. */
  endpoint?: string
  profile?: string
  storageClass?: string
  sse?: 'AES256' | 'aws:kms'
  sseKmsKeyId?: string
  /** Multipart part size in bytes (default 8 MiB, raised as needed to stay under 10,000 parts). */
  partSize?: number
  /** Parts uploaded at once (default 4). Memory is about partSize x (queueSize + 1). */
  queueSize?: number
  /** For tests: explicit credentials instead of the standard AWS credential chain. */
  credentials?: {accessKeyId: string; secretAccessKey: string; sessionToken?: string}
  /** SDK attempts per request (default 3). */
  maxAttempts?: number
}

/** The object metadata pbm writes (x-amz-meta-*); `pbm-verified` is the completion marker. */
export const META = {
  site: 'pbm-site',
  env: 'pbm-env',
  element: 'pbm-element',
  folder: 'pbm-folder',
  file: 'pbm-file',
  size: 'pbm-source-size',
  md5: 'pbm-md5',
  crc32c: 'pbm-crc32c',
  verified: 'pbm-verified',
} as const

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024
export const DEFAULT_QUEUE_SIZE = 4
const MAX_PARTS = 10_000
const MIN_PART_SIZE = 5 * 1024 * 1024

export function createS3Destination(options: S3DestinationOptions): Destination {
  const {bucket} = options
  const prefix = options.prefix ?? ''
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new PbmError('bad-bucket', `"${bucket}" is not a valid S3 bucket name.`, {exitCode: 2})
  }

  const endpoint = options.endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || undefined)
  let clientPromise: Promise<S3Client> | undefined
  const client = (): Promise<S3Client> => {
    clientPromise ??= makeClient(options, endpoint)
    return clientPromise
  }

  const keyOf = (key: string): string => {
    checkKey(key)
    return prefix + key
  }

  const sseParams = {
    ...(options.sse ? {ServerSideEncryption: options.sse} : {}),
    ...(options.sse === 'aws:kms' && options.sseKmsKeyId ? {SSEKMSKeyId: options.sseKmsKeyId} : {}),
    ...(options.storageClass ? {StorageClass: options.storageClass} : {}),
  } as Record<string, string>

  const preflight = async (signal?: AbortSignal): Promise<void> => {
    // A multipart upload that is created and aborted proves the bucket exists and that we may write
    // into it (with the chosen encryption and storage class), and leaves no object behind. HeadBucket
    // would need s3:ListBucket, which a write-only backup policy may not grant.
    const {AbortMultipartUploadCommand, CreateMultipartUploadCommand} = await import('@aws-sdk/client-s3')
    const s3 = await client()
    const probeKey = `${prefix}.pbm-preflight-${randomBytes(6).toString('hex')}`
    let uploadId: string | undefined
    try {
      const created = await s3.send(
        new CreateMultipartUploadCommand({Bucket: bucket, Key: probeKey, ContentType: 'application/octet-stream', ...sseParams}),
        {abortSignal: signal},
      )
      uploadId = created.UploadId
    } catch (error) {
      throw s3Error(error, {bucket, endpoint, region: options.region}, 'preflight-failed')
    }

    try {
      await s3.send(new AbortMultipartUploadCommand({Bucket: bucket, Key: probeKey, UploadId: uploadId}))
    } catch (error) {
      // s3rver answers 405; some policies lack s3:AbortMultipartUpload. The probe holds no data.
      debug('preflight: abort of the probe upload failed: %s', (error as Error).message)
    }
  }

  let ready: Promise<void> | undefined
  return {
    kind: 's3',
    describe: (key) => `s3://${bucket}/${keyOf(key)}`,

    /** Once per destination object: later calls answer from the first success. */
    preflight(signal) {
      ready ??= preflight(signal)
      ready.catch(() => {
        ready = undefined
      })
      return ready
    },

    async inspect(key, signal) {
      const {HeadObjectCommand} = await import('@aws-sdk/client-s3')
      const s3 = await client()
      try {
        const head = await s3.send(new HeadObjectCommand({Bucket: bucket, Key: keyOf(key)}), {abortSignal: signal})
        const meta = head.Metadata ?? {}
        return {
          size: head.ContentLength ?? 0,
          md5: meta[META.md5],
          complete: meta[META.verified] !== undefined,
          folder: meta[META.folder],
        } satisfies ExistingObject
      } catch (error) {
        const status = (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
        if (status === 404 && (error as Error).name !== 'NoSuchBucket') return
        if (status === 403) {
          throw new PbmError('access-denied', `Access denied reading s3://${bucket}/${keyOf(key)}.`, {
            cause: error,
            hint: 'pbm needs s3:GetObject and s3:ListBucket to tell what is already mirrored; or use --force to write without looking.',
          })
        }

        throw s3Error(error, {bucket, endpoint, region: options.region}, 'upload-failed')
      }
    },

    async open(key, meta, signal) {
      const {Upload} = await import('@aws-sdk/lib-storage')
      const s3 = await client()
      let partSize = options.partSize ?? DEFAULT_PART_SIZE
      if (meta.size !== undefined) partSize = Math.max(partSize, Math.ceil(meta.size / (MAX_PARTS - 1)))
      partSize = Math.max(partSize, MIN_PART_SIZE)
      const Metadata: Record<string, string> = {
        [META.site]: meta.site,
        [META.env]: meta.env,
        [META.element]: meta.element,
        [META.folder]: meta.folder,
        [META.file]: meta.file,
        [META.verified]: [meta.md5 ? 'md5' : '', meta.crc32c ? 'crc32c' : '', 'length', 'gzip'].filter(Boolean).join(','),
      }
      if (meta.size !== undefined) Metadata[META.size] = String(meta.size)
      if (meta.md5) Metadata[META.md5] = meta.md5
      if (meta.crc32c) Metadata[META.crc32c] = meta.crc32c

      // The body does not end until the engine has verified the whole archive: lib-storage completes
      // the multipart upload (or sends the single PutObject) only when its body ends, so nothing
      // becomes visible before verification. Destroying the body makes lib-storage abort the upload.
      const body = new PassThrough({highWaterMark: 256 * 1024})
      const upload = new Upload({
        client: s3,
        params: {
          Bucket: bucket,
          Key: keyOf(key),
          Body: body,
          ContentType: 'application/gzip',
          Metadata,
          ...sseParams,
        },
        partSize,
        queueSize: options.queueSize ?? DEFAULT_QUEUE_SIZE,
        leavePartsOnError: false,
      })
      const context = {bucket, endpoint, region: options.region}
      return new S3Sink(body, upload.done(), context, signal)
    },
  }
}

interface ErrorContext {
  bucket: string
  endpoint?: string
  region?: string
}

class S3Sink implements Sink {
  private error?: PbmError
  private finished = false
  private readonly waiter = new Waiter()
  private readonly settled: Promise<unknown>

  constructor(
    private readonly body: PassThrough,
    done: Promise<unknown>,
    context: ErrorContext,
    _signal: AbortSignal,
  ) {
    this.settled = done.then(
      () => {},
      () => {},
    )
    done.catch((error: unknown) => {
      this.error ??= s3Error(error, context, 'upload-failed')
      this.waiter.fail(this.error)
    })
    body.on('error', () => {})
  }

  async abort(): Promise<void> {
    if (this.finished) return
    this.finished = true
    // lib-storage sees its body fail, waits for parts in flight and sends AbortMultipartUpload.
    this.body.destroy(new Error('pbm: transfer aborted'))
    await this.settled
  }

  async commit(): Promise<void> {
    if (this.error) throw this.error
    this.finished = true
    this.body.end()
    await this.settled
    if (this.error) throw this.error
  }

  write(chunk: Buffer): Promise<void> | void {
    if (this.error) return Promise.reject(this.error)
    if (this.body.write(chunk)) return
    return this.waiter.once(this.body, 'drain')
  }
}

async function makeClient(options: S3DestinationOptions, endpoint: string | undefined): Promise<S3Client> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const {S3Client} = await import('@aws-sdk/client-s3')
  const region = options.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined)
  return new S3Client({
    ...(region ? {region} : {}),
    ...(options.profile ? {profile: options.profile} : {}),
    ...(options.credentials ? {credentials: options.credentials} : {}),
    ...(endpoint
      ? {
          endpoint,
          forcePathStyle: true,
          // Default checksums since 3.729 send aws-chunked trailers that s3rver stores as data and many
          // S3-compatible stores reject or corrupt.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {followRegionRedirects: true}),
    maxAttempts: options.maxAttempts ?? 3,
  })
}

/** Turn an SDK error into a PbmError people can act on. */
export function s3Error(error: unknown, context: ErrorContext, fallback: string): PbmError {
  if (error instanceof PbmError) return error
  const err = error as Error & {$metadata?: {httpStatusCode?: number}; Code?: string; code?: string}
  const name = err?.name ?? ''
  const status = err?.$metadata?.httpStatusCode
  const {bucket} = context
  const where = context.endpoint ? ` at ${redact(context.endpoint)}` : ''
  const message = redact(String(err?.message ?? err))
  if (name === 'NoSuchBucket' || (status === 404 && name === 'NotFound')) {
    return new PbmError('no-such-bucket', `The bucket "${bucket}" does not exist${where}.`, {
      cause: error,
      hint: 'Check the bucket name (and --endpoint), or create the bucket first.',
    })
  }

  if (['CredentialsProviderError', 'ExpiredToken', 'InvalidAccessKeyId', 'InvalidToken', 'SignatureDoesNotMatch', 'TokenRefreshRequired'].includes(name)) {
    return new PbmError('bad-credentials', `The AWS credentials were rejected${where} (${name}).`, {
      cause: error,
      hint: 'Check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --profile, and that the session has not expired.',
    })
  }

  if (name === 'AccessDenied' || name === 'AllAccessDisabled' || name === 'KMS.AccessDeniedException' || status === 403) {
    return new PbmError('access-denied', `Access denied writing to the bucket "${bucket}"${where}.`, {
      cause: error,
      hint: 'The credentials need s3:PutObject (and kms:GenerateDataKey with --sse aws:kms) on the bucket.',
    })
  }

  if (
    ['AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'PermanentRedirect'].includes(name) ||
    status === 301 ||
    /region is missing|invalid region/i.test(message)
  ) {
    return new PbmError('bad-region', `The region does not match the bucket "${bucket}"${context.region ? ` (${context.region})` : ''}: ${message}`, {
      cause: error,
      hint: 'Pass --region with the bucket\'s region (or set AWS_REGION).',
    })
  }

  const sysCode = err?.code ?? (err?.cause as {code?: string} | undefined)?.code
  if (
    ['EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ETIMEDOUT'].includes(String(sysCode)) ||
    name === 'TimeoutError'
  ) {
    return new PbmError('endpoint-unreachable', `Cannot reach the S3 endpoint${where || ' (AWS)'}: ${message}`, {
      cause: error,
      hint: 'Check --endpoint, the network, and any proxy settings.',
    })
  }

  return new PbmError(fallback, `S3 ${name && name !== 'Error' ? `${name}: ` : ''}${message}`, {cause: error})
}
