import type {S3Client} from '@aws-sdk/client-s3'

import {type S3ClientOptions as DestinationClientOptions, makeClient, s3Endpoint} from './s3.js'

export {checkBucketName} from './s3.js'

/** What an S3 client needs, with the endpoint (AWS_ENDPOINT_URL_S3 when not given). */
export type S3ClientOptions = DestinationClientOptions & {endpoint?: string}

export function resolveEndpoint(options: S3ClientOptions): string | undefined {
  return s3Endpoint(options.endpoint)
}

/** An S3 client configured exactly as the S3 destination's (one factory: makeClient in s3.ts). */
export function createS3Client(options: S3ClientOptions): Promise<S3Client> {
  return makeClient(options, resolveEndpoint(options))
}
