import {createRequire} from 'node:module'

const requireCjs = createRequire(import.meta.url)

/**
 * The AWS SDK's S3 client, loaded at first use (only S3 destinations need it) with require(): the SDK
 * is CommonJS, and Node's import() of CommonJS first scans it for its export names (a 270 kB bundle:
 * ~80 ms of every S3 command's start here, 150 ms instead of 230 to load it).
 */
export function s3Sdk(): typeof import('@aws-sdk/client-s3') {
  return requireCjs('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3')
}

/** The SDK's presigner (CommonJS too), for backup:restore. */
export function presignerSdk(): typeof import('@aws-sdk/s3-request-presigner') {
  return requireCjs('@aws-sdk/s3-request-presigner') as typeof import('@aws-sdk/s3-request-presigner')
}
