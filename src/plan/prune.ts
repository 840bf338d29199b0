import type {Element} from '../catalog/types.js'

import {applyRetention, type KeepReason, reasonText, type RetentionPolicy} from './retention.js'
import {type SeriesEntry, type SeriesListing} from './series.js'

export interface PruneKeep extends SeriesEntry {
  /** As people read them: `daily #3`, `monthly #1`, `within 45d`, `oldest (daily count not filled)`. */
  reasons: string[]
  rules: KeepReason[]
}

export interface PruneSeriesPlan {
  site: string
  env: string
  element: Element
  /** Newest first. */
  keep: PruneKeep[]
  /** Newest first. */
  remove: SeriesEntry[]
  /** Of `keep`, those dated more than a day in the future: kept, and counted by no rule. */
  suspect: SeriesEntry[]
  /** Named like an archive, but without pbm's record: left alone, and counted by no rule. */
  unrecorded: SeriesEntry[]
}

export interface PrunePlan {
  series: PruneSeriesPlan[]
  summary: {kept: number; removed: number; bytesFreed: number}
  /** Objects under the prefix that are not pbm's archives: left alone. */
  foreign: {count: number; bytes: number}
  /** Archive names without pbm's record (S3 metadata, local completion record): not pbm's, left alone. */
  unrecorded: {count: number; bytes: number}
  unselected: number
}

export interface PruneOptions {
  /** The run's clock: a backup dated more than a day after it is suspect (see applyRetention). */
  now: Date
  /**
   * Count archives without pbm's record too (a mirror made by the old shell script). Otherwise only
   * entries whose `recorded` is not false take part in the policy.
   */
  includeUnrecorded?: boolean
}

/**
 * The retention policy applied to every series of a listing. Only archives pbm recorded are counted
 * (unless includeUnrecorded): one that is not pbm's can neither be removed nor stand in for a real
 * backup as the newest one.
 */
export function planPrune(listing: SeriesListing, policy: RetentionPolicy, options: PruneOptions): PrunePlan {
  const summary = {kept: 0, removed: 0, bytesFreed: 0}
  const unrecordedTotal = {count: 0, bytes: 0}
  const series = listing.series.map((s): PruneSeriesPlan => {
    const unrecorded = options.includeUnrecorded ? [] : s.entries.filter((e) => e.recorded === false)
    const counted = unrecorded.length > 0 ? s.entries.filter((e) => e.recorded !== false) : s.entries
    const {keep, remove} = applyRetention(counted, policy, {now: options.now})
    summary.kept += keep.length
    summary.removed += remove.length
    for (const entry of remove) summary.bytesFreed += entry.size
    unrecordedTotal.count += unrecorded.length
    for (const entry of unrecorded) unrecordedTotal.bytes += entry.size
    return {
      site: s.site,
      env: s.env,
      element: s.element,
      keep: keep.map(({item, reasons}) => ({...item, reasons: reasons.map((r) => reasonText(r)), rules: reasons})),
      remove,
      suspect: keep.filter((k) => k.reasons.some((r) => r.rule === 'suspect')).map((k) => k.item),
      unrecorded,
    }
  })
  return {series, summary, foreign: listing.foreign, unrecorded: unrecordedTotal, unselected: listing.unselected}
}
