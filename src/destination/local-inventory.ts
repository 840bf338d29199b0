import type {Dirent} from 'node:fs'

import {lstat, readdir, realpath, unlink} from 'node:fs/promises'
import path from 'node:path'

import {PbmError} from '../errors.js'
import {DELETE_BATCH, type Inventory, type InventoryObject, LIST_PAGE, type RemoveOutcome} from './inventory.js'
import {checkKey} from './key.js'
import {readLocalRecord} from './local.js'

/** The completion record the local destination keeps beside an archive: `.<file>.pbm.json`. */
export function completionRecordName(file: string): string {
  return `.${file}.pbm.json`
}

/**
 * A local mirror folder: `<root>/<site>/<env>/<file>`. Lists regular files at that depth only, and
 * never anything hidden (pbm's `.NAME.partial` and `.NAME.pbm.json`, or anyone's dotfiles); never
 * follows a symbolic link; removes regular files only, and only while their folder still resolves to
 * `<root>/<site>/<env>` (a folder swapped for a link after the listing must not lead a removal
 * outside the root).
 */
export function createLocalInventory(options: {root: string}): Inventory {
  const root = path.resolve(options.root)
  // The root as the listing resolved it (it may be a link itself, e.g. /srv/backups -> /mnt/disk):
  // every removal must land under this same folder.
  let realRoot: Promise<string> | undefined
  const resolveRoot = (): Promise<string> => {
    realRoot ??= realpath(root).catch((error: NodeJS.ErrnoException) => {
      realRoot = undefined
      throw error
    })
    return realRoot
  }

  const pathOf = (key: string): string => {
    const full = path.join(root, ...checkKey(key))
    if (!full.startsWith(root + path.sep)) throw new PbmError('unsafe-key', `Refusing a path outside ${root}.`)
    return full
  }

  const removeOne = async (key: string): Promise<RemoveOutcome> => {
    let full: string
    try {
      full = pathOf(key)
    } catch (error) {
      return {key, status: 'failed', code: 'unsafe-key', message: (error as Error).message}
    }

    try {
      const moved = await folderMoved(full)
      if (moved) return {key, status: 'failed', code: 'unsafe-path', message: moved}
      const st = await lstat(full)
      if (!st.isFile()) return {key, status: 'failed', code: 'not-a-file', message: `${full} is not a regular file.`}
      await unlink(full)
    } catch (error) {
      const {code} = error as NodeJS.ErrnoException
      if (code === 'ENOENT') return {key, status: 'removed', alreadyGone: true}
      return {key, status: 'failed', code: code ?? 'unknown', message: `Cannot remove ${full}: ${code ?? error}`}
    }

    await unlink(path.join(path.dirname(full), completionRecordName(path.basename(full)))).catch(() => {})
    return {key, status: 'removed'}
  }

  /**
   * Just before an unlink: why the archive's folder is no longer `<root>/<site>/<env>` (a link, or a
   * folder moved in from elsewhere), or undefined while it still is. A folder gone is not a reason
   * (the unlink then finds nothing).
   */
  const folderMoved = async (full: string): Promise<string | undefined> => {
    const dir = path.dirname(full)
    const expected = path.join(await resolveRoot(), path.relative(root, dir))
    let actual: string
    try {
      actual = await realpath(dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }

    return actual === expected
      ? undefined
      : `${dir} now leads to ${actual}, not ${expected}: nothing removed through it.`
  }

  return {
    kind: 'local',
    describe: (key) => pathOf(key),

    async recorded(keys, signal) {
      const found = new Set<string>()
      for (const key of keys) {
        signal?.throwIfAborted()
        let full: string
        try {
          full = pathOf(key)
        } catch {
          continue
        }

        const [st, record] = await Promise.all([lstat(full).catch(() => {}), readLocalRecord(full)])
        if (st?.isFile() && record?.file === path.basename(full) && record.size === st.size) found.add(key)
      }

      return found
    },

    async *list(signal) {
      await resolveRoot().catch(() => {})
      const sites = await entries(root, true)
      let page: InventoryObject[] = []
      for (const site of sites) {
        if (!visibleDir(site)) continue
        for (const env of await entries(path.join(root, site.name))) {
          if (!visibleDir(env)) continue
          const dir = path.join(root, site.name, env.name)
          for (const file of await entries(dir)) {
            signal?.throwIfAborted()
            if (!file.isFile() || file.name.startsWith('.')) continue
            // The file may go away between readdir and lstat (a concurrent prune or cleanup).
            const st = await lstat(path.join(dir, file.name)).catch(() => {})
            if (!st?.isFile()) continue
            page.push({key: `${site.name}/${env.name}/${file.name}`, size: st.size, lastModified: st.mtime})
            if (page.length >= LIST_PAGE) {
              yield page
              page = []
            }
          }
        }
      }

      if (page.length > 0) yield page
    },

    async *remove(keys, signal) {
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        signal?.throwIfAborted()
        const batch: RemoveOutcome[] = []
        // One at a time: unlink is quick, and a deterministic order keeps the report readable.
        for (const key of keys.slice(i, i + DELETE_BATCH)) batch.push(await removeOne(key))
        yield batch
      }
    },
  }
}

function visibleDir(entry: Dirent): boolean {
  return entry.isDirectory() && !entry.name.startsWith('.')
}

/** A folder's entries, sorted by name; a missing sub-folder is empty, a missing root is an error. */
async function entries(dir: string, isRoot = false): Promise<Dirent[]> {
  try {
    const list = await readdir(dir, {withFileTypes: true})
    return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  } catch (error) {
    const {code} = error as NodeJS.ErrnoException
    if (!isRoot && (code === 'ENOENT' || code === 'ENOTDIR')) return []
    if (isRoot && code === 'ENOENT') {
      throw new PbmError('no-such-folder', `${dir} does not exist.`, {
        cause: error,
        hint: 'Check --to: it names the folder that holds the mirror.',
      })
    }

    throw new PbmError('not-readable', `Cannot read ${dir} (${code ?? error}).`, {cause: error})
  }
}
