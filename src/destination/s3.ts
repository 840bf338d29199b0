import type {S3Client} from '@aws-sdk/client-s3'

import createDebug from 'debug'
import {randomBytes} from 'node:crypto'

import type {Destination, ExistingObject, Sink} from './types.js'

import {isBucketName} from '../catalog/names.js'
import {InterruptedError, PbmError} from '../errors.js'
import {redact} from '../redact.js'
import {resolveTimeoutMs} from '../util/timeouts.js'
import {s3Sdk} from './aws-sdk.js'
import {checkKey} from './key.js'
import {AGENT_OPTIONS, PerRequestRetryStrategy} from './s3-connections.js'

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
  /** Multipart part size in bytes (default 5 MiB, raised as needed to stay under 10,000 parts). */
  partSize?: number
  /**
   * Parts one upload sends at once (default 2). Memory: the destination's uploads share their part
   * buffers (PartPool): N uploads at once hold at most partSize x (2N + queueSize - 1).
   */
  queueSize?: number
  /** For tests: explicit credentials instead of the standard AWS credential chain. */
  credentials?: {accessKeyId: string; secretAccessKey: string; sessionToken?: string}
  /** SDK attempts per request (default 3). */
  maxAttempts?: number
  /** Connect and idle timeout in ms, and the bound on preflight and cleanup calls (default: util/timeouts). */
  timeoutMs?: number
}

/** What building an S3 client needs (a subset of the destination's options). */
export type S3ClientOptions = Pick<S3DestinationOptions, 'credentials' | 'maxAttempts' | 'profile' | 'region'>

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

// bench/transfer (quiet machine, 3 runs each, node --max-semi-space-size=1, ratio to the limit / peak RSS
// for 1 GB and 4 GB): 8 MiB x 4: 0.94 / 155-158 / 151-154 MB; 5 MiB x 3: 0.91 / 124-129 / 126-130 MB;
// 5 MiB x 2: 0.92 (0.77-1.0) / 118-127 / 119-125 MB. The download is one stream anyway, so two parts in
// flight keep up with it while the memory stays under 128 MB.
export const DEFAULT_PART_SIZE = 5 * 1024 * 1024
export const DEFAULT_QUEUE_SIZE = 2
const MAX_PARTS = 10_000
const MIN_PART_SIZE = 5 * 1024 * 1024

