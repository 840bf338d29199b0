import type {Element} from '../catalog/types.js'
import type {ArchiveMeta, Destination, ExistingObject, Sink} from './types.js'

import {isElement} from '../catalog/element.js'
import {archiveTime} from '../catalog/time.js'
import {InterruptedError, PbmError} from '../errors.js'
import {type Restic, type ResticBackup, type Snapshot} from '../restic/index.js'

/**
 * What pbm recorded about an archive in its data snapshot's tags: `pbm`, `site=`, `env=`, `element=`,
 * `file=` (Pantheon's filename), `folder=`, `size=` (the archive's bytes) and `md5=` (the archive's
 * MD5, when the server announced it before the body); and, once the archive is complete, its
 * completion record (see completedArchives).
 */
export interface VaultArchive {
  snapshot: Snapshot
  site: string
  env: string
  element: Element
  file: string
  folder: string
  size?: number
  md5?: string
  /** The completion record's snapshot, saved after the data snapshot (none: not complete). */
  record?: Snapshot
  /** SHA-256 (hex) of the decompressed content, from the completion record. */
  sha256?: string
}

/** The tag of a completion record's snapshot (beside `pbm`, `of=<data snapshot>`, `sha256=`). */
export const RECORD_TAG = 'pbm-record'

/** The value of a `name=value` tag. */
export function tagOf(snapshot: Snapshot, name: string): string | undefined {
  return snapshot.tags.find((t) => t.startsWith(`${name}=`))?.slice(name.length + 1) || undefined
}

/** The archive a data snapshot holds, from its tags; undefined for a snapshot pbm did not write or a record. */
export function vaultArchive(snapshot: Snapshot): undefined | VaultArchive {
  if (!snapshot.tags.includes('pbm') || snapshot.tags.includes(RECORD_TAG)) return undefined
  const [site, env, element, file, folder] = ['site', 'env', 'element', 'file', 'folder'].map((n) => tagOf(snapshot, n))
  if (!site || !env || !file || !folder || !isElement(element)) return undefined
  const size = Number(tagOf(snapshot, 'size'))
  const md5 = tagOf(snapshot, 'md5')
  return {
    snapshot,
    site,
    env,
    element,
    file,
    folder,
    ...(Number.isSafeInteger(size) && size >= 0 && tagOf(snapshot, 'size') ? {size} : {}),
    ...(md5 ? {md5} : {}),
  }
}

/**
 * The archives that are in the vault, by pbm's key `<site>/<env>/<file>`: a data snapshot counts only
 * with a completion record (tagged `pbm-record`) whose `of=` names it and whose `file=` is its file.
 * restic saves whatever its input held when the input ends, so a data snapshot without a record may
 * be truncated (pbm was killed mid-archive): it is an orphan, transferred again, left for prune.
 */
export function completedArchives(snapshots: Snapshot[]): Map<string, VaultArchive> {
  const archives = snapshots.flatMap((s) => vaultArchive(s) ?? [])
  const byKey = new Map<string, VaultArchive>()
  for (const record of snapshots) {
    if (!record.tags.includes('pbm') || !record.tags.includes(RECORD_TAG)) continue
    const of = tagOf(record, 'of')
    const file = tagOf(record, 'file')
    // restic 0.14 names the saved snapshot by its short ID: a prefix of the full one.
    const data = of && file ? archives.find((a) => a.snapshot.id.startsWith(of) && a.file === file) : undefined
    if (!data) continue
    const sha256 = tagOf(record, 'sha256')
    byKey.set(`${data.site}/${data.env}/${data.file}`, {...data, record, ...(sha256 ? {sha256} : {})})
  }

  return byKey
}

/** The one file of an archive's snapshot: `/<site>/<env>/<element>.tar` (code, files) or `.sql` (database). */
export function vaultPath(archive: {site: string; env: string; element: Element}): string {
  return `/${archive.site}/${archive.env}/${archive.element}.${archive.element === 'database' ? 'sql' : 'tar'}`
}

/** The completion record's file beside an archive's: `/<site>/<env>/<element>.pbm.json`. */
export function recordPath(archive: {site: string; env: string; element: Element}): string {
  return `/${archive.site}/${archive.env}/${archive.element}.pbm.json`
}

