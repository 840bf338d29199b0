import type {Element} from '../catalog/types.js'
import type {ArchiveMeta, Destination, ExistingObject, Sink} from './types.js'

import {isElement} from '../catalog/element.js'
import {parseFilename} from '../catalog/filename.js'
import {type Restic, type Snapshot} from '../restic/index.js'

/**
 * What pbm recorded about an archive in its snapshot's tags: `pbm`, `site=`, `env=`, `element=`,
 * `file=` (Pantheon's filename), `folder=`, `size=` (the archive's bytes) and `md5=` (the archive's
 * MD5, when the server announced it before the body).
 */
export interface VaultRecord {
  snapshot: Snapshot
  site: string
  env: string
  element: Element
  file: string
  folder: string
  size?: number
  md5?: string
}

/** The archive a snapshot holds, from its tags; undefined for a snapshot pbm did not write. */
export function vaultRecord(snapshot: Snapshot): undefined | VaultRecord {
  if (!snapshot.tags.includes('pbm')) return undefined
  const tag = (name: string) => snapshot.tags.find((t) => t.startsWith(`${name}=`))?.slice(name.length + 1) || undefined
  const [site, env, element, file, folder] = ['site', 'env', 'element', 'file', 'folder'].map((n) => tag(n))
  if (!site || !env || !file || !folder || !isElement(element)) return undefined
  const size = Number(tag('size'))
  return {
    snapshot,
    site,
    env,
    element,
    file,
    folder,
    ...(Number.isSafeInteger(size) && size >= 0 && tag('size') ? {size} : {}),
    ...(tag('md5') ? {md5: tag('md5')} : {}),
  }
}

/** The one file of an archive's snapshot: `/<site>/<env>/<element>.tar` (code, files) or `.sql` (database). */
export function vaultPath(archive: {site: string; env: string; element: Element}): string {
  return `/${archive.site}/${archive.env}/${archive.element}.${archive.element === 'database' ? 'sql' : 'tar'}`
}

/**
 * When the backup ran: the folder's epoch (shared by every element of one backup run, so a set's
 * snapshots have one time), else the time in the filename.
 */
export function backupTime(archive: {folder: string; file: string}): Date {
  const epoch = /^(\d+)_/.exec(archive.folder)?.[1]
  if (epoch) return new Date(Number(epoch) * 1000)
  return parseFilename(archive.file)?.date ?? new Date()
}

/**
 * A vault: a restic repository that keeps each archive's decompressed content as one snapshot
 * (restic deduplicates, compresses and encrypts). Keys are pbm's `<site>/<env>/<file>`, looked up in
 * the snapshots' tags, which are listed once per run.
 */
export function createVaultDestination(restic: Restic): Destination {
  let index: Promise<Map<string, VaultRecord>> | undefined
  const listed = (signal?: AbortSignal) => {
    index ??= restic.snapshots(signal).then((snapshots) => {
      const byKey = new Map<string, VaultRecord>()
      for (const s of snapshots) {
        const record = vaultRecord(s)
        if (record) byKey.set(`${record.site}/${record.env}/${record.file}`, record)
      }

      return byKey
    })
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
      const record = (await listed(signal)).get(key)
      if (!record) return undefined
      // A snapshot exists only for a verified archive: pbm's completion record.
      return {
        complete: true,
        folder: record.folder,
        md5: record.md5,
        recordedSize: record.size,
        size: record.size ?? 0,
      }
    },
    async open(key: string, meta: ArchiveMeta, signal: AbortSignal): Promise<Sink> {
      const tags = [
        'pbm',
        `site=${meta.site}`,
        `env=${meta.env}`,
        `element=${meta.element}`,
        `file=${meta.file}`,
        `folder=${meta.folder}`,
        ...(meta.size === undefined ? [] : [`size=${meta.size}`]),
        ...(meta.md5 ? [`md5=${meta.md5}`] : []),
      ]
      const backup = restic.backup({path: vaultPath(meta), signal, tags, time: backupTime(meta)})
      return {
        takes: 'content',
        write: (chunk) => backup.write(chunk),
        flush: () => backup.drained(),
        async commit() {
          await backup.finish()
        },
        abort: () => backup.stop(),
      }
    },
  }
}
