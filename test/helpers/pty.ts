/**
 * A small pseudo-terminal driver for end-to-end tests of interactive prompts, on util-linux `script`
 * (no native module): `script -qfec CMD /dev/null` runs CMD with a PTY as its stdin/stdout/stderr, copies
 * what we write to its stdin into the PTY (so `\u0003` becomes SIGINT through the line discipline), and
 * copies the PTY's output to its stdout. Tests wait for a prompt's text before they type.
 */
import {expect} from 'chai'
import {type ChildProcess, spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'

export const KEY = {
  ctrlC: '\u0003',
  down: '\u001B[B',
  enter: '\r',
  space: ' ',
  up: '\u001B[A',
} as const

export interface PtyExit {
  exitCode: null | number
  signal: NodeJS.Signals | null
}

export interface PtySession {
  /** Everything the program printed, ANSI codes and carriage returns removed. */
  text(): string
  /** Everything the program printed, as sent. */
  raw(): string
  /**
   * Resolve once `pattern` appears in the (stripped) output after character offset `from` (default: the
   * position reached by the previous waitFor), and return that match's end offset.
   */
  waitFor(pattern: RegExp | string, options?: {from?: number; timeoutMs?: number}): Promise<number>
  /** Type keys, one chunk at a time with a small pause, as a person would. */
  type(...keys: string[]): Promise<void>
  /** Resolves when the program has exited (script passes its exit code on with -e). */
  exited: Promise<PtyExit>
  /** Close stdin and kill script if it is still running (for clean-up after a failed test). */
  stop(): void
}

// CSI sequences (colours, cursor moves, erase), OSC sequences, other two-byte escapes.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)|\u001B[@-Z\\-_]/g

export function stripAnsi(text: string): string {
  return text.replaceAll(ANSI, '').replaceAll('\r', '')
}

/** POSIX shell quoting for one word. */
export function shellQuote(word: string): string {
  return /^[\w./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

/**
 * Run `argv` in a pseudo-terminal of `cols` x `rows`. `env` is the child's whole environment (nothing is
 * inherited), so the caller decides about CI, TERM and the rest.
 */
export function spawnPty(
  argv: string[],
  options: {cols?: number; cwd?: string; env: Record<string, string>; rows?: number; timeoutMs?: number},
): PtySession {
  const {cols = 160, rows = 50} = options
  // script gives the PTY its own stdin's size, and ours is a pipe: set the size inside the PTY first.
  const command = `stty cols ${cols} rows ${rows} 2>/dev/null; exec ${argv.map((w) => shellQuote(w)).join(' ')}`
  const child: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: options.cwd,
    env: {...options.env, SHELL: '/bin/sh'},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let raw = ''
  let stripped = ''
  let cursor = 0
  const listeners = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    raw += chunk.toString('utf8')
    stripped = stripAnsi(raw)
    for (const listener of listeners) listener()
  }

  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  let done = false
  const exited = new Promise<PtyExit>((resolve) => {
    child.once('close', (exitCode, signal) => {
      done = true
      clearTimeout(killer)
      for (const listener of listeners) listener()
      resolve({exitCode, signal})
    })
  })
  return {
    exited,
    raw: () => raw,
    stop() {
      clearTimeout(killer)
      child.stdin?.end()
      if (!done) child.kill('SIGKILL')
    },
    text: () => stripped,
    async type(...keys) {
      for (const key of keys) {
        await sleep(40)
        if (done) throw new Error(`the program exited before it read ${JSON.stringify(key)}:\n${stripped}`)
        child.stdin!.write(key)
      }

      await sleep(40)
    },
    waitFor(pattern, {from = cursor, timeoutMs = 15_000} = {}) {
      const find = (): number | undefined => {
        const rest = stripped.slice(from)
        if (typeof pattern === 'string') {
          const at = rest.indexOf(pattern)
          return at === -1 ? undefined : from + at + pattern.length
        }

        const m = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(rest)
        return m ? from + m.index + m[0].length : undefined
      }

      return new Promise<number>((resolve, reject) => {
        const check = () => {
          const end = find()
          if (end !== undefined) {
            finish()
            cursor = end
            resolve(end)
          } else if (done) {
            finish()
            reject(new Error(`the program exited without printing ${String(pattern)}:\n${stripped}`))
          }
        }

        const timer = setTimeout(() => {
          finish()
          reject(new Error(`timed out waiting for ${String(pattern)}; output so far:\n${stripped}`))
        }, timeoutMs)
        const finish = () => {
          clearTimeout(timer)
          listeners.delete(check)
        }

        listeners.add(check)
        check()
      })
    },
  }
}

/**
 * The environment of an interactive pbm: the parent's, without what changes how pbm behaves (AWS_*,
 * PBM_*, CI...), then `worldEnv` (sandbox, S3), with a terminal type.
 */
export function terminalEnv(worldEnv: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(AWS_|PBM_|TERMINUS_|NODE_ENV$|NODE_OPTIONS$|DEBUG$|CI$)/.test(key)) continue
    env[key] = value
  }

  return {...env, ...worldEnv, TERM: 'xterm-256color'}
}

/** The session's end; its whole output carries no signed URL and no stack trace. */
export async function finishedCleanly(pty: PtySession): Promise<PtyExit> {
  const exit = await pty.exited
  expect(pty.raw(), 'a signed URL was printed').to.not.match(/X-Amz-Signature|Signature=|X-Amz-Credential/)
  expect(pty.text(), 'a stack trace was printed').to.not.match(/^ {4}at /m)
  return exit
}
