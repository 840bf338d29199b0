/**
 * The --json documents have one shape whatever happened: a field that does not apply is present as null
 * (or false, or empty), never absent, so that a script reads `.summary.deep` or `.archives[].error`
 * without first asking whether it exists. Each result names its optional fields here, once.
 */

/** What a document (or a nested object) holds besides its always-present fields. */
export interface JsonShape {
  /** Fields and the value they take when absent. */
  fields?: Record<string, unknown>
  /** Arrays of rows, and each row's optional fields with their values when absent. */
  rows?: Record<string, Record<string, unknown>>
  /** Nested objects (or arrays of them) with shapes of their own. */
  nested?: Record<string, JsonShape>
}

/** The document with every optional field of `shape` present; the result itself is not changed. */
export function completeDocument<T>(document: T, shape: JsonShape): T {
  if (Array.isArray(document)) return document.map((item) => completeDocument(item, shape)) as T
  if (document === null || typeof document !== 'object') return document
  const out = withDefaults(document as Record<string, unknown>, shape.fields ?? {})
  for (const [key, fields] of Object.entries(shape.rows ?? {})) {
    const rows = out[key]
    if (Array.isArray(rows)) out[key] = rows.map((row: Record<string, unknown>) => withDefaults(row, fields))
  }

  for (const [key, nested] of Object.entries(shape.nested ?? {})) {
    if (out[key] !== null && out[key] !== undefined) out[key] = completeDocument(out[key], nested)
  }

  return out as T
}

/** The row's own fields in their order, then each absent one with its default. */
function withDefaults(row: Record<string, unknown>, defaults: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row)) if (value !== undefined) out[key] = value
  for (const [key, value] of Object.entries(defaults)) out[key] ??= value
  return out
}

/** One archive at one destination (pick, mirror). */
const ARCHIVE_ROW = {bytes: null, error: null, md5: null, note: null}

export const PICK_JSON: JsonShape = {rows: {archives: ARCHIVE_ROW}}

export const VERIFY_JSON: JsonShape = {
  fields: {stores: []},
  nested: {summary: {fields: {deep: false, sample: null}}},
  rows: {objects: {note: null}, targets: {newest: null, note: null}},
}

/** Counts a prune says only when it removed nothing on purpose are 0 otherwise; `stopped` is null unless stopped. */
export const PRUNE_JSON: JsonShape = {
  fields: {compact: null, stopped: null},
  rows: {leftovers: {error: null}},
  nested: {
    series: {rows: {keep: {locked: null, parts: null}, remove: {deleteMarker: false, error: null, parts: null}}},
    summary: {fields: {bytesWouldFree: 0, wouldRemove: 0}},
  },
}

export const MIRROR_JSON: JsonShape = {
  fields: {prune: null, shard: null, stoppedEarly: false, verify: null},
  nested: {prune: PRUNE_JSON, verify: VERIFY_JSON},
  rows: {archives: ARCHIVE_ROW, targets: {error: null, note: null}},
}

export const RESTORE_JSON: JsonShape = {
  fields: {warnings: []},
  nested: {backupFirst: {fields: {error: null, seconds: null}}},
  rows: {restored: {error: null}},
}
