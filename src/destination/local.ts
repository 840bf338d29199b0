import {crc32c} from '@node-rs/crc32'
import {createHash, randomBytes} from 'node:crypto'
import {constants, createWriteStream, type WriteStream} from 'node:fs'
import {
  access,
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  stat,
  unlink,
} from 'node:fs/promises'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'

import type {ArchiveMeta, Destination, ExistingObject, Sink, StoredHash} from './types.js'

import {PbmError} from '../errors.js'
import {crcHex} from '../util/crc.js'
import {resolveTimeoutMs} from '../util/timeouts.js'
import {checkKey} from './key.js'
import {type ArchiveLock, leaseFor, lockArchive, readLock} from './lock.js'
import {Waiter} from './wait.js'

export type LocalDestinationOptions = {
  /** The timeout setting (default: util/timeouts): a writer's lock is stale after 3 × this without a heartbeat. */
  timeoutMs?: number
} & ({file: string; root?: undefined} | {file?: undefined; root: string})

const WRITE_BUFFER = 1024 * 1024
/** Archives, partial files and completion records: readable by their owner only. */
export const FILE_MODE = 0o600
/** Folders pbm creates. */
export const DIR_MODE = 0o700
const CREATE_EXCLUSIVE = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW

/** The files pbm keeps beside an archive `NAME` while and after writing it. */
export function sideFiles(full: string): {lock: string; record: string; partialPrefix: string} {
  const dir = path.dirname(full)
  const name = path.basename(full)
  return {
    lock: path.join(dir, `.${name}.pbm.lock`),
    record: path.join(dir, `.${name}.pbm.json`),
    partialPrefix: `.${name}.`,
  }
}

/** A completion record being written (`.NAME.pbm.json.<pid>-<hex>.tmp`): left only by a run that died or failed. */
function isRecordTemporary(fileName: string, archive: string): boolean {
  return fileName.startsWith(`.${archive}.pbm.json.`) && fileName.endsWith('.tmp')
}

/** What pbm writes beside a verified local archive, so that a re-run needs neither Terminus nor a re-read. */
export interface LocalRecord {
  file: string
  size: number
  /** The archive's mtime when pbm finished it: a different one means the file changed since. */
  mtimeMs: number
  md5?: string
  crc32c?: string
  site?: string
  env?: string
  element?: string
  folder?: string
  /** Pantheon's filename, when the archive was saved under another name (`--to FILE`). */
  source?: string
  verifiedAt: string
}

/** The completion record of `full`, or undefined when there is none (or it is unreadable). */
export async function readLocalRecord(full: string): Promise<LocalRecord | undefined> {
  try {
    const text = await readFile(sideFiles(full).record, {
      encoding: 'utf8',
      flag: constants.O_RDONLY | constants.O_NOFOLLOW,
    })
    const record = JSON.parse(text) as LocalRecord
    if (typeof record?.size !== 'number' || typeof record.mtimeMs !== 'number') return undefined
    return record
  } catch {
    return undefined
  }
}

/**
 * A local folder (`root`: the key is a relative path under it) or one exact file (`file`: the key is
 * ignored; pick's `--to FILE`). Each run writes `.<NAME>.<pid>-<random>.partial` (created exclusively,
 * 0600, never through a symlink) under a per-archive lock, fsyncs it, and renames it to `NAME` only
 * after the engine verified the whole stream; then it records completion in `.<NAME>.pbm.json`. A
 * partial left by a crashed run is adopted and resumed by the next one.
 */
