/**
 * What prune needs from a destination: every object under its root or prefix, and removing some of
 * them. Keys are relative to the root or bucket prefix, as the Destination's keys are.
 */
import type {SweptStage} from './stage.js'

export interface InventoryObject {
  /** `<site>/<env>/<file>` for pbm's archives; anything else is listed as is. */
  key: string
  size: number
  lastModified?: Date
}

export type RemoveOutcome =
  /** Gone (on a versioned bucket: hidden behind a delete marker, the data is still stored). */
  | {key: string; status: 'removed'; deleteMarker?: boolean; alreadyGone?: boolean}
  /** Object Lock or a legal hold keeps it; nothing was written (no delete marker). */
  | {key: string; status: 'locked'; until?: Date; mode?: string; legalHold?: boolean}
  | {key: string; status: 'failed'; code: string; message: string}

export interface Inventory {
  readonly kind: 'local' | 's3'
  /** `s3://bucket/prefix/key` or an absolute path, for people and --json. */
  describe(key: string): string
  /** Every object under the root or prefix, one page at a time (at most LIST_PAGE objects). */
  list(signal?: AbortSignal): AsyncIterable<InventoryObject[]>
  /**
   * Of these keys, those whose object carries pbm's record of a verified transfer (S3: pbm's metadata;
   * a folder: the completion record, naming the file at its size): one HEAD (or record read) per key.
   */
  recorded(keys: readonly string[], signal?: AbortSignal): Promise<Set<string>>
  /** Remove the keys, DELETE_BATCH at a time; yields the outcome of each key, batch by batch, in order. */
  remove(keys: readonly string[], signal?: AbortSignal): AsyncIterable<RemoveOutcome[]>
  /**
   * S3: among listed keys, delete the restore stages whose URLs have expired (stage.ts's rule: provably
   * pbm's stage, by its name and its own metadata). Failures come back, they are not thrown.
   */
  sweepStages?(keys: readonly string[], signal?: AbortSignal): Promise<SweptStage[]>
}

/** S3's DeleteObjects limit, used for local batches too so that progress looks the same. */
export const DELETE_BATCH = 1000
/** S3's ListObjectsV2 page size. */
export const LIST_PAGE = 1000
