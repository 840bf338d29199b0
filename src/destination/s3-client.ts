import type {S3Client} from '@aws-sdk/client-s3'

import {PbmError} from '../errors.js'

/** What the S3 client needs: a subset of S3DestinationOptions. */
export interface S3ClientOptions {
  region?: string
  /** A custom S3-compatible endpoint; AWS_ENDPOINT_URL_S3 is used when not given. */
  endpoint?: string
  profile?: string
  credentials?: {accessKeyId: string; secretAccessKey: string; sessionToken?: string}
  /** SDK attempts per request (default 3). */
  maxAttempts?: number
}

export function resolveEndpoint(options: S3ClientOptions): string | undefined {
  return options.endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || undefined)
}

/** The rule for bucket names (3-63 lowercase letters, digits, dots, hyphens), as a usage error. */
export function checkBucketName(bucket: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new PbmError('bad-bucket', `"${bucket}" is not a valid S3 bucket name.`, {exitCode: 2})
  }
}

/**
 * An S3 client configured as the S3 destination's (lazy SDK import: ~150 ms). With a custom
 * endpoint: path-style and checksums only when required, because the SDK's default aws-chunked
 * trailers are stored as data by s3rver and rejected or corrupted by many S3-compatible stores.
 */
export async function createS3Client(options: S3ClientOptions): Promise<S3Client> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const endpoint = resolveEndpoint(options)
  const {S3Client} = await import('@aws-sdk/client-s3')
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
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {followRegionRedirects: true}),
    maxAttempts: options.maxAttempts ?? 3,
  })
}