export function createLocalDestination(options: LocalDestinationOptions): Destination {
  const root = options.root === undefined ? undefined : path.resolve(options.root)
  const file = options.file === undefined ? undefined : path.resolve(options.file)
  const lease = leaseFor(options.timeoutMs ?? resolveTimeoutMs())
  let realRoot: string | undefined

  const pathOf = (key: string): string => {
    if (file) return file
    const parts = checkKey(key)
    const full = path.join(root!, ...parts)
    if (!full.startsWith(root! + path.sep)) {
      throw new PbmError('unsafe-key', `Refusing a destination path outside ${root}.`)
    }

    return full
  }

  /** The archive's folder, created 0700 as needed, and proven (on real paths) to lie inside the root. */
  const folderOf = async (full: string, create: boolean): Promise<string | undefined> => {
    const dir = path.dirname(full)
    try {
      if (create) await mkdir(dir, {recursive: true, mode: DIR_MODE})
      const real = await realpath(dir)
      if (root) {
        realRoot ??= await realpath(root)
        if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
          throw new PbmError('unsafe-key', `Refusing ${full}: a symbolic link leads outside ${root}.`, {
            hint: 'pbm only writes inside the --to folder; remove the link or choose another folder.',
          })
        }
      }

      return real
    } catch (error) {
      if (!create && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw fsError(error, dir, 'not-writable')
    }
  }

  const check = async (): Promise<void> => {
    const dir = file ? path.dirname(file) : root!
    try {
      await mkdir(dir, {recursive: true, mode: DIR_MODE})
      await access(dir, constants.W_OK)
      if (root) realRoot = await realpath(root)
    } catch (error) {
      throw fsError(error, dir, 'not-writable')
    }

    if (file) {
      const st = await stat(file).catch(() => {})
      if (st?.isDirectory()) {
        throw new PbmError('not-writable', `${file} is a folder, not a file.`, {
          hint: 'Give a file name, or use a folder as the destination.',
        })
      }
    }
  }

  let ready: Promise<void> | undefined
  return {
    kind: 'local',
    describe: pathOf,

    preflight() {
      ready ??= check()
      ready.catch(() => {
        ready = undefined
      })
      return ready
    },

    async inspect(key) {
      const full = pathOf(key)
      if ((await folderOf(full, false)) === undefined) return
      let st
      try {
        st = await lstat(full)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
        throw fsError(error, full, 'not-writable')
      }

      if (!st.isFile()) throw new PbmError('exists-different', `${full} exists and is not a file.`)
      const record = await readLocalRecord(full)
      // Trusted only while the file is exactly as pbm left it: same size, same mtime.
      if (record && record.file === path.basename(full) && record.size === st.size && record.mtimeMs === st.mtimeMs) {
        return {
          size: st.size,
          complete: true,
          recordedSize: record.size,
          ...(record.md5 ? {md5: record.md5} : {}),
          ...(record.crc32c ? {crc32c: record.crc32c} : {}),
          ...(record.folder ? {folder: record.folder} : {}),
        } satisfies ExistingObject
      }

      return {size: st.size, complete: false} satisfies ExistingObject
    },

    /** MD5 and CRC32C of the file under the key, read in 1 MiB chunks. */
    async hash(key, signal): Promise<StoredHash> {
      const full = pathOf(key)
      const md5 = createHash('md5')
      let crc = 0
      try {
        const fh = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW)
        await pipeline(
          fh.createReadStream({highWaterMark: WRITE_BUFFER}),
          async (source: AsyncIterable<Buffer>) => {
            for await (const chunk of source) {
              md5.update(chunk)
              crc = crc32c(chunk, crc)
            }
          },
          {signal},
        )
      } catch (error) {
        if (signal?.aborted) throw error
        throw fsError(error, full, 'read-failed', 'read')
      }

      return {md5: md5.digest('hex'), crc32c: crcHex(crc)}
    },

    /** Under the archive's lock (a writer's record is never raced); when another run holds it, not now. */
    async remember(key, facts) {
      const full = pathOf(key)
      const lock = await lockArchive(sideFiles(full).lock, full, lease).catch(() => {})
      if (!lock) return
      try {
        await sweepLitter(full)
        const st = await lstat(full)
        await writeRecord(full, {file: path.basename(full), size: st.size, mtimeMs: st.mtimeMs, ...facts})
      } finally {
        await lock.release()
      }
    },

    /**
     * A run killed between its rename and its lock release leaves its lock beside a complete archive;
     * later runs skip the archive, so this is where that lock goes, once it is stale (taken over, then
     * released), with what else that run left.
     */
    async tidy(key) {
      const full = pathOf(key)
      const {lock: lockPath} = sideFiles(full)
      if ((await readLock(lockPath, lease)).state !== 'stale') return
      const lock = await lockArchive(lockPath, full, lease).catch(() => {})
      if (!lock) return
      try {
        await sweepLitter(full)
      } finally {
        await lock.release()
      }
    },

    async resumable(key) {
      const full = pathOf(key)
      const dir = await folderOf(full, false)
      if (!dir) return 0
      const {lock} = sideFiles(full)
      // A live writer's partial is its own; a stale lock's (whatever host wrote it) is adopted by open().
      if ((await readLock(lock, lease)).state === 'held') return 0
      const stale = await stalePartials(full)
      return stale[0]?.size ?? 0
    },

    async open(key: string, meta: ArchiveMeta, _signal: AbortSignal, resumeFrom = 0) {
      const full = pathOf(key)
      await folderOf(full, true)
      const lock = await lockArchive(sideFiles(full).lock, full, lease)
      try {
        await sweepLitter(full)
        const partial = path.join(
          path.dirname(full),
          `${sideFiles(full).partialPrefix}${process.pid}-${randomBytes(4).toString('hex')}.partial`,
        )
        // Holding the lock, every other partial of this archive is a dead run's.
        const stale = await stalePartials(full)
        let fh: FileHandle
        if (resumeFrom > 0) {
          const adopted = stale.shift()
          if (!adopted || adopted.size < resumeFrom) {
            throw new PbmError('resume-failed', `The partial download of ${full} is gone or shorter than expected.`)
          }

          await rename(adopted.path, partial)
          fh = await open(partial, constants.O_RDWR | constants.O_NOFOLLOW)
          const st = await fh.stat()
          if (!st.isFile() || (process.getuid && st.uid !== process.getuid())) {
            await fh.close()
            throw new PbmError('resume-failed', `Refusing to resume ${partial}: not a file of ours.`)
          }

          await fh.chmod(FILE_MODE)
          await fh.truncate(resumeFrom)
        } else {
          fh = await open(partial, CREATE_EXCLUSIVE, FILE_MODE)
        }

        await Promise.all(stale.map((s) => unlink(s.path).catch(() => {})))
        const stream = createWriteStream('', {fd: fh, start: resumeFrom, flush: true, highWaterMark: WRITE_BUFFER})
        return new LocalSink(stream, fh, partial, full, lock, meta, resumeFrom)
      } catch (error) {
        await lock.release()
        throw fsError(error, full, 'not-writable')
      }
    },
  }
}

