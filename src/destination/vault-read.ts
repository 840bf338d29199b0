import {createHash} from 'node:crypto'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import {PbmError} from '../errors.js'
import {type Restic} from '../restic/index.js'
import {completedArchives, type VaultArchive, vaultPath} from './vault.js'

/**
 * A vault read back (backup:restore): its archives as pbm's keys `<site>/<env>/<file>` (only those
 * with a completion record, vault.ts's rule), each readable as a Pantheon archive again: `restic dump`
 * of its content, gzip-compressed on the fly. The gzip bytes are new (they differ from the archive
 * Pantheon made); the content is proven the same by its SHA-256, checked against the completion
 * record as the dump ends.
 */
export interface VaultReadback {
  /** The vault's complete archives by key; restic is opened and listed once per run. */
  archives(signal?: AbortSignal): Promise<Map<string, VaultArchive>>
  /**
   * The archive under `key` as a `.tar.gz`/`.sql.gz`, streamed (iterating pulls, restic waits). Throws
   * at the end when the content's SHA-256 is not the recorded one, before the last bytes are given.
   */
  read(key: string, signal: AbortSignal): AsyncIterable<Buffer>
}

export function createVaultReadback(restic: Restic): VaultReadback {
  let listed: Promise<Map<string, VaultArchive>> | undefined
  const archives = (signal?: AbortSignal) => {
    listed ??= (async () => {
      await restic.open(signal)
      return completedArchives(await restic.snapshots(signal))
    })()
    listed.catch(() => {
      listed = undefined
    })
    return listed
  }

  return {
    archives,
    async *read(key, signal) {
      const archive = (await archives(signal)).get(key)
      if (!archive) throw new PbmError('not-found', `${restic.location}::${key} is not in the vault (any more).`)
      yield* gzipChecked(archive, restic.dump(archive.snapshot.id, vaultPath(archive), signal), restic.location)
    },
  }
}

/**
 * The content, gzip-compressed as it flows, its SHA-256 compared with the record's before the gzip's
 * last bytes are given out: a reader that stops at a throw never holds a complete archive of other
 * content. Breaking out stops the source (restic) before this returns.
 * @yields the gzip's bytes, in order
 */
async function* gzipChecked(
  archive: VaultArchive,
  content: AsyncIterable<Buffer>,
  location: string,
): AsyncGenerator<Buffer> {
  const sha256 = createHash('sha256')
  let bytes = 0
  async function* hashed() {
    for await (const chunk of content) {
      sha256.update(chunk)
      bytes += chunk.length
      yield chunk
    }

    const actual = sha256.digest('hex')
    if (actual !== archive.sha256) {
      throw new PbmError(
        'content-mismatch',
        `${archive.file} in ${location} is not the content pbm recorded: SHA-256 ${actual} of ${bytes} bytes, recorded ${archive.sha256 ?? 'none'}.`,
        {
          hint: 'Nothing was written from it. Check the vault with restic check --read-data, or restore another backup.',
        },
      )
    }
  }

  const gzip = createGzip()
  // Never rejects: its failure is also gzip's, which the loop below throws.
  const pumped = pipeline(hashed(), gzip).then(
    () => {},
    (error: unknown) => error,
  )
  try {
    for await (const chunk of gzip) yield chunk as Buffer
  } finally {
    gzip.destroy()
    await pumped
  }

  const failure = await pumped
  if (failure) throw failure
}
