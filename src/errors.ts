/**
 * Errors that pbm knows how to explain. Every layer throws these; the base command turns them into
 * one line of advice and the right exit code, never a stack trace.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** backup:verify found problems (missing, corrupt, unverifiable, stale). */
  problems: 3,
  interrupted: 130,
} as const

export class PbmError extends Error {
  /** A machine-readable name, stable across releases (used in --json output). */
  readonly code: string
  readonly exitCode: number
  /** What the user can do about it, one sentence or a command to run. */
  readonly hint?: string

  constructor(code: string, message: string, options: {cause?: unknown; exitCode?: number; hint?: string} = {}) {
    super(message, {cause: options.cause})
    this.name = 'PbmError'
    this.code = code
    this.exitCode = options.exitCode ?? EXIT.failure
    this.hint = options.hint
  }
}

/** Bad or missing input from the user: exit 2, as oclif does for its own usage errors. */
export class UsageError extends PbmError {
  constructor(message: string, hint?: string) {
    super('usage', message, {exitCode: EXIT.usage, hint})
    this.name = 'UsageError'
  }
}

/** The user or a signal stopped the run (Ctrl-C): exit 130. */
export class InterruptedError extends PbmError {
  constructor(message = 'Interrupted.') {
    super('interrupted', message, {exitCode: EXIT.interrupted})
    this.name = 'InterruptedError'
  }
}

export function isAbortError(error: unknown): boolean {
  return (
    error instanceof InterruptedError ||
    (error instanceof Error && (error.name === 'AbortError' || (error as {code?: string}).code === 'ABORT_ERR'))
  )
}