/** Partial files of this archive left by earlier runs, largest first (regular files only). */
async function stalePartials(full: string): Promise<Array<{path: string; size: number}>> {
  const dir = path.dirname(full)
  const {partialPrefix} = sideFiles(full)
  const names = (await readdir(dir).catch(() => [] as string[])).filter(
    (n) => (n.startsWith(partialPrefix) && n.endsWith('.partial')) || n === `${path.basename(full)}.partial`,
  )
  const found: Array<{path: string; size: number}> = []
  for (const name of names) {
    const p = path.join(dir, name)

    const st = await lstat(p).catch(() => {})
    if (st?.isFile()) found.push({path: p, size: st.size})
  }

  return found.sort((a, b) => b.size - a.size)
}

/**
 * What dead or failed runs left beside an archive, other than partials (adopted or removed by open())
 * and the lock's own leftovers (swept by lockArchive()), swept by the holder of the archive's lock:
 * completion records half-written (every record is written under the lock).
 */
async function sweepLitter(full: string): Promise<void> {
  const dir = path.dirname(full)
  const archive = path.basename(full)
  const names = await readdir(dir).catch(() => [] as string[])
  await Promise.all(
    names
      .filter((name) => isRecordTemporary(name, archive))
      .map((name) => unlink(path.join(dir, name)).catch(() => {})),
  )
}

/**
 * Write the completion record atomically: a private temporary file, fsynced, then renamed. A failure
 * (a full disk) removes the temporary file.
 */
async function writeRecord(full: string, record: Omit<LocalRecord, 'verifiedAt'>): Promise<void> {
  const {record: target} = sideFiles(full)
  const temporary = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
  const fh = await open(temporary, CREATE_EXCLUSIVE, FILE_MODE)
  try {
    try {
      await fh.writeFile(JSON.stringify({...record, verifiedAt: new Date().toISOString()}) + '\n')
      await fh.sync()
    } finally {
      await fh.close()
    }

    await rename(temporary, target)
  } catch (error) {
    await unlink(temporary).catch(() => {})
    throw error
  }
}

class LocalSink implements Sink {
  private done = false
  private error?: PbmError
  private flushed?: Promise<void>
  private readonly waiter = new Waiter()

  constructor(
    private readonly stream: WriteStream,
    private readonly fh: FileHandle,
    private readonly partial: string,
    private readonly full: string,
    private readonly lock: ArchiveLock,
    private readonly meta: ArchiveMeta,
    readonly resumedBytes: number,
  ) {
    stream.on('error', (error) => {
      this.error ??= fsError(error, partial, 'write-failed')
      this.waiter.fail(this.error)
    })
  }

  async abort(): Promise<void> {
    if (this.done) return
    this.done = true
    if (!this.stream.destroyed) {
      await new Promise<void>((resolve) => {
        this.stream.once('close', () => resolve())
        this.stream.destroy()
      })
    }

    await unlink(this.partial).catch(() => {})
    await this.lock.release()
  }

