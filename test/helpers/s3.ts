/**
 * A real local S3 server (s3rver, in a child process) and a small recording proxy in front of it, for
 * tests of the S3 destination and of the commands. The proxy records every request the client sends
 * (so tests can prove that each multipart upload was completed or aborted), answers
 * AbortMultipartUpload itself as real S3 does (s3rver answers 405), and can inject faults.
 */
import type {S3Client} from '@aws-sdk/client-s3'

import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import http from 'node:http'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import path from 'node:path'

export const S3RVER_CREDENTIALS = {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}
/** Environment for a child process (or the SDK's default chain) to talk to s3rver. */
export const S3RVER_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
}

export interface S3Server {
  endpoint: string
  dir: string
  client(): Promise<S3Client>
  createBucket(bucket: string): Promise<void>
  getObject(bucket: string, key: string): Promise<Buffer | undefined>
  headObject(bucket: string, key: string): Promise<undefined | {size: number; metadata: Record<string, string>}>
  putObject(bucket: string, key: string, body: Buffer | string, metadata?: Record<string, string>): Promise<void>
  listKeys(bucket: string, prefix?: string): Promise<string[]>
  stop(): Promise<void>
}

export async function startS3rver(): Promise<S3Server> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pbm-s3rver-'))
  const require = createRequire(import.meta.url)
  const bin = path.join(path.dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js')
  const child: ChildProcess = spawn(
    process.execPath,
    ['--openssl-legacy-provider', bin, '-d', dir, '-a', '127.0.0.1', '-p', '0', '--silent'],
    {stdio: ['ignore', 'pipe', 'pipe']},
  )
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${out}`)), 15_000)
    const onData = (data: Buffer) => {
      out += data.toString()
      const m = /listening on [\d.]+:(\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        child.stdout!.off('data', onData)
        child.stdout!.resume()
        resolve(Number(m[1]))
      }
    }

    child.stdout!.on('data', onData)
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`s3rver exited (${code}): ${out}`))
    })
  })
  const endpoint = `http://127.0.0.1:${port}`
  let clientPromise: Promise<S3Client> | undefined
  const client = () => {
    clientPromise ??= (async () => {
      const {S3Client} = await import('@aws-sdk/client-s3')
      return new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: S3RVER_CREDENTIALS,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      })
    })()
    return clientPromise
  }

  const s3 = await import('@aws-sdk/client-s3')
  return {
    endpoint,
    dir,
    client,
    async createBucket(bucket) {
      await (await client()).send(new s3.CreateBucketCommand({Bucket: bucket}))
    },
    async getObject(bucket, key) {
      try {
        const res = await (await client()).send(new s3.GetObjectCommand({Bucket: bucket, Key: key}))
        return Buffer.from(await res.Body!.transformToByteArray())
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey') return
        throw error
      }
    },
    async headObject(bucket, key) {
      try {
        const res = await (await client()).send(new s3.HeadObjectCommand({Bucket: bucket, Key: key}))
        return {size: res.ContentLength ?? 0, metadata: res.Metadata ?? {}}
      } catch (error) {
        if ((error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode === 404) return
        throw error
      }
    },
    async putObject(bucket, key, body, metadata) {
      await (await client()).send(new s3.PutObjectCommand({Bucket: bucket, Key: key, Body: body, Metadata: metadata}))
    },
    async listKeys(bucket, prefix) {
      const keys: string[] = []
      let token: string | undefined
      do {
        const res = await (
          await client()
        ).send(new s3.ListObjectsV2Command({Bucket: bucket, Prefix: prefix, ContinuationToken: token}))
        for (const o of res.Contents ?? []) keys.push(o.Key!)
        token = res.IsTruncated ? res.NextContinuationToken : undefined
      } while (token)

      return keys.sort()
    },
    async stop() {
      if (clientPromise) (await clientPromise).destroy()
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => {
          child.once('exit', resolve)
        })
        child.kill()
        await exited
      }

      await rm(dir, {recursive: true, force: true})
    },
  }
}

export type S3Operation =
  | 'AbortMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'CreateMultipartUpload'
  | 'DeleteObjects'
  | 'Other'
  | 'PutObject'
  | 'UploadPart'

export interface RecordedRequest {
  op: S3Operation
  method: string
  /** Path without the query string: `/bucket/key`. */
  path: string
  uploadId?: string
  partNumber?: number
  status: number
  /** True when the proxy answered instead of s3rver (an injected fault or an emulated abort). */
  injected?: boolean
  /** The x-amz-content-sha256 header the client sent (the SigV4 payload hash, or UNSIGNED-PAYLOAD). */
  contentSha256?: string
}

export interface UploadRecord {
  uploadId: string
  path: string
  ended?: 'aborted' | 'completed'
}

