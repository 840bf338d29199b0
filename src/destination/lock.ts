import {createHash, randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {type FileHandle, link, lstat, open, readdir, readFile, rename, unlink} from 'node:fs/promises'
import {hostname} from 'node:os'
import path from 'node:path'

import {PbmError} from '../errors.js'

/**
 * One writer per archive, across processes and hosts: `.<NAME>.pbm.lock` beside the archive, a lease.
 *
 * - Taken by an exclusive create (O_EXCL, never through a symlink); it holds the writer's pid, host
 *   and heartbeat interval. While it writes, the writer refreshes the file's mtime (its heartbeat)
 *   every `heartbeatMs`, through its own file handle, so it never touches a lock that replaced its own.
 * - A lock is stale when its heartbeat is older than `staleAfterMs` (3 × the timeout) — whatever host
 *   or pid wrote it (every container has a new hostname, and pids are reused) — or at once when it
 *   names a pid of this host that no longer runs. A stale lock is taken over; any other answers `busy`.
 * - Taking over is atomic: the lock never disappears in between (it is replaced with rename()), and
 *   of the runs that find the same stale lock only the one that creates the claim file
 *   `.<NAME>.pbm.lock.<id>.<n>.takeover` first (O_EXCL) replaces it; the others find a fresh lock.
 *   A claim is itself a lease: one left by a run that died mid-takeover lets the next claim (n + 1).
 */
export interface ArchiveLock {
  release(): Promise<void>
}

/** How often a writer refreshes its lock, and how old a heartbeat may be before the lock is stale. */
export interface Lease {
  heartbeatMs: number
  staleAfterMs: number
}

/** The lease rule, from the one timeout setting (`--timeout`/PBM_TIMEOUT): beat every timeout, stale after 3. */
export function leaseFor(timeoutMs: number): Lease {
  return {heartbeatMs: timeoutMs, staleAfterMs: 3 * timeoutMs}
}

/** What a lock file says: nobody writes (free), a live writer (held), or a writer gone (stale). */
export type LockState =
  | {host?: string; id: string; pid?: number; state: 'stale'; why: 'dead' | 'silent'}
  | {host?: string; pid?: number; state: 'held'}
  | {state: 'free'}

const EXCLUSIVE = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW
const MAX_CLAIMS = 8

export async function lockArchive(lockPath: string, what: string, lease: Lease): Promise<ArchiveLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const fh = await createWhole(lockPath, lockText(lease))
    if (fh) return removeLeftovers(lockPath, heldLock(fh, lockPath, lease))

    const found = await readLock(lockPath, lease)
    if (found.state === 'free') continue
    if (found.state === 'held') throw busy(what, found.pid, found.host)
    const taken = await takeOver(lockPath, found.id, lease)
    if (taken) return removeLeftovers(lockPath, taken)
    // Another run took it over first (or is doing so): its lock is fresh.
    throw busy(what, found.pid, found.host)
  }

  throw busy(what)
}

/**
 * Whose lock it is and whether it still counts. A lock is created whole, so an empty one was left by
 * a run killed while an older pbm wrote it (created empty, then written): stale at once. One
 * unparsable or not a plain file is held while its heartbeat is fresh: never steal what may be live.
 */
export async function readLock(lockPath: string, lease: Lease): Promise<LockState> {
  let text: string
  let st
  try {
    st = await lstat(lockPath)
    text = st.isFile()
      ? await readFile(lockPath, {encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW})
      : ''
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {state: 'free'}
    throw error
  }

  const [pidText, host, intervalText] = text.split('\n')
  const pid = Number(pidText)
  const owner = {
    ...(Number.isSafeInteger(pid) && pid > 0 ? {pid} : {}),
    ...(host ? {host} : {}),
  }
  const id = createHash('sha256').update(`${st.ino}:${st.mtimeMs}:${text}`).digest('hex').slice(0, 16)
  // A writer that beats slower than our rule expects (a longer --timeout) gets 3 of its own beats.
  const interval = Number(intervalText)
  const staleAfter = Math.max(lease.staleAfterMs, Number.isFinite(interval) && interval > 0 ? 3 * interval : 0)
  if (st.isFile() && Date.now() - st.mtimeMs > staleAfter) return {...owner, id, state: 'stale', why: 'silent'}
  if (st.isFile() && text === '') return {id, state: 'stale', why: 'dead'}
  if (owner.pid !== undefined && host === hostname() && !isRunning(owner.pid)) {
    return {...owner, id, state: 'stale', why: 'dead'}
  }

  return {...owner, state: 'held'}
}

