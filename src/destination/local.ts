import {createHash} from 'node:crypto'
import {constants, createReadStream, createWriteStream, type WriteStream} from 'node:fs'
import {access, mkdir, open, rename, stat, unlink} from 'node:fs/promises'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'

import type {ArchiveMeta, Destination, ExistingObject, Sink} from './types.js'

import {PbmError} from '../errors.js'
import {checkKey} from './key.js'
import {Waiter} from './wait.js'

export type LocalDestinationOptions = {file: string; root?: undefined} | {file?: undefined; root: string}

const PARTIAL = '.partial'
const WRITE_BUFFER = 1024 * 1024

/**
 * A local folder (`root`: the key is a relative path under it) or one exact file (`file`: the key is
 * ignored; pick's `--to FILE`). Archives are written as `<name>.partial`, fsynced, and renamed to
 * their final name only after the engine verified the whole stream.
 */
export function createLocalDestination(options: LocalDestinationOptions): Destination {
  const root = options.root === undefined ? undefined : path.resolve(options.root)
  const file = options.file === undefined ? undefined : path.resolve(options.file)

  const pathOf = (key: string): string => {
    if (file) return file
    const parts = checkKey(key)
    const full = path.join(root!, ...parts)
    if (!full.startsWith(root! + path.sep)) {
      throw new PbmError('unsafe-key', `Refusing a destination path outside ${root}.`)
    }

    return full
  }

  const check = async (): Promise<void> => {
    const dir = file ? path.dirname(file) : root!
    try {
      await mkdir(dir, {recursive: true})
      await access(dir, constants.W_OK)
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
      try {
        const st = await stat(full)
        if (!st.isFile()) {
          throw new PbmError('exists-different', `${full} exists and is not a file.`)
        }

        return {size: st.size, complete: false} satisfies ExistingObject
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
        throw fsError(error, full, 'not-writable')
      }
    },

    /** MD5 of the file under the key, read in 1 MiB chunks. */
    async hash(key, signal) {
      const full = pathOf(key)
      const md5 = createHash('md5')
      try {
        await pipeline(createReadStream(full, {highWaterMark: WRITE_BUFFER}), md5, {signal})
      } catch (error) {
        if (signal?.aborted) throw error
        throw fsError(error, full, 'read-failed', 'read')
      }

      return md5.digest('hex')
    },

    async open(key: string, _meta: ArchiveMeta) {
      const full = pathOf(key)
      const partial = full + PARTIAL
      try {
        await mkdir(path.dirname(full), {recursive: true})
      } catch (error) {
        throw fsError(error, path.dirname(full), 'not-writable')
      }

      const stream = createWriteStream(partial, {flags: 'w', flush: true, highWaterMark: WRITE_BUFFER})
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve())
        stream.once('error', (error) => reject(fsError(error, partial, 'not-writable')))
      })
      return new LocalSink(stream, partial, full)
    },
  }
}

class LocalSink implements Sink {
  private done = false
  private flushed?: Promise<void>
  private error?: PbmError
  private readonly waiter = new Waiter()

  constructor(
    private readonly stream: WriteStream,
    private readonly partial: string,
    private readonly full: string,
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
  }

  async commit(): Promise<void> {
    await this.flush()
    try {
      await rename(this.partial, this.full)
    } catch (error) {
      throw fsError(error, this.full, 'write-failed')
    }

    this.done = true
    await syncDir(path.dirname(this.full))
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
    case 'ENOTDIR': {
      return new PbmError('not-writable', `Cannot create ${where}: a file is in the way (${code}).`, {cause: error})
    }

    default: {
      return new PbmError(fallback, `Cannot ${verb} ${where}: ${(error as Error).message}`, {cause: error})
    }
  }
}