export interface RecordingProxy {
  endpoint: string
  requests: RecordedRequest[]
  /** Every multipart upload created through the proxy and how it ended. */
  uploads(): UploadRecord[]
  /** Multipart uploads neither completed nor aborted. */
  openUploads(): UploadRecord[]
  /**
   * Answer the next `times` requests of `op` with `status` (an S3 XML error) instead of forwarding; with
   * `'reset'`, read the request and close the connection without an answer (the client sees
   * "socket hang up", ECONNRESET, as when a server closes a keep-alive connection under a request).
   * With `body`, answer `status` with that XML instead of an error (an answer real servers here never
   * give, e.g. a DeleteObjects that refuses some keys of a batch).
   */
  inject(fault: {op: S3Operation; status: number | 'reset'; times?: number; code?: string; body?: string}): void
  /** Drop the faults not yet used up. */
  clearFaults(): void
  /** Forget recorded requests and uploads. */
  reset(): void
  close(): Promise<void>
}

function classify(method: string, query: URLSearchParams, path: string): S3Operation {
  if (method === 'POST' && query.has('uploads')) return 'CreateMultipartUpload'
  if (method === 'POST' && query.has('uploadId')) return 'CompleteMultipartUpload'
  if (method === 'POST' && query.has('delete')) return 'DeleteObjects'
  if (method === 'PUT' && query.has('uploadId') && query.has('partNumber')) return 'UploadPart'
  if (method === 'DELETE' && query.has('uploadId')) return 'AbortMultipartUpload'
  // The SDK names the operation in the query (`?x-id=PutObject`); a part or a copy has other keys.
  if (method === 'PUT' && path.split('/').filter(Boolean).length > 1 && [...query.keys()].every((k) => k === 'x-id')) {
    return 'PutObject'
  }

  return 'Other'
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const targetUrl = new URL(target)
  const requests: RecordedRequest[] = []
  const uploads = new Map<string, UploadRecord>()
  const faults: Array<{op: S3Operation; status: number | 'reset'; times: number; code: string; body?: string}> = []
  const agent = new http.Agent({keepAlive: true})

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const op = classify(req.method ?? 'GET', url.searchParams, url.pathname)
    const rec: RecordedRequest = {op, method: req.method ?? 'GET', path: decodeURIComponent(url.pathname), status: 0}
    const uploadId = url.searchParams.get('uploadId') ?? undefined
    if (uploadId) rec.uploadId = uploadId
    if (url.searchParams.has('partNumber')) rec.partNumber = Number(url.searchParams.get('partNumber'))
    const sha = req.headers['x-amz-content-sha256']
    if (typeof sha === 'string') rec.contentSha256 = sha
    requests.push(rec)

    const fault = faults.find((f) => f.op === op && f.times > 0)
    // Used up when matched, not when the body has arrived: parts sent together must not all get it.
    if (fault) fault.times--
    if (fault || op === 'AbortMultipartUpload') {
      req.resume()
      req.on('end', () => {
        rec.injected = true
        if (fault?.status === 'reset') {
          req.socket.destroy()
          return
        }

        if (fault) {
          rec.status = fault.status
          res.writeHead(fault.status, {'content-type': 'application/xml'})
          res.end(
            fault.body ??
              `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected by the test proxy</Message></Error>`,
          )
          return
        }

        // Real S3 answers 204 and drops the parts; s3rver would answer 405.
        rec.status = 204
        const u = uploadId ? uploads.get(uploadId) : undefined
        if (u && !u.ended) u.ended = 'aborted'
        res.writeHead(204)
        res.end()
      })
      return
    }

    const upstream = http.request(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (up) => {
        rec.status = up.statusCode ?? 0
        if (op === 'CreateMultipartUpload' || op === 'CompleteMultipartUpload') {
          const parts: Buffer[] = []
          up.on('data', (d: Buffer) => parts.push(d))
          up.on('end', () => {
            const body = Buffer.concat(parts)
            const ok = rec.status >= 200 && rec.status < 300
            if (op === 'CreateMultipartUpload' && ok) {
              const id = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString())?.[1]
              if (id) {
                rec.uploadId = id
                uploads.set(id, {uploadId: id, path: rec.path})
              }
            }

            if (op === 'CompleteMultipartUpload' && ok && !body.includes('<Error>') && uploadId) {
              const u = uploads.get(uploadId)
              if (u) u.ended = 'completed'
            }

            res.writeHead(up.statusCode ?? 502, up.headers)
            res.end(body)
          })
          return
        }

        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      },
    )
    upstream.on('error', (error) => {
      rec.status = 502
      if (!res.headersSent) res.writeHead(502)
      res.end(String(error))
    })
    req.pipe(upstream)
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as {port: number}
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    uploads: () => [...uploads.values()],
    openUploads: () => [...uploads.values()].filter((u) => !u.ended),
    inject(fault) {
      faults.push({
        op: fault.op,
        status: fault.status,
        times: fault.times ?? 1,
        code: fault.code ?? (fault.status === 'reset' || fault.status >= 500 ? 'InternalError' : 'AccessDenied'),
        ...(fault.body === undefined ? {} : {body: fault.body}),
      })
    },
    clearFaults() {
      faults.length = 0
    },
    reset() {
      requests.length = 0
      uploads.clear()
    },
    async close() {
      server.closeAllConnections()
      agent.destroy()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
      })
    },
  }
}