export function createS3Destination(options: S3DestinationOptions): Destination {
  const {bucket} = options
  const prefix = options.prefix ?? ''
  checkBucketName(bucket)

  const timeoutMs = options.timeoutMs ?? resolveTimeoutMs()
  const endpoint = s3Endpoint(options.endpoint)
  let clientPromise: Promise<S3Client> | undefined
  const client = (): Promise<S3Client> => {
    clientPromise ??= makeClient(options, endpoint, timeoutMs)
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
    const {AbortMultipartUploadCommand, CreateMultipartUploadCommand} = s3Sdk()
    const s3 = await client()
    const probeKey = `${prefix}.pbm-preflight-${randomBytes(6).toString('hex')}`
    let uploadId: string | undefined
    // Bounded as a whole: a silent endpoint (accepts, never answers) fails here, not after every retry.
    const deadline = AbortSignal.timeout(timeoutMs)
    try {
      const created = await s3.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: probeKey,
          ContentType: 'application/octet-stream',
          ...sseParams,
        }),
        {abortSignal: signal ? AbortSignal.any([signal, deadline]) : deadline},
      )
      uploadId = created.UploadId
    } catch (error) {
      if (signal?.aborted) throw new InterruptedError()
      if (deadline.aborted) throw silentEndpoint(error, {bucket, endpoint, region: options.region}, timeoutMs)
      throw s3Error(error, {bucket, endpoint, region: options.region}, 'preflight-failed')
    }

    try {
      await s3.send(new AbortMultipartUploadCommand({Bucket: bucket, Key: probeKey, UploadId: uploadId}), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      })
    } catch (error) {
      // s3rver answers 405; some policies lack s3:AbortMultipartUpload. The probe holds no data.
      debug('preflight: abort of the probe upload failed: %s', (error as Error).message)
    }
  }

  let ready: Promise<void> | undefined
  const pool = new PartPool(options.partSize ?? DEFAULT_PART_SIZE, Math.max(1, options.queueSize ?? DEFAULT_QUEUE_SIZE))
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
      const {HeadObjectCommand} = s3Sdk()
      const s3 = await client()
      try {
        const head = await s3.send(new HeadObjectCommand({Bucket: bucket, Key: keyOf(key)}), {abortSignal: signal})
        const meta = head.Metadata ?? {}
        const recorded = meta[META.size]
        return {
          size: head.ContentLength ?? 0,
          md5: meta[META.md5],
          // A malformed value becomes NaN, which matches no size: the object is then not trusted.
          ...(recorded === undefined ? {} : {recordedSize: /^\d+$/.test(recorded) ? Number(recorded) : Number.NaN}),
          complete: meta[META.verified] !== undefined,
          folder: meta[META.folder],
          ...(head.ETag ? {etag: head.ETag.replaceAll('"', '')} : {}),
          ...(head.VersionId ? {versionId: head.VersionId} : {}),
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
        [META.verified]: [meta.md5 ? 'md5' : '', meta.crc32c ? 'crc32c' : '', 'length', 'gzip']
          .filter(Boolean)
          .join(','),
      }
      if (meta.size !== undefined) Metadata[META.size] = String(meta.size)
      if (meta.md5) Metadata[META.md5] = meta.md5
      if (meta.crc32c) Metadata[META.crc32c] = meta.crc32c

      // With the SDK's default (WHEN_SUPPORTED, real AWS), every part carries a CRC32 that S3 checks
      // and the upload is created for it, as lib-storage does; WHEN_REQUIRED (custom endpoints) sends none.
      const checksums = (await s3.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED'
      return new MultipartSink({
        s3,
        commands: s3Sdk(),
        params: {Bucket: bucket, Key: keyOf(key), ContentType: 'application/gzip', Metadata, ...sseParams},
        partSize,
        pool: partSize === pool.partSize ? pool : undefined,
        queueSize: Math.max(1, options.queueSize ?? DEFAULT_QUEUE_SIZE),
        checksums,
        context: {bucket, endpoint, region: options.region},
        signal,
        timeoutMs,
      })
    },
  }
}

interface ErrorContext {
  bucket: string
  endpoint?: string
  region?: string
}

interface SinkOptions {
  s3: S3Client
  commands: typeof import('@aws-sdk/client-s3')
  params: Record<string, unknown> & {Bucket: string; Key: string; ContentType: string; Metadata: Record<string, string>}
  partSize: number
  /** The destination's shared part buffers, when this upload's parts have their size. */
  pool?: PartPool
  queueSize: number
  checksums: boolean
  context: ErrorContext
  signal: AbortSignal
  timeoutMs: number
}

interface UploadedPart {
  PartNumber: number
  ETag: string
  ChecksumCRC32?: string
}

/**
 * SigV4 without the SHA-256 pass over each part: `x-amz-content-sha256: UNSIGNED-PAYLOAD`, which S3
 * accepts over https and http alike and which the SDK itself sends for every streamed body. The
 * signer keeps a value it finds in that header. Integrity: TLS on https; the engine's own MD5/CRC32C
 * of the source; with WHEN_SUPPORTED (real AWS) a CRC32 per part that S3 checks.
 */
const unsignedPayloadMiddleware =
  (next: (args: {request: unknown}) => Promise<unknown>) =>
  (args: {request: unknown}): Promise<unknown> => {
    const {headers} = args.request as {headers?: Record<string, string>}
    if (headers) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD'
    return next(args)
  }

function unsignedPayload(command: {middlewareStack: {add: (...args: never[]) => void}}): void {
  ;(command.middlewareStack.add as (m: unknown, o: object) => void)(unsignedPayloadMiddleware, {
    step: 'build',
    name: 'pbmUnsignedPayload',
    override: true,
  })
}

