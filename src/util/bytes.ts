/** Sizes for people, shared by the engine's notes and the UI (the engine may not import the UI). */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

/**
 * Decimal units (1 MB = 1,000,000 bytes), as S3 consoles show sizes. Terminus's "MB" are MiB: the
 * catalog converts them to bytes (catalog/size.ts) before anything is shown.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?'
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }

  if (unit === 0) return `${bytes} B`
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${UNITS[unit]}`
}
