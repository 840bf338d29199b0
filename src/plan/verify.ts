import {createHash} from 'node:crypto'

import {UsageError} from '../errors.js'

/**
 * The rules of backup:verify, pure: which archives a --sample reads, what a stored object's record
 * says about it without reading it, and when a site.env is stale.
 */

/** `--sample K/N` (a deterministic slice) or `--sample P%` (a random share). */
export type Sample = {kind: 'percent'; percent: number} | {index: number; kind: 'slice'; of: number}

export function parseSample(text: string): Sample {
  const input = text.trim()
  const slice = /^(\d+)\s*\/\s*(\d+)$/.exec(input)
  if (slice) {
    const index = Number(slice[1])
    const of = Number(slice[2])
    if (of < 1 || index < 1 || index > of) {
      throw new UsageError(`--sample ${text}: K/N needs 1 <= K <= N.`, 'For example --sample 1/7 reads a seventh.')
    }

    return {index, kind: 'slice', of}
  }

  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(input)
  if (percent) {
    const value = Number(percent[1])
    if (value <= 0 || value > 100)
      throw new UsageError(`--sample ${text}: the share must be above 0% and at most 100%.`)
    return {kind: 'percent', percent: value}
  }

  throw new UsageError(`--sample takes K/N or P%, not "${text}".`, 'For example --sample 1/7 or --sample 10%.')
}

/**
 * The slice (0 .. of-1) a key belongs to: the first 6 bytes of its SHA-1, mod N. It depends on the key
 * alone, so `--sample K/N` reads the same archives every time, and 1/N .. N/N together read each
 * archive exactly once, whatever else is in the mirror.
 */
export function sliceOf(key: string, of: number): number {
  return createHash('sha1').update(key).digest().readUIntBE(0, 6) % of
}

/** Whether the sample reads this key; `random` (0 <= x < 1) only matters for a percent. */
export function inSample(key: string, sample?: Sample, random: () => number = Math.random): boolean {
  if (!sample) return true
  if (sample.kind === 'slice') return sliceOf(key, sample.of) === sample.index - 1
  return random() * 100 < sample.percent
}

export type ObjectStatus = 'corrupt' | 'missing' | 'ok' | 'repaired' | 'unverifiable'

/** What a destination says about a stored object without reading it (structurally its ExistingObject). */
export interface StoredObject {
  size: number
  /** True when pbm's completion record is there. */
  complete: boolean
  recordedSize?: number
  md5?: string
  /** S3 only: a plain MD5 ETag can be compared with the recorded MD5; a multipart one cannot. */
  etag?: string
}

export interface Judgement {
  status: 'corrupt' | 'ok' | 'unverifiable'
  detail?: string
}

/**
 * The quick check of one stored object: its size and pbm's record, no bytes read. pbm's record is
 * the completion metadata written after a verified transfer (S3 metadata; the local completion
 * record): the size must be the recorded one, and a plain-MD5 ETag must be the recorded MD5.
 */
export function judgeRecord(existing: StoredObject): Judgement {
  if (!existing.complete) {
    return {detail: 'no pbm record: not written by pbm, or written before pbm kept records', status: 'unverifiable'}
  }

  if (existing.recordedSize !== undefined && existing.recordedSize !== existing.size) {
    return {
      detail: Number.isNaN(existing.recordedSize)
        ? `the recorded size is not a number (stored ${existing.size} bytes)`
        : `${existing.size} bytes stored, ${existing.recordedSize} recorded`,
      status: 'corrupt',
    }
  }

  const etag = existing.etag?.toLowerCase()
  if (existing.md5 && etag && /^[\da-f]{32}$/.test(etag) && etag !== existing.md5.toLowerCase()) {
    return {detail: `ETag ${etag} is not the recorded MD5 ${existing.md5}`, status: 'corrupt'}
  }

  return {status: 'ok'}
}

/**
 * A local archive whose completion record no longer matches it (the destination trusts a record only
 * while the file's size and mtime are the recorded ones): another size is damage; the same size with
 * another mtime means it was written to since, which only a read can tell apart from a mere touch.
 */
export function judgeChanged(size: number, recorded: {size?: number}): Judgement {
  if (recorded.size !== undefined && recorded.size !== size) {
    return {detail: `${size} bytes stored, ${recorded.size} recorded (changed since pbm stored it)`, status: 'corrupt'}
  }

  return {
    detail:
      'written to since pbm stored it (its mtime is not the recorded one); --deep compares its bytes with the record',
    status: 'unverifiable',
  }
}

/** What a deep read found, against what pbm recorded. */
export interface ReadBack {
  bytes: number
  md5: string
  crc32c: string
}

export interface Recorded {
  size?: number
  md5?: string
  crc32c?: string
}