/**
 * The part buffers of one destination, shared by its uploads: a finished part's buffer is filled
 * again by whichever upload needs one next, instead of each upload allocating its own and leaving
 * them to the garbage collector (5 MiB each, outside V8's heap: collected late).
 *
 * Each upload may always hold 2 buffers (one filling, one being sent), so it never waits on another;
 * beyond that, queueSize - 1 extra buffers in all go to whichever upload asks while one is spare. One
 * upload alone sends up to queueSize parts at once, as before; N uploads at once hold at most
 * 2N + queueSize - 1 buffers (default 5 MiB × (2N + 1)), instead of (queueSize + 1) × N.
 */
export class PartPool {
  active = 0
  inUse = 0
  /** Buffers held beyond 2 by their upload. */
  extra = 0
  private readonly free: Buffer[] = []

  constructor(
    readonly partSize: number,
    private readonly queueSize: number,
  ) {}

  /** Most buffers in use at once with `active` uploads. */
  get cap(): number {
    return 2 * this.active + this.queueSize - 1
  }

  /** A buffer for an upload that holds `held` already, or undefined when it must wait for one of its own. */
  take(held: number): Buffer | undefined {
    if (held >= 2) {
      if (held >= this.queueSize + 1 || this.extra >= this.queueSize - 1) return
      this.extra++
    }

    this.inUse++
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.partSize)
  }

  /** A buffer back from an upload that held `held` (this one included), free for reuse while the pool may need it. */
  give(buffer: Buffer, held: number): void {
    this.lose(held)
    if (this.free.length + this.inUse < this.cap) this.free.push(buffer)
  }

  /** A buffer that cannot be reused (its request may still read it): counted out, left to the collector. */
  lose(held: number): void {
    this.inUse--
    if (held > 2) this.extra--
  }

  /** An upload ended (holding nothing): its allowance goes, and so do free buffers beyond what the others may use. */
  leave(): void {
    this.active--
    this.free.length = Math.max(0, Math.min(this.free.length, this.cap - this.inUse))
  }
}

/**
 * A multipart upload written from part buffers (at most queueSize + 1, from the destination's
 * PartPool, or allocated as needed and reused when its parts have a size of their own): incoming chunks are copied into the part being filled; a full part goes out as
 * UploadPart while the next one fills; when every buffer is busy, write() returns a promise
 * (backpressure). Nothing is visible before commit(), which the engine calls only after verification:
 * an archive of one part goes out as a single PutObject then, a multipart upload is completed then.
 * A failed part is retried by the SDK (maxAttempts, with backoff); after that, and on abort(), the
 * multipart upload is aborted once the parts in flight have stopped.
 */
