/**
 * Reading a mirrored archive back, start to end (backup:restore --deep). A minimal stand-in with the
 * shape of the `verify` branch's src/destination/read.ts (ObjectReader.read(key, signal) → {body, size}):
 * when that lands, backup:restore's job takes its readers instead and this file goes.
 */
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {PbmError} from '../errors.js'
import {checkKey} from './key.js'
import {makeClient, type S3ClientOptions, s3Endpoint, s3Error} from './s3.js'

/** One stored object being read back: its bytes in order, and its size. */
export interface StoredRead {
  body: AsyncIterable<Buffer>
  size: number
}

export interface ArchiveReader {
  read(key: string, signal?: AbortSignal): Promise<StoredRead>
}

const READ_BUFFER = 1024 * 1024

/** A local mirror folder: `<root>/<key>`. */
export function createLocalReadBack(options: {root: string}): ArchiveReader {
  const root = path.resolve(options.root)
  return {
    async read(key, signal) {
      const full = path.join(root, ...checkKey(key))
      if (!full.startsWith(root + path.sep)) throw new PbmError('unsafe-key', `Refusing a path outside ${root}.`)
      const st = await stat(full).catch((error: NodeJS.ErrnoException) => {
        throw new PbmError('not-found', `${full} cannot be read (${error.code ?? error.message}).`, {cause: error})
      })
      return {body: createReadStream(full, {highWaterMark: READ_BUFFER, signal}), size: st.size}
    },
  }
}

/** An S3 bucket and prefix: one GetObject, its body streamed. */
export function createS3ReadBack(
  options: S3ClientOptions & {bucket: string; endpoint?: string; prefix?: string},
): ArchiveReader {
  const endpoint = s3Endpoint(options.endpoint)
  return {
    async read(key, signal) {
      const {GetObjectCommand} = await import('@aws-sdk/client-s3')
      const client = await makeClient(options, endpoint)
      try {
        const answer = await client.send(
          new GetObjectCommand({Bucket: options.bucket, Key: `${options.prefix ?? ''}${key}`}),
          {abortSignal: signal},
        )
        const body = answer.Body as AsyncIterable<Uint8Array> | undefined
        if (!body) throw new PbmError('not-found', `s3://${options.bucket}/${options.prefix ?? ''}${key} has no body.`)
        return {
          body: (async function* () {
            try {
              for await (const chunk of body) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
            } finally {
              client.destroy()
            }
          })(),
          size: answer.ContentLength ?? 0,
        }
      } catch (error) {
        client.destroy()
        throw s3Error(error, {bucket: options.bucket, endpoint, region: options.region}, 'read-failed')
      }
    },
  }
}
