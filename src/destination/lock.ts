import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {link, open, readdir, readFile, unlink} from 'node:fs/promises'
import {hostname} from 'node:os'
import path from 'node:path'

import {PbmError} from '../errors.js'

/**
 * One writer per archive, across processes: `.<NAME>.pbm.lock` beside the archive, holding the writer's
 * pid and host. It is written in full under a name of its own first (O_EXCL, never through a symlink),
 * then hard-linked to the lock's name, which fails if that exists: a lock is never seen empty, so a run
 * killed at any moment leaves either no lock or one naming its dead pid. (Created empty and then
 * written, a SIGKILL in between left an empty lock that every later run took for a live one.) A lock whose
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
    const written = `${lockPath}.${process.pid}-${randomBytes(4).toString('hex')}`
    try {
      const fh = await open(written, EXCLUSIVE, 0o600)
      try {
        await fh.writeFile(`${process.pid}\n${hostname()}\n`)
      } finally {
        await fh.close()
      }

      await link(written, lockPath)
      await removeDeadAttempts(lockPath)
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
    } finally {
      await unlink(written).catch(() => {})
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

/** What runs killed between writing their lock and linking or removing it left: `<lock>.<pid>-<hex>` of a dead pid. */
async function removeDeadAttempts(lockPath: string): Promise<void> {
  const prefix = `${path.basename(lockPath)}.`
  const names = await readdir(path.dirname(lockPath)).catch(() => [] as string[])
  for (const name of names) {
    const pid = name.startsWith(prefix) ? /^(\d+)-[\da-f]{8}$/.exec(name.slice(prefix.length))?.[1] : undefined
    if (pid && !isRunning(Number(pid))) await unlink(path.join(path.dirname(lockPath), name)).catch(() => {})
  }
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
  // A lock is linked into place already written: one without a pid was left by a run killed while an
  // older pbm wrote it (created empty, then written), and no run holds it.
  if (!Number.isSafeInteger(pid) || pid <= 0) return {alive: false}
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
