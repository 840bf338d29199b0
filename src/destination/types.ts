import type {Element} from '../catalog/types.js'

/** What a stored archive is: written as object metadata (S3) and checked on re-runs. */
export interface ArchiveMeta {
  site: string
  env: string
  element: Element
  /** The backup folder (catalog ID minus the element), shared by all elements of one backup run. */
  folder: string
  /** Pantheon's archive filename. */
  file: string
  /** Exact size in bytes, when the server told us before the body (Content-Length). */
  size?: number
  /** MD5 (hex) of the source, when the server announced it (X-Goog-Hash) before the body. */
  md5?: string
  /** CRC32C (hex, 8 digits) of the source, when the server announced it. */
  crc32c?: string
}

/** What is already stored under a key. */
export interface ExistingObject {
  size: number
  /** The source MD5 (hex) that pbm recorded, if pbm stored it. */
  md5?: string
  /** The source CRC32C (8 hex digits) that pbm recorded, if it did. */
  crc32c?: string
  /** The source size that pbm recorded (`pbm-source-size`), if pbm stored it. */
  recordedSize?: number
  /** True when the object carries pbm's completion metadata: written by pbm after full verification. */
  complete: boolean
  /** The backup folder recorded by pbm, if any. */
  folder?: string
  /**
   * S3: the ETag, without quotes. Only a plain MD5 (32 hex digits, no `-N` suffix) can be compared
   * with the source's MD5; a multipart or SSE-KMS ETag says nothing about the content.
   */
  etag?: string
  /** S3, versioned bucket: the version described (what a read or presigned URL can pin). */
  versionId?: string
}

/**
 * Where the bytes of one archive go while they stream. The engine calls write() for every chunk (in
 * order, awaiting the promise when one is returned: that is the backpressure), then commit() only
 * after the whole stream was verified, or abort() on any failure. After abort() nothing exists under
 * the final name and no multipart upload is left open.
 */
export interface Sink {
  /**
   * What the sink takes: the archive's bytes as downloaded (`archive`, the default), or its
   * decompressed content (`content`: the tar or the SQL), which the engine inflates once for every
   * sink that asks. Either way commit() comes only after the whole archive was verified.
   */
  readonly takes?: 'archive' | 'content'
  /** Returns a promise when the sink wants the writer to wait (backpressure) or has failed. */
  write(chunk: Buffer): Promise<void> | void
  /**
   * Optional: wait until everything written is stored (every part uploaded, the file written and
   * fsynced) without making it visible, and throw the sink's failure if any. The engine flushes every
   * sink before it commits any, so that one destination's late failure does not leave the archive
   * committed in another.
   */
  flush?(): Promise<void>
  /**
   * Make the verified archive visible under its final name (and record what was verified, if it can).
   * Resolves with a note when the archive is committed but something beside it is not (local: the
   * completion record could not be written). A content sink also gets the content's size and SHA-256.
   */
  commit(verified?: {
    bytes: number
    md5?: string
    crc32c?: string
    content?: ContentFacts
  }): Promise<string | undefined | void>
  /** Throw the partial archive away (idempotent, never throws). */
  abort(): Promise<void>
  /**
   * Optional: the run was interrupted (Ctrl-C): stop, keeping what was written for the next run to
   * resume, and release the archive. Resolves with the bytes kept (0: nothing). Never throws. A sink
   * without it is aborted (S3: a multipart upload cannot be resumed by another process safely).
   */
  suspend?(): Promise<number>
  /**
   * Bytes a crashed run left, adopted by open(..., resumeFrom): the engine reads them back with
   * readResumed() to verify them (and to feed other destinations), then writes only the rest.
   */
  readonly resumedBytes?: number
  readResumed?(): AsyncIterable<Buffer>
}

/** The archive's decompressed content (the tar or the SQL), as the content sinks were given it. */
export interface ContentFacts {
  bytes: number
  /** SHA-256 (hex) of the content. */
  sha256: string
}

/** What is stored under a key, hashed by reading it back. */
export interface StoredHash {
  md5: string
  crc32c?: string
}

/** S3 (or compatible), a local folder, or a vault (a restic repository). */
export type DestinationKind = 'local' | 'restic' | 's3'

export interface Destination {
  readonly kind: DestinationKind
  /** `s3://bucket/prefix/site/env/file` or an absolute path, for people and --json. */
  describe(key: string): string
  /** Fail fast, before any download, when the destination cannot take archives. */
  preflight(signal?: AbortSignal): Promise<void>
  /** What exists under the key, or undefined. */
  inspect(key: string, signal?: AbortSignal): Promise<ExistingObject | undefined>
  /**
   * Optional: the MD5 (hex) of what is stored under the key, read back in full (streaming). Local
   * files have it; S3 relies on pbm's metadata or a plain-MD5 ETag instead of downloading the object.
   */
  hash?(key: string, signal?: AbortSignal): Promise<StoredHash>
  /** Optional: record that what is stored under the key was checked to be the archive (local: the completion record). */
  remember?(key: string, facts: {md5?: string; crc32c?: string}): Promise<void>
  /**
   * Optional, after the archive was skipped (a real run, never a dry run): clear what a dead run left
   * beside it (local: a stale lock). Never throws.
   */
  tidy?(key: string): Promise<void>
  /** Optional: how many bytes of the archive a crashed run left that open() can resume from (0: none). */
  resumable?(key: string): Promise<number>
  /** `resumeFrom`: adopt a crashed run's partial and keep its first `resumeFrom` bytes (see resumable). */
  open(key: string, meta: ArchiveMeta, signal: AbortSignal, resumeFrom?: number): Promise<Sink>
}
