import {createHash} from 'node:crypto'

import {UsageError} from '../errors.js'

/**
 * Sharding a mirror across machines (`--shard K/N`, `PBM_SHARD`): shard K of N takes the sites whose
 * hash falls on K, with all their environments, so that one site's backups (and its Terminus calls)
 * stay on one machine.
 *
 * The hash is the first 32 bits of the SHA-1 of the site name (UTF-8), big-endian, mod N, plus 1:
 * - it depends on the name alone, so adding or removing a site never moves another one, and every
 *   shard computes the same answer without talking to the others;
 * - SHA-1's bits are uniform for names as alike as `client-01`...`client-99`, where short
 *   multiplicative hashes (FNV-1a) cluster in their low bits, which `mod N` keeps;
 * - an operator can check a site's shard with coreutils alone:
 *   `echo $(( 0x$(printf %s SITE | sha1sum | cut -c1-8) % N + 1 ))`.
 * Changing N reassigns most sites; that costs nothing but a different split, because the mirror is
 * idempotent (a site's next run on another shard skips what is already mirrored).
 */

export interface Shard {
  /** K: 1-based. */
  index: number
  /** N. */
  count: number
}

/** Kubernetes allows 100,000 completions for an Indexed Job; more shards than sites is pointless well before. */
export const MAX_SHARDS = 100_000

const SHARD_HINT = 'Give the shard as K/N with 1 <= K <= N, e.g. --shard 2/8 for the second of eight.'

/** Parse `K/N` (from `--shard` or `PBM_SHARD`; `source` names it in the error). */
export function parseShard(text: string, source = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text)
  if (!m) throw new UsageError(`${source} must be K/N (like 2/8), got "${text}".`, SHARD_HINT)
  return checkShard(Number(m[1]), Number(m[2]), source)
}

function checkShard(index: number, count: number, source: string): Shard {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new UsageError(
      `${source}: the number of shards must be between 1 and ${MAX_SHARDS}, got ${count}.`,
      SHARD_HINT,
    )
  }

  if (!Number.isSafeInteger(index) || index < 1 || index > count) {
    throw new UsageError(`${source}: shard ${index} of ${count} does not exist (1 <= K <= ${count}).`, SHARD_HINT)
  }

  return {index, count}
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`
}

/** The shard (1-based K) that a site belongs to among `count`. */
export function shardOfSite(site: string, count: number): number {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new RangeError(`shard count must be a positive integer, got ${count}`)
  const digest = createHash('sha1').update(site, 'utf8').digest()
  return (digest.readUInt32BE(0) % count) + 1
}

export function inShard(site: string, shard: Shard): boolean {
  return shardOfSite(site, shard.count) === shard.index
}

/** The items of one shard, in their order (all of them without a shard). */
export function selectShard<T>(items: readonly T[], shard: Shard | undefined, siteOf: (item: T) => string): T[] {
  return shard ? items.filter((item) => inShard(siteOf(item), shard)) : [...items]
}

/**
 * A pod of a Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` is 0-based, so shard K = index + 1, and
 * N = the Job's `completions` (which the pod does not see unless the manifest passes it).
 */
export function shardFromCompletionIndex(index: number | string, completions: number | string): Shard {
  const i = typeof index === 'number' ? index : /^\s*\d+\s*$/.test(index) ? Number(index) : Number.NaN
  const n =
    typeof completions === 'number' ? completions : /^\s*\d+\s*$/.test(completions) ? Number(completions) : Number.NaN
  if (Number.isNaN(i)) throw new UsageError(`JOB_COMPLETION_INDEX must be a whole number, got "${index}".`)
  if (Number.isNaN(n)) throw new UsageError(`The number of completions must be a whole number, got "${completions}".`)
  return checkShard(i + 1, n, 'JOB_COMPLETION_INDEX')
}