/** Replace the stale lock `id` with ours, unless another run claims it first; undefined when we lost. */
async function takeOver(lockPath: string, id: string, lease: Lease): Promise<ArchiveLock | undefined> {
  /** Claims of runs that died mid-takeover: removed once we have replaced the lock. */
  const abandoned: string[] = []
  let claim: string | undefined
  for (let n = 0; n < MAX_CLAIMS && !claim; n++) {
    const name = `${lockPath}.${id}.${n}.takeover`
    const fh = await createWhole(name, `${process.pid}\n${hostname()}\n`)
    if (fh) {
      await fh.close()
      claim = name
      continue
    }

    // Another run is taking it over, unless it died doing so: its pid is gone from this host, or its
    // claim is as old as a stale lock.
    const [st, text] = await Promise.all([lstat(name).catch(() => {}), readFile(name, 'utf8').catch(() => '')])
    const [pidText, host] = text.split('\n')
    const dead = host === hostname() && Number(pidText) > 0 && !isRunning(Number(pidText))
    if (st && !dead && Date.now() - st.mtimeMs <= lease.staleAfterMs) return undefined
    abandoned.push(name)
  }

  if (!claim) return undefined
  let fh: FileHandle | undefined
  let won = false
  const temporary = `${lockPath}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
  try {
    // Holding the claim: the lock must still be the stale one we judged (its writer did not come back).
    const again = await readLock(lockPath, lease)
    if (again.state !== 'stale' || again.id !== id) return undefined
    fh = await open(temporary, EXCLUSIVE, 0o600)
    await fh.writeFile(lockText(lease))
    try {
      await rename(temporary, lockPath)
    } catch (error) {
      // The holder of a lock taken meanwhile swept our half-written one: we lost.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }

    won = true
    const lock = heldLock(fh, lockPath, lease)
    fh = undefined
    return lock
  } finally {
    await fh?.close().catch(() => {})
    const litter = won ? [claim, ...abandoned] : [claim, temporary]
    await Promise.all(litter.map((c) => unlink(c).catch(() => {})))
  }
}

/**
 * Create `file` with its whole content at once, or nothing if it exists: a run killed at any moment
 * never leaves an empty lock or claim (which would look live). Written to a private temporary file,
 * then hard-linked to its name (link() fails when the name exists); where links are not supported, an
 * exclusive create and a write. Resolves with an open handle on the new file, undefined if it existed.
 */
async function createWhole(file: string, text: string): Promise<FileHandle | undefined> {
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
  const fh = await open(temporary, EXCLUSIVE, 0o600)
  try {
    await fh.writeFile(text)
    await link(temporary, file)
    return fh
  } catch (error) {
    await fh.close().catch(() => {})
    // ENOENT: the holder of the lock swept our temporary file as litter, so the name exists.
    if (['EEXIST', 'ENOENT'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined
    if (!['ENOSYS', 'ENOTSUP', 'EOPNOTSUPP', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error
    try {
      const direct = await open(file, EXCLUSIVE, 0o600)
      await direct.writeFile(text)
      return direct
    } catch (error_) {
      if ((error_ as NodeJS.ErrnoException).code === 'EEXIST') return undefined
      throw error_
    }
  } finally {
    await unlink(temporary).catch(() => {})
  }
}

/**
 * What dead runs and takeovers in progress left beside the lock, swept by its new holder: takeover
 * claims and lock files half-written (`<lock>.<...>.takeover|.tmp`; a takeover in progress would be of a
 * lock that is no longer there: it gives up), and `<lock>.<pid>-<hex>` that older pbm versions wrote
 * before linking it into place, when that pid no longer runs here.
 */
async function removeLeftovers(lockPath: string, lock: ArchiveLock): Promise<ArchiveLock> {
  const dir = path.dirname(lockPath)
  const prefix = `${path.basename(lockPath)}.`
  const names = await readdir(dir).catch(() => [] as string[])
  await Promise.all(
    names
      .filter((name) => name.startsWith(prefix) && isLeftover(name.slice(prefix.length)))
      .map((name) => unlink(path.join(dir, name)).catch(() => {})),
  )
  return lock
}

function isLeftover(suffix: string): boolean {
  if (suffix.endsWith('.takeover') || suffix.endsWith('.tmp')) return true
  const older = /^(\d+)-[\da-f]{8}$/.exec(suffix)
  return older !== null && !isRunning(Number(older[1]))
}

function lockText(lease: Lease): string {
  return `${process.pid}\n${hostname()}\n${lease.heartbeatMs}\n`
}

/** Our lock: its heartbeat runs until release(), which removes the lock only while it is still ours. */
function heldLock(fh: FileHandle, lockPath: string, lease: Lease): ArchiveLock {
  const beat = setInterval(() => {
    const now = new Date()
    fh.utimes(now, now).catch(() => {})
  }, lease.heartbeatMs)
  beat.unref()
  let released = false
  return {
    async release() {
      if (released) return
      released = true
      clearInterval(beat)
      try {
        const [ours, there] = await Promise.all([fh.stat(), lstat(lockPath).catch(() => {})])
        // A run that judged us gone and took the lock over owns it now: leave theirs alone.
        if (there && there.ino === ours.ino && there.dev === ours.dev) await unlink(lockPath).catch(() => {})
      } finally {
        await fh.close().catch(() => {})
      }
    },
  }
}

function busy(what: string, pid?: number, host?: string): PbmError {
  const who = pid === undefined ? '' : host && host !== hostname() ? ` (pid ${pid} on ${host})` : ` (pid ${pid})`
  return new PbmError('busy', `${what} is being written by another pbm run${who}; skipped.`, {
    hint: 'The other run will finish it; run again later to check.',
  })
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