/**
 * The snapshot's time: the backup's one time (catalog/time.ts: the time in its filename, else the
 * folder's epoch), so that `restic snapshots` shows what every pbm screen shows.
 */
export function backupTime(archive: {folder: string; file: string}): Date {
  const epoch = /^(\d+)_/.exec(archive.folder)?.[1]
  return archiveTime(archive.file) ?? (epoch ? new Date(Number(epoch) * 1000) : new Date())
}

/**
 * A vault: a restic repository that keeps each archive's decompressed content as one snapshot
 * (restic deduplicates, compresses and encrypts), then a completion record as a second, tiny one.
 * Keys are pbm's `<site>/<env>/<file>`, looked up in the snapshots' tags, listed once per run.
 *
 * Why a second snapshot: restic saves a snapshot whenever its input ends, also when pbm is killed
 * (kill -9, the OOM killer) mid-archive, with the tags it was given at the start; and `restic tag`
 * needs the repository's exclusive lock, which other backups hold. A new snapshot needs only the
 * shared lock, and pbm saves it only after restic saved the verified archive.
 */
export function createVaultDestination(restic: Restic): Destination {
  let index: Promise<Map<string, VaultArchive>> | undefined
  const listed = (signal?: AbortSignal) => {
    index ??= restic.snapshots(signal).then((snapshots) => completedArchives(snapshots))
    index.catch(() => {
      index = undefined
    })
    return index
  }

  return {
    kind: 'restic',
    describe: (key) => `${restic.location}::${key}`,
    async preflight(signal) {
      await restic.open(signal)
      await listed(signal)
    },
    async inspect(key, signal): Promise<ExistingObject | undefined> {
      const archive = (await listed(signal)).get(key)
      if (!archive) return undefined
      // Only a data snapshot with its completion record is listed: saved after verification.
      return {
        complete: true,
        folder: archive.folder,
        md5: archive.md5,
        recordedSize: archive.size,
        size: archive.size ?? 0,
      }
    },
    async open(key: string, meta: ArchiveMeta, signal: AbortSignal): Promise<Sink> {
      const names = [
        'pbm',
        `site=${meta.site}`,
        `env=${meta.env}`,
        `element=${meta.element}`,
        `file=${meta.file}`,
        `folder=${meta.folder}`,
      ]
      const tags = [
        ...names,
        // When this run began the archive: prune tells a dead run's unrecorded snapshot from one whose
        // record is still being written by its age (see vault-inventory.ts).
        `started=${new Date().toISOString()}`,
        ...(meta.size === undefined ? [] : [`size=${meta.size}`]),
        ...(meta.md5 ? [`md5=${meta.md5}`] : []),
      ]
      const time = backupTime(meta)
      const backup = restic.backup({path: vaultPath(meta), signal, tags, time})
      let recording: ResticBackup | undefined
      return {
        takes: 'content',
        write: (chunk) => backup.write(chunk),
        flush: () => backup.drained(),
        async commit(verified) {
          const {content} = verified ?? {}
          if (!content) throw new PbmError('vault-record-failed', `No content hash for ${meta.file}: not recorded.`)
          const {snapshot} = await backup.finish()
          const record = {
            snapshot,
            file: meta.file,
            archive: {bytes: verified!.bytes, md5: verified!.md5 ?? meta.md5},
            content: {bytes: content.bytes, sha256: content.sha256},
          }
          recording = restic.backup({
            path: recordPath(meta),
            signal,
            tags: [...names, RECORD_TAG, `of=${snapshot}`, `sha256=${content.sha256}`],
            time,
          })
          try {
            await recording.write(Buffer.from(`${JSON.stringify(record, null, 2)}\n`))
            await recording.finish()
          } catch (error) {
            if (error instanceof InterruptedError) throw error
            const why = error instanceof Error ? error.message : String(error)
            throw new PbmError(
              'vault-record-failed',
              `${meta.file} was saved as snapshot ${snapshot}, but its completion record was not (${why}); ` +
                'without it the snapshot does not count as in the vault.',
              {hint: 'A re-run transfers the archive again; the unrecorded snapshot stays until it is pruned.'},
            )
          }
        },
        async abort() {
          await Promise.all([backup.stop(), recording?.stop()])
        },
      }
    },
  }
}
