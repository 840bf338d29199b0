import {constants} from 'node:fs'
import {open, readFile, unlink} from 'node:fs/promises'
import {hostname} from 'node:os'

import {PbmError} from '../errors.js'

/**
 * One writer per archive, across processes: `.<NAME>.pbm.lock` beside the archive, created
 * exclusively (O_EXCL, never through a symlink) and holding the writer's pid and host. A lock whose
 * pid is no longer running on this host is a crashed run's: it is taken over. (Two runs that find
 * the same dead lock at the same instant could both take it over; the exclusive create after the
 * unlink makes one of them lose in all but that window.)
 */
export interface ArchiveLock {
  release(): Promise<void>
}

const EXCLUSIVE = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW

export async function lockArchive(lockPath: string, what: string): Promise<ArchiveLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(lockPath, EXCLUSIVE, 0o600)
      try {
        await fh.writeFile(`${process.pid}\n${hostname()}\n`)
      } finally {
        await fh.close()
      }

      let released = false
      return {
        async release() {
          if (released) return
          released = true
          await unlink(lockPath).catch(() => {})
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }

    const holder = await lockHolder(lockPath)
    if (holder.alive) {
      throw new PbmError('busy', `${what} is being written by another pbm run (pid ${holder.pid}); skipped.`, {
        hint: 'The other run will finish it; run again later to check.',
      })
    }

    await unlink(lockPath).catch(() => {})
  }

  throw new PbmError('busy', `${what} is being written by another pbm run; skipped.`)
}

/** Who holds the lock, and whether that process still runs (a lock from another host counts as alive). */
export async function lockHolder(lockPath: string): Promise<{alive: boolean; pid?: number}> {
  let text: string
  try {
    text = await readFile(lockPath, {encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {alive: false}
    throw error
  }

  const [pidText, host] = text.split('\n')
  const pid = Number(pidText)
  // A lock still being written (empty) or unreadable is treated as held: never steal what may be live.
  if (!Number.isSafeInteger(pid) || pid <= 0) return {alive: true}
  if (host && host !== hostname()) return {alive: true, pid}
  return {alive: isRunning(pid), pid}
}

export function isRunning(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
