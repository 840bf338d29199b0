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

/** One of pbm's own leftovers in a store, found by listing it (vault: a data snapshot without its record). */
export interface Leftover {
  /** The key remove() takes for it (never one of an archive). */
  key: string
  /** For people and --json: what it is, and where. */
  what: string
  /** Why it is pbm's, and no longer anyone's: `no completion record, stored 3 h ago (a run that died)`. */
  reason: string
  size: number
}

/** A store-wide step after the removals that frees what they held (vault: `restic prune`). */
export interface CompactOutcome {
  /** What runs, as a person would type it: `restic prune`. */
  command: string
  status: 'done' | 'failed' | 'planned'
  /** What it freed, in the store's own words (`1.908 MiB`). */
  freed?: string
  error?: {code: string; message: string}
}

export interface Inventory {
  readonly kind: 'local' | 'restic' | 's3'
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
  /**
   * pbm's own leftovers among what list() saw (vault: data snapshots whose completion record was never
   * saved, by a run that died or failed, and records whose data is gone), of these site.envs and
   * elements; each is removed by remove(leftover.key), beside the planned archives.
   */
  leftovers?(
    filter: {targets?: ReadonlyArray<{site: string; env: string}>; elements?: readonly string[]; now: Date},
    signal?: AbortSignal,
  ): Promise<Leftover[]>
  /** After the removals: free the space they held (vault: `restic prune`); dry run: what would run. */
  compact?(dryRun: boolean, signal?: AbortSignal): Promise<CompactOutcome>
  /** What removing a key removes when that is more than one object (vault: its snapshots' short IDs). */
  partsOf?(key: string): string[] | undefined
}

/** S3's DeleteObjects limit, used for local batches too so that progress looks the same. */
export const DELETE_BATCH = 1000
/** S3's ListObjectsV2 page size. */
export const LIST_PAGE = 1000