  /**
   * Ctrl-C: keep what was written (in stream order, fsynced) for the next run to adopt and resume,
   * as a crash would leave it, and release the lock. A partial that failed to write is removed.
   */
  async suspend(): Promise<number> {
    if (this.done) return 0
    if (this.error) {
      await this.abort()
      return 0
    }

    this.done = true
    try {
      await this.flush()
      const {size} = await lstat(this.partial)
      if (size > 0) return size
      // Nothing written yet: nothing worth keeping.
      this.done = false
      await this.abort()
      return 0
    } catch {
      this.done = false
      await this.abort()
      return 0
    } finally {
      await this.lock.release()
    }
  }

  async commit(verified?: {bytes: number; md5?: string; crc32c?: string}): Promise<string | undefined> {
    await this.flush()
    try {
      await rename(this.partial, this.full)
      this.done = true
      await syncDir(path.dirname(this.full))
    } catch (error) {
      await this.lock.release()
      throw fsError(error, this.full, 'write-failed')
    }

    try {
      const st = await lstat(this.full)
      const {site, env, element, folder, file} = this.meta
      await writeRecord(this.full, {
        file: path.basename(this.full),
        size: st.size,
        mtimeMs: st.mtimeMs,
        md5: verified?.md5 ?? this.meta.md5,
        crc32c: verified?.crc32c ?? this.meta.crc32c,
        site,
        env,
        element,
        folder,
        ...(file === path.basename(this.full) ? {} : {source: file}),
      })
      return undefined
    } catch (error) {
      // The archive is complete and verified under its name; only the record is missing. The next run
      // recognises it by the source's MD5 (or CRC32C), reading it back once, and writes the record then.
      const why = fsError(error, this.full, 'write-failed').code === 'disk-full' ? 'disk full' : 'could not write it'
      return `record not written (${why}); the next run checks it by its checksum`
    } finally {
      await this.lock.release()
    }
  }

  /** Everything written and fsynced to the .partial file, which is closed. */
  flush(): Promise<void> {
    this.flushed ??= (async () => {
      if (this.error) throw this.error
      // flush: true makes the stream fsync before it closes.
      const ended = this.waiter.once(this.stream, 'finish')
      this.stream.end()
      await ended
      if (!this.stream.closed) {
        await this.waiter.once(this.stream, 'close')
      }
    })()
    return this.flushed
  }

  /**
   * The bytes a crashed run left (the first `resumedBytes`), read back for the engine to verify.
   * @yields the partial file's bytes, in order, each in a buffer of its own
   */
  async *readResumed(): AsyncGenerator<Buffer> {
    let position = 0
    while (position < this.resumedBytes) {
      // A fresh buffer per chunk: the consumer may keep it (hashing in a worker, S3 part buffers).
      const buffer = Buffer.allocUnsafe(Math.min(WRITE_BUFFER, this.resumedBytes - position))

      const {bytesRead} = await this.fh.read(buffer, 0, buffer.length, position)
      if (bytesRead === 0) throw new PbmError('resume-failed', `${this.partial} ended early.`)
      position += bytesRead
      yield buffer.subarray(0, bytesRead)
    }
  }

  write(chunk: Buffer): Promise<void> | void {
    if (this.error) return Promise.reject(this.error)
    if (this.stream.write(chunk)) return
    return this.waiter.once(this.stream, 'drain')
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => {})
  if (!fh) return
  await fh.sync().catch(() => {})
  await fh.close().catch(() => {})
}

function fsError(error: unknown, where: string, fallback: string, verb: 'read' | 'write' = 'write'): PbmError {
  if (error instanceof PbmError) return error
  const {code} = error as NodeJS.ErrnoException
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    case 'EROFS': {
      if (verb === 'read') return new PbmError('not-readable', `Cannot read ${where} (${code}).`, {cause: error})
      return new PbmError('not-writable', `Cannot write to ${where} (${code}).`, {
        cause: error,
        hint: 'Choose a folder you can write to.',
      })
    }

    case 'EDQUOT':
    case 'ENOSPC': {
      return new PbmError('disk-full', `No space left to write ${where}.`, {
        cause: error,
        hint: 'Free some space or choose another folder.',
      })
    }

    case 'EEXIST':
    case 'ELOOP':
    case 'ENOTDIR': {
      return new PbmError('not-writable', `Cannot create ${where}: a file or link is in the way (${code}).`, {
        cause: error,
      })
    }

    default: {
      return new PbmError(fallback, `Cannot ${verb} ${where}: ${(error as Error).message}`, {cause: error})
    }
  }
}
