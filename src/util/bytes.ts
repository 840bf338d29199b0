/** Sizes for people, shared by the engine's notes and the UI (the engine may not import the UI). */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

/** Decimal units, as Pantheon and Terminus print sizes ("412.7MB"). */
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
