import type {ExistingObject, StoredHash} from '../destination/types.js'

/** What the archive server announced about the source, from a one-byte probe (`probed`), if it ran. */
export interface SourceFacts {
  probed: boolean
  size?: number
  /** hex */
  md5?: string
  /** 8 hex digits; compared when the server announced no MD5. */
  crc32c?: string
}

/**
 * What to do about an object already under the key: skip it (it is the archive), refuse to overwrite
 * it (`exists-different`, unless forced), or learn more first: probe the source's size and MD5, or
 * hash the stored content.
 */
export type ExistingVerdict =
  {action: 'hash'} | {action: 'probe'} | {action: 'refuse'; message: string} | {action: 'skip'; reason: string}

const PLAIN_MD5 = /^[\da-f]{32}$/i

/**
 * Decide whether what is stored is the archive, never by assumption:
 * - pbm's completion metadata (with a recorded source size equal to the stored size) is trusted
 *   without a probe; when the source was probed anyway, its size and MD5 must match the record;
 * - anything else needs the source's MD5: equal to a plain-MD5 ETag (a single-part S3 object, not
 *   `md5-N` nor SSE-KMS), or to the MD5 of the stored content (local files, hashed);
 * - a different size, a different MD5, an ETag that says nothing, or a source without an announced
 *   MD5 is `refuse`.
 */
export function judgeExisting(
  existing: ExistingObject,
  source: SourceFacts,
  options: {where: string; canHash: boolean; content?: StoredHash},
): ExistingVerdict {
  const {where} = options
  const sizeDiffers = (): ExistingVerdict => ({
    action: 'refuse',
    message: `${where} already exists with different content (${existing.size} bytes, the archive has ${source.size} bytes).`,
  })
  const trusted = existing.complete && (existing.recordedSize === undefined || existing.recordedSize === existing.size)
  if (trusted) {
    if (!source.probed) return {action: 'skip', reason: 'already mirrored'}
    if (source.size !== undefined && source.size !== existing.size) return sizeDiffers()
    if (source.md5 && existing.md5 && existing.md5.toLowerCase() !== source.md5) {
      return {
        action: 'refuse',
        message: `${where} already exists with different content (pbm recorded MD5 ${existing.md5}, the archive's is ${source.md5}).`,
      }
    }

    if (!source.md5 && source.crc32c && existing.crc32c && existing.crc32c.toLowerCase() !== source.crc32c) {
      return {
        action: 'refuse',
        message: `${where} already exists with different content (pbm recorded CRC32C ${existing.crc32c}, the archive's is ${source.crc32c}).`,
      }
    }

    return {action: 'skip', reason: 'already mirrored'}
  }

  if (!source.probed) return {action: 'probe'}
  if (source.size !== undefined && source.size !== existing.size) return sizeDiffers()
  if (!source.md5 && source.crc32c && options.canHash) {
    // No MD5 announced, but a CRC32C: compare that instead (a 32-bit check, against an exact size).
    if (options.content === undefined) return {action: 'hash'}
    if (options.content.crc32c?.toLowerCase() === source.crc32c) {
      return {action: 'skip', reason: 'same content (CRC32C checked)'}
    }

    return {
      action: 'refuse',
      message: `${where} already exists with different content (CRC32C ${options.content.crc32c ?? '(unknown)'}, the archive's is ${source.crc32c}).`,
    }
  }

  if (!source.md5) {
    return {
      action: 'refuse',
      message: `${where} already exists (${existing.size} bytes) and could not be verified: the archive server announced no MD5 to compare it with.`,
    }
  }

  const etag = existing.etag?.toLowerCase()
  if (etag && PLAIN_MD5.test(etag) && etag === source.md5) return {action: 'skip', reason: 'same content, by ETag'}
  if (options.canHash) {
    if (options.content === undefined) return {action: 'hash'}
    if (options.content.md5.toLowerCase() === source.md5) return {action: 'skip', reason: 'same content (MD5 checked)'}
    return {
      action: 'refuse',
      message: `${where} already exists with different content (MD5 ${options.content.md5}, the archive's is ${source.md5}).`,
    }
  }

  return {
    action: 'refuse',
    message:
      etag && PLAIN_MD5.test(etag)
        ? `${where} already exists with different content (its ETag ${etag} is not the archive's MD5 ${source.md5}).`
        : `${where} already exists without pbm's metadata and could not be verified (its ETag ${etag ?? '(none)'} is not a plain MD5).`,
  }
}
