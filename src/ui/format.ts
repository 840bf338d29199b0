import {formatBytes} from '../util/bytes.js'
/** Human formatting of sizes, rates, durations and dates. Pure, so it is unit-tested exhaustively. */
import {plural} from '../util/plural.js'
import {fitTable} from './fit.js'

export {formatBytes} from '../util/bytes.js'
export {formatUtc} from '../util/utc.js'

export function formatRate(bytesPerSecond?: number): string {
  if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) return '-'
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '-'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  return `${h}h ${String(m % 60).padStart(2, '0')}m`
}

/** "2024-05-01 05:12" in the machine's time zone (or the one given, for tests). */
export function formatLocal(date: Date, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    day: '2-digit',
    hour: '2-digit',
    hourCycle: 'h23',
    minute: '2-digit',
    month: '2-digit',
    timeZone,
    year: 'numeric',
  }).formatToParts(date)
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? ''
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`
}

/** "expires in 5 days", "expires in 3 hours", "expired 2 days ago", or "" when it never expires. */
export function formatExpiry(expiry: Date | null, now: Date = new Date()): string {
  if (!expiry) return ''
  const ms = expiry.getTime() - now.getTime()
  const text = relative(Math.abs(ms))
  return ms >= 0 ? `expires in ${text}` : `expired ${text} ago`
}

function relative(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  if (minutes < 60) return plural(Math.max(minutes, 1), 'minute')
  const hours = Math.round(minutes / 60)
  if (hours < 48) return plural(hours, 'hour')
  return plural(Math.round(hours / 24), 'day')
}

/** A fixed-width text bar for progress: [#######.......] */
export function progressBar(fraction: number, width = 20): string {
  const f = Math.min(Math.max(Number.isFinite(fraction) ? fraction : 0, 0), 1)
  const full = Math.round(f * width)
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`
}

/** Plain-text table: columns padded to the widest cell; no colours (callers colour whole cells). */
export function table(rows: string[][], header?: string[]): string {
  return fitTable(rows, {header})
}