class MultipartSink implements Sink {
  private allocated = 0
  /** Buffers taken from the pool and not given back: the one filling and those of parts in flight. */
  private held = 0
  private readonly controller = new AbortController()
  private current?: Buffer
  private error?: PbmError
  private filled = 0
  private readonly free: Buffer[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private readonly maxBuffers: number
  private partNumber = 0
  private readonly parts: UploadedPart[] = []
  private state: 'aborted' | 'committing' | 'done' | 'open' = 'open'
  private uploadId?: Promise<string | undefined>
  private waiter?: {resolve: () => void; reject: (error: Error) => void}

  constructor(private readonly o: SinkOptions) {
    this.maxBuffers = o.queueSize + 1
    if (o.pool) o.pool.active++
  }

  async abort(): Promise<void> {
    if (this.state === 'aborted' || this.state === 'done') return
    this.state = 'aborted'
    this.controller.abort()
    this.fail(new PbmError('interrupted', 'upload aborted'))
    await Promise.allSettled(this.inFlight)
    this.release(false)
    const uploadId = await this.uploadId?.catch(() => {})
    if (!uploadId) return
    const {Bucket, Key} = this.o.params
    try {
      await this.o.s3.send(new this.o.commands.AbortMultipartUploadCommand({Bucket, Key, UploadId: uploadId}), {
        abortSignal: AbortSignal.timeout(this.o.timeoutMs),
      })
    } catch (error) {
      debug('abort of upload %s failed: %s', uploadId, (error as Error).message)
    }
  }

  async commit(): Promise<void> {
    if (this.error) throw this.error
    this.state = 'committing'
    try {
      if (this.partNumber === 0) {
        await this.putObject()
      } else {
        await this.flush()
        await this.complete()
      }
    } catch (error) {
      this.error ??= s3Error(error, this.o.context, 'upload-failed')
      this.state = 'committing'
      await this.abort()
      throw this.error
    }

    this.state = 'done'
    this.release(true)
  }

  /** Every part uploaded (an archive that fits one part is sent by commit() as one PutObject). */
  async flush(): Promise<void> {
    if (this.error) throw this.error
    if (this.partNumber === 0) return
    if (this.filled > 0) this.dispatch()
    while (this.inFlight.size > 0) await Promise.all(this.inFlight)
    if (this.error) throw this.error
  }

  write(chunk: Buffer): Promise<void> | void {
    if (this.error) return Promise.reject(this.error)
    let offset = 0
    while (offset < chunk.length) {
      this.current ??= this.take()
      if (!this.current) {
        const rest = chunk.subarray(offset)
        return new Promise<void>((resolve, reject) => {
          this.waiter = {resolve, reject}
        }).then(() => this.write(rest))
      }

      const n = chunk.copy(this.current, this.filled, offset)
      this.filled += n
      offset += n
      if (this.filled === this.o.partSize) this.dispatch()
    }
  }

  private async complete(): Promise<void> {
    const uploadId = await this.uploadId!
    const {Bucket, Key} = this.o.params
    this.parts.sort((a, b) => a.PartNumber - b.PartNumber)
    await this.o.s3.send(
      new this.o.commands.CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId: uploadId,
        MultipartUpload: {Parts: this.parts},
      }),
      {abortSignal: this.controller.signal},
    )
  }

  private create(): Promise<string | undefined> {
    this.uploadId ??= abortStaleUploads(this.o)
      .then(() =>
        this.o.s3.send(
          // Not cancelled by abort(): an upload the server created must be known, to be aborted.
          new this.o.commands.CreateMultipartUploadCommand({
            ...this.o.params,
            ...(this.o.checksums ? {ChecksumAlgorithm: 'CRC32'} : {}),
          }),
          {abortSignal: AbortSignal.timeout(this.o.timeoutMs)},
        ),
      )
      .then((r) => {
        if (!r.UploadId) throw new Error('CreateMultipartUpload answered without an UploadId.')
        return r.UploadId
      })
    return this.uploadId
  }

  /** Send the part being filled; its buffer goes back to the pool once the part is stored. */
  private dispatch(): void {
    const buffer = this.current!
    const body = buffer.subarray(0, this.filled)
    const partNumber = ++this.partNumber
    this.current = undefined
    this.filled = 0
    if (partNumber > MAX_PARTS) {
      this.drop()
      this.fail(
        new PbmError('upload-failed', `The archive needs more than ${MAX_PARTS} parts of ${this.o.partSize} bytes.`),
      )
      return
    }

    const sent: Promise<void> = this.uploadPart(partNumber, body).then(
      () => {
        this.inFlight.delete(sent)
        // The part is stored: its request no longer reads the buffer.
        if (this.o.pool) this.o.pool.give(buffer, this.held--)
        else this.free.push(buffer)
        if (this.state === 'aborted') return
        const w = this.waiter
        this.waiter = undefined
        w?.resolve()
      },
      (error: unknown) => {
        this.inFlight.delete(sent)
        this.drop()
        this.fail(s3Error(error, this.o.context, 'upload-failed'))
      },
    )
    this.inFlight.add(sent)
  }

  private fail(error: PbmError): void {
    this.error ??= error
    const w = this.waiter
    this.waiter = undefined
    w?.reject(this.error)
  }

  private async putObject(): Promise<void> {
    const body = this.current ? this.current.subarray(0, this.filled) : Buffer.alloc(0)
    const command = new this.o.commands.PutObjectCommand({...this.o.params, Body: body, ContentLength: body.length})
    unsignedPayload(command)
    await this.o.s3.send(command, {abortSignal: this.controller.signal})
  }

  /** A buffer that a failed or aborted request may still read: never reused, left to the collector. */
  private drop(): void {
    this.o.pool?.lose(this.held--)
  }

  /** The upload is over: the part being filled goes back to the pool when `reuse` (its PutObject is done). */
  private release(reuse: boolean): void {
    const {pool} = this.o
    if (pool) {
      if (this.current && reuse) pool.give(this.current, this.held--)
      else if (this.current) pool.lose(this.held--)
      for (; this.held > 0; this.held--) pool.lose(this.held)
      pool.leave()
    }

    this.current = undefined
    this.free.length = 0
  }

  private take(): Buffer | undefined {
    if (this.o.pool) {
      const taken = this.o.pool.take(this.held)
      if (taken) this.held++
      return taken
    }

    const buffer = this.free.pop()
    if (buffer) return buffer
    if (this.allocated >= this.maxBuffers) return
    this.allocated++
    return Buffer.allocUnsafeSlow(this.o.partSize)
  }

  private async uploadPart(partNumber: number, body: Buffer): Promise<void> {
    const uploadId = await this.create()
    const {Bucket, Key} = this.o.params
    const command = new this.o.commands.UploadPartCommand({
      Bucket,
      Key,
      UploadId: uploadId,
      PartNumber: partNumber,
      Body: body,
      ContentLength: body.length,
      ...(this.o.checksums ? {ChecksumAlgorithm: 'CRC32'} : {}),
    })
    unsignedPayload(command)
    const r = await this.o.s3.send(command, {abortSignal: this.controller.signal})
    if (!r.ETag) throw new Error(`UploadPart ${partNumber} answered without an ETag.`)
    this.parts.push({
      PartNumber: partNumber,
      ETag: r.ETag,
      ...(r.ChecksumCRC32 ? {ChecksumCRC32: r.ChecksumCRC32} : {}),
    })
  }
}

