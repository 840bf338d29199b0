/**
 * pbm's record of a verified transfer, written by hand beside a seeded archive, so that tests of
 * backup:prune can seed a mirror that pbm counts as its own (and, leaving the record out, one it does not).
 */
import {mkdir, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

/** As S3 object metadata (the S3 destination writes these on a verified upload). */
export function s3Record(body: string): Record<string, string> {
  return {'pbm-source-size': String(Buffer.byteLength(body)), 'pbm-verified': 'length,gzip'}
}

/** A file in a local mirror, with pbm's completion record beside it unless `recorded` is false. */
export async function putLocal(root: string, key: string, body: string, recorded = true): Promise<void> {
  const full = path.join(root, key)
  await mkdir(path.dirname(full), {recursive: true})
  await writeFile(full, body)
  if (!recorded) return
  const st = await stat(full)
  const record = {file: path.basename(full), mtimeMs: st.mtimeMs, size: st.size, verifiedAt: new Date().toISOString()}
  await writeFile(path.join(path.dirname(full), `.${path.basename(full)}.pbm.json`), JSON.stringify(record))
}