/**
 * The deep check of one object read back in full (the gzip stream already inflated to its trailer):
 * the bytes must match every value pbm recorded. With no record at all the archive is intact as a
 * gzip stream but cannot be compared with what Pantheon sent.
 */
export function judgeReadBack(read: ReadBack, recorded?: Recorded): Judgement {
  if (!recorded) {
    return {
      detail: 'gzip intact, but no pbm record to compare MD5 and CRC32C with',
      status: 'unverifiable',
    }
  }

  if (recorded.size !== undefined && recorded.size !== read.bytes) {
    return {detail: `read ${read.bytes} bytes, ${recorded.size} recorded`, status: 'corrupt'}
  }

  if (recorded.md5 && recorded.md5.toLowerCase() !== read.md5) {
    return {detail: `MD5 ${read.md5} differs from the recorded ${recorded.md5}`, status: 'corrupt'}
  }

  if (recorded.crc32c && recorded.crc32c.toLowerCase() !== read.crc32c) {
    return {detail: `CRC32C ${read.crc32c} differs from the recorded ${recorded.crc32c}`, status: 'corrupt'}
  }

  if (!recorded.md5 && !recorded.crc32c) {
    return {detail: 'gzip intact; pbm recorded no checksum to compare with', status: 'ok'}
  }

  return {status: 'ok'}
}

/**
 * A site.env as a whole, as a dashboard shows it:
 * - `ok`: its newest backup set is whole in the mirror (as far as was checked) and fresh enough;
 * - `incomplete`: an archive of Pantheon's newest set is not in the mirror (at some destination);
 * - `stale`: its newest mirrored backup is older than --max-age;
 * - `missing`: nothing of it is in the mirror (at some destination);
 * - `gone`: Pantheon no longer has the site or env; the mirror keeps its backups (not a problem);
 * - `error`: Pantheon could not be asked about it, so the run cannot vouch for it.
 */
export type TargetStatus = 'error' | 'gone' | 'incomplete' | 'missing' | 'ok' | 'stale'

/** Target statuses that are problems (exit 3); `error` is a failure to verify (exit 1), `gone` neither. */
export const TARGET_PROBLEMS: readonly TargetStatus[] = ['incomplete', 'missing', 'stale']

/**
 * A site.env by age alone: `missing` when nothing of it is in the mirror, `stale` when its newest
 * mirrored backup is older than `maxAgeHours`, else `ok`.
 */
export function judgeTarget(
  newest: Date | undefined,
  maxAgeHours: number | undefined,
  now: Date,
): {detail?: string; status: 'missing' | 'ok' | 'stale'} {
  if (!newest) return {detail: 'no backup of it in the mirror', status: 'missing'}
  if (maxAgeHours === undefined) return {status: 'ok'}
  const ageHours = (now.getTime() - newest.getTime()) / 3_600_000
  if (ageHours > maxAgeHours) {
    return {detail: `newest backup is ${Math.floor(ageHours)} hours old (limit ${maxAgeHours})`, status: 'stale'}
  }

  return {status: 'ok'}
}

/** What the run found out about one site.env. */
export interface TargetFacts {
  /** Its newest mirrored backup (the oldest such of all destinations); undefined when one has none. */
  newest?: Date
  /** Why Pantheon could not be asked about it. */
  failed?: string
  /** Pantheon no longer has the site or env (what it said). */
  gone?: string
  /** Pantheon's newest set, when known: its folder, and its archives not in the mirror (`database at s3`). */
  newestSet?: {folder: string; lacking: string[]}
}

/** The status of one site.env from what the run found (see TargetStatus), and why when not ok. */
export function judgeTargetFacts(
  facts: TargetFacts,
  maxAgeHours: number | undefined,
  now: Date,
): {detail?: string; status: TargetStatus} {
  if (facts.failed) return {detail: `could not list its backups: ${facts.failed}`, status: 'error'}
  if (facts.gone) {
    // Nothing to keep either: a name that neither Pantheon nor the mirror knows.
    if (!facts.newest) return {detail: `${facts.gone}, and the mirror holds nothing of it`, status: 'error'}
    return {detail: `Pantheon no longer has it (${facts.gone}); the mirror keeps its backups`, status: 'gone'}
  }

  const byAge = judgeTarget(facts.newest, maxAgeHours, now)
  if (byAge.status === 'missing') return byAge
  const lacking = facts.newestSet?.lacking ?? []
  if (lacking.length > 0) {
    const age = byAge.status === 'stale' ? `; ${byAge.detail}` : ''
    return {
      detail: `the newest backup on Pantheon (${facts.newestSet!.folder}) is not whole in the mirror: ${lacking.join(', ')} missing${age}`,
      status: 'incomplete',
    }
  }

  return byAge
}
