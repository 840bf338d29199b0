import type {Destination, S3DestinationOptions} from '../destination/index.js'
import type {Inventory} from '../destination/inventory.js'
import type {DestinationChoice} from '../plan/destination.js'

import {createLocalDestination, createS3Destination} from '../destination/index.js'
import {createLocalInventory} from '../destination/local-inventory.js'
import {leaseFor} from '../destination/lock.js'
import {createLocalReader, createS3Reader, type ObjectReader} from '../destination/read.js'
import {createS3Inventory} from '../destination/s3-inventory.js'
import {createVaultInventory, createVaultReader} from '../destination/vault-inventory.js'
import {createVaultDestination} from '../destination/vault.js'
import {Restic} from '../restic/index.js'
import {resolveTimeoutMs} from '../util/timeouts.js'

/** S3 settings that come straight from flags (env-backed); the rest is the AWS chain's. */
export type S3Settings = Pick<
  S3DestinationOptions,
  'endpoint' | 'profile' | 'region' | 'sse' | 'sseKmsKeyId' | 'storageClass' | 'timeoutMs'
>

/**
 * The destinations of one run: S3, the folder, the vault. `localFile` is pick's `--to FILE` (exactly one archive, that
 * path); otherwise a local path is a folder with the <site>/<env>/<file> layout.
 */
export function openDestinations(choice: DestinationChoice, s3: S3Settings, localFile = false): Destination[] {
  const destinations: Destination[] = []
  if (choice.s3) {
    destinations.push(createS3Destination({...s3, bucket: choice.s3.bucket, prefix: choice.s3.prefix}))
  }

  if (choice.local) {
    destinations.push(
      localFile
        ? createLocalDestination({file: choice.local.path, timeoutMs: s3.timeoutMs})
        : createLocalDestination({root: choice.local.path, timeoutMs: s3.timeoutMs}),
    )
  }

  if (choice.restic) destinations.push(createVaultDestination(resticOf(choice.restic)))
  return destinations
}

/** One restic adapter per vault of a run (it checks restic and opens the repository once). */
const adapters = new WeakMap<NonNullable<DestinationChoice['restic']>, Restic>()
function resticOf(vault: NonNullable<DestinationChoice['restic']>): Restic {
  let restic = adapters.get(vault)
  if (!restic) {
    restic = new Restic(vault)
    adapters.set(vault, restic)
  }

  return restic
}

/** What prune lists and removes from, with where it is for people (S3, folder, vault, as openDestinations). */
export function openInventories(
  choice: DestinationChoice,
  s3: S3Settings,
): Array<{inventory: Inventory; location: string}> {
  const inventories: Array<{inventory: Inventory; location: string}> = []
  if (choice.s3) {
    const {bucket, prefix} = choice.s3
    inventories.push({
      inventory: createS3Inventory({endpoint: s3.endpoint, profile: s3.profile, region: s3.region, bucket, prefix}),
      location: `s3://${bucket}/${prefix}`,
    })
  }

  if (choice.local) {
    inventories.push({inventory: createLocalInventory({root: choice.local.path}), location: choice.local.path})
  }

  if (choice.restic) {
    const restic = resticOf(choice.restic)
    // An unrecorded snapshot younger than a lock's lease may be a running pbm's (the same rule as a folder's locks).
    const {staleAfterMs} = leaseFor(resolveTimeoutMs())
    inventories.push({inventory: createVaultInventory(restic, {leaseMs: staleAfterMs}), location: restic.location})
  }

  return inventories
}

/** A destination as backup:verify sees it: what it holds (listing), each object's record, its bytes. */
export interface VerifyStore {
  destination: Destination
  inventory: Inventory
  reader: ObjectReader
  /** Where it is, for people: `s3://bucket/prefix` or the folder. */
  location: string
}

/** The stores of one verify run, S3 first (a local path is always a mirror folder). */
export function openVerifyStores(choice: DestinationChoice, s3: S3Settings): VerifyStore[] {
  const destinations = openDestinations(choice, s3)
  const inventories = openInventories(choice, s3)
  const readers: ObjectReader[] = []
  if (choice.s3) readers.push(createS3Reader({...s3, bucket: choice.s3.bucket, prefix: choice.s3.prefix}))
  if (choice.local) readers.push(createLocalReader({root: choice.local.path}))
  if (choice.restic) readers.push(createVaultReader(resticOf(choice.restic)))
  // The same order in all three lists: S3, the folder, the vault.
  return destinations.map((destination, i) => ({destination, ...inventories[i], reader: readers[i]}))
}
