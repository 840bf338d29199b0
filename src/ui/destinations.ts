import type {Destination} from '../destination/index.js'
import type {DestinationChoice} from '../plan/destination.js'

import {createLocalDestination, createS3Destination} from '../destination/index.js'

/** S3 settings that come straight from flags (env-backed) and the AWS chain. */
export interface S3Settings {
  region?: string
  endpoint?: string
  profile?: string
  storageClass?: string
  sse?: 'AES256' | 'aws:kms'
  sseKmsKeyId?: string
}

/**
 * The destinations of one run, S3 first. `localFile` is pick's `--to FILE` (exactly one archive, that
 * path); otherwise a local path is a folder with the <site>/<env>/<file> layout.
 */
export async function openDestinations(
  choice: DestinationChoice,
  s3: S3Settings,
  localFile = false,
): Promise<Destination[]> {
  const destinations: Destination[] = []
  if (choice.s3) {
    destinations.push(
      await createS3Destination({
        bucket: choice.s3.bucket,
        endpoint: s3.endpoint,
        prefix: choice.s3.prefix,
        profile: s3.profile,
        region: s3.region,
        sse: s3.sse,
        sseKmsKeyId: s3.sseKmsKeyId,
        storageClass: s3.storageClass,
      }),
    )
  }

  if (choice.local) {
    destinations.push(
      localFile ? createLocalDestination({file: choice.local.path}) : createLocalDestination({root: choice.local.path}),
    )
  }

  return destinations
}
