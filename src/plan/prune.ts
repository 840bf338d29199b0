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
}

export interface PrunePlan {
  series: PruneSeriesPlan[]
  summary: {kept: number; removed: number; bytesFreed: number}
  /** Objects under the prefix that are not pbm's archives: left alone. */
  foreign: {count: number; bytes: number}
  unselected: number
}

/** The retention policy applied to every series of a listing. */
export function planPrune(listing: SeriesListing, policy: RetentionPolicy, options: {now?: Date} = {}): PrunePlan {
  const summary = {kept: 0, removed: 0, bytesFreed: 0}
  const series = listing.series.map((s): PruneSeriesPlan => {
    const {keep, remove} = applyRetention(s.entries, policy, options)
    summary.kept += keep.length
    summary.removed += remove.length
    for (const entry of remove) summary.bytesFreed += entry.size
    return {
      site: s.site,
      env: s.env,
      element: s.element,
      keep: keep.map(({item, reasons}) => ({...item, reasons: reasons.map((r) => reasonText(r)), rules: reasons})),
      remove,
    }
  })
  return {series, summary, foreign: listing.foreign, unselected: listing.unselected}
}