/**
 * A run killed mid-upload leaves its multipart upload open (billed until a lifecycle rule removes
 * it). Before starting one, abort every open upload of exactly this key: pbm's own, from a crashed
 * run. (An overlapping live run's upload is aborted too; that run then fails cleanly, never with a
 * wrong object.) Servers without ListMultipartUploads (s3rver: 501) are tolerated.
 */
async function abortStaleUploads(o: SinkOptions): Promise<void> {
  const {Bucket, Key} = o.params
  try {
    const listed = await o.s3.send(new o.commands.ListMultipartUploadsCommand({Bucket, Prefix: Key}), {
      abortSignal: AbortSignal.timeout(o.timeoutMs),
    })
    const stale = (listed.Uploads ?? []).filter((u) => u.Key === Key && u.UploadId)
    await Promise.all(
      stale.map(async (u) => {
        debug('aborting the stale upload %s of %s', u.UploadId, Key)
        await o.s3
          .send(new o.commands.AbortMultipartUploadCommand({Bucket, Key, UploadId: u.UploadId}), {
            abortSignal: AbortSignal.timeout(o.timeoutMs),
          })
          .catch((error: Error) => debug('abort of the stale upload failed: %s', error.message))
      }),
    )
  } catch (error) {
    debug('cannot list open uploads of %s: %s', Key, (error as Error).message)
  }
}

function silentEndpoint(error: unknown, context: ErrorContext, timeoutMs: number): PbmError {
  const where = context.endpoint ? redact(context.endpoint) : 'AWS S3'
  return new PbmError(
    'endpoint-unreachable',
    `The S3 endpoint ${where} did not answer within ${timeoutMs / 1000} s (bucket "${context.bucket}").`,
    {
      cause: error,
      hint: 'Check --endpoint, the network and any proxy; allow more time with --timeout or PBM_TIMEOUT.',
    },
  )
}

