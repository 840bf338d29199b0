/**
 * moto for the prune/inventory tests and bench (versioning, delete markers, Object Lock), with an S3
 * client built as pbm builds it. The server itself is test/helpers/moto.ts's.
 */
import type {S3Client} from '@aws-sdk/client-s3'

import {createS3Client} from '../../src/destination/s3-client.js'
import {MOTO_CREDENTIALS, startMoto} from './moto.js'

export {MOTO_CREDENTIALS} from './moto.js'

export interface PruneMoto {
  endpoint: string
  client(): Promise<S3Client>
  stop(): Promise<void>
}

export async function startPruneMoto(): Promise<PruneMoto> {
  const moto = await startMoto()
  let clientPromise: Promise<S3Client> | undefined
  return {
    client() {
      clientPromise ??= createS3Client({credentials: MOTO_CREDENTIALS, endpoint: moto.endpoint, region: 'us-east-1'})
      return clientPromise
    },
    endpoint: moto.endpoint,
    async stop() {
      if (clientPromise) (await clientPromise).destroy()
      await moto.close()
    },
  }
}
