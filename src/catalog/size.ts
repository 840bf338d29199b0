// Terminus divides by 1048576 and calls the result MB; we follow it so sizes round-trip.
const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
}

/**
 * Bytes from a size as Terminus prints it ("412.7MB", "0.1MB", "0"), or undefined when it is not a size.
 * Approximate by nature: Terminus rounds to a tenth of a MB.
 */
export function parseSize(text: null | number | string | undefined): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.round(text) : undefined
  if (typeof text !== 'string') return undefined
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([KMGT]?B)?\s*$/i.exec(text)
  if (!m) return undefined
  const unit = UNITS[(m[2] ?? '').toUpperCase()]
  return Math.round(Number(m[1]) * unit)
}