/** The rule for bucket names (catalog/names), as a usage error. */
export function checkBucketName(bucket: string): void {
  if (!isBucketName(bucket)) {
    throw new PbmError('bad-bucket', `"${bucket}" is not a valid S3 bucket name.`, {exitCode: 2})
  }
}

/** The S3 endpoint: the one given, else AWS_ENDPOINT_URL_S3, else AWS's own. */
export function s3Endpoint(endpoint?: string): string | undefined {
  return endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || undefined)
}

/** The one way pbm builds an S3 client (also for presigned URLs and restore stages). */
export async function makeClient(
  options: S3ClientOptions,
  endpoint: string | undefined,
  timeoutMs = resolveTimeoutMs(),
): Promise<S3Client> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const {S3Client} = s3Sdk()
  const region =
    options.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined)
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
    // Attempts per request, not a quota shared by the run's requests (s3-connections.ts says why).
    retryStrategy: new PerRequestRetryStrategy(options.maxAttempts ?? 3),
    // Connect timeout, and an idle timeout on every request's socket: nothing waits forever. It must be
    // socketTimeout: since @smithy/node-http-handler 4.x requestTimeout caps the whole request and only
    // logs a warning when exceeded, so a part upload to a silent endpoint waited forever.
    requestHandler: {
      connectionTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      httpAgent: AGENT_OPTIONS,
      httpsAgent: AGENT_OPTIONS,
    },
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

  if (name === 'CredentialsProviderError' && /from any providers/i.test(message)) {
    return new PbmError('no-credentials', `No AWS credentials were found (environment, ~/.aws, SSO, instance role).`, {
      cause: error,
      hint: 'Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile with AWS_PROFILE or --profile (aws configure, aws sso login).',
    })
  }

  if (
    [
      'CredentialsProviderError',
      'ExpiredToken',
      'InvalidAccessKeyId',
      'InvalidToken',
      'SignatureDoesNotMatch',
      'TokenRefreshRequired',
    ].includes(name)
  ) {
    return new PbmError('bad-credentials', `The AWS credentials were rejected${where} (${name}).`, {
      cause: error,
      hint: 'Check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --profile, and that the session has not expired.',
    })
  }

  if (
    name === 'AccessDenied' ||
    name === 'AllAccessDisabled' ||
    name === 'KMS.AccessDeniedException' ||
    status === 403
  ) {
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
    return new PbmError(
      'bad-region',
      `The region does not match the bucket "${bucket}"${context.region ? ` (${context.region})` : ''}: ${message}`,
      {
        cause: error,
        hint: "Pass --region with the bucket's region (or set AWS_REGION).",
      },
    )
  }

  const sysCode = err?.code ?? (err?.cause as {code?: string} | undefined)?.code
  if (sysCode === 'ECONNRESET' || sysCode === 'EPIPE') {
    const attempts = (err as {$metadata?: {attempts?: number}}).$metadata?.attempts
    return new PbmError(
      'endpoint-unreachable',
      `The S3 endpoint${where || ' (AWS)'} dropped the connection${attempts ? ` (${attempts === 1 ? '1 attempt' : `${attempts} attempts`})` : ''}: ${message}`,
      {
        cause: error,
        hint: 'Check --endpoint, the network and any proxy; a server that is overloaded also drops connections.',
      },
    )
  }

  if (
    ['EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ETIMEDOUT'].includes(String(sysCode)) ||
    name === 'TimeoutError'
  ) {
    return new PbmError('endpoint-unreachable', `Cannot reach the S3 endpoint${where || ' (AWS)'}: ${message}`, {
      cause: error,
      hint: 'Check --endpoint, the network, and any proxy settings.',
    })
  }

  return new PbmError(fallback, `S3 ${name && name !== 'Error' ? `${name}: ` : ''}${message}`, {cause: error})
}
