import {UsageError} from '../errors.js'
import {TerminusError} from './errors.js'

/**
 * Pantheon throttles scripted fan-out, per account and across processes, without publishing figures.
 * The budget stands in front of every Terminus call of a run (creates included): an optional rate
 * (`--terminus-rate CALLS/MIN`, a token bucket) keeps under a known limit, and when Pantheon throttles
 * anyway (the adapter's `throttled` error), every Terminus call pauses with jittered exponential
 * back-off and the refused call is tried again, a bounded number of times, instead of failing its site.
 */

/** Time, injectable so that tests drive it instead of waiting. */
export interface Clock {
  now(): number
  /** Resolves after `ms`; rejects with `signal.reason` as soon as the signal aborts, never later. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }

      const onAbort = () => {
        clearTimeout(timer)
        reject(signal?.reason)
      }

      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal?.addEventListener('abort', onAbort, {once: true})
    })
  },
}

export interface BackoffOptions {
  /** The first pause's step; each throttling seen after a pause doubles it. */
  baseMs: number
  /** No pause is longer. */
  maxMs: number
  /** Tries of one call, the first included, before its throttled error is thrown. */
  maxAttempts: number
}

// Terminus 3.x has already retried a 429 five times over about 75 s before it reports the failure,
// so the first pause is long enough for a per-minute window to pass; six tries pause 7.5-15 min in all.
export const DEFAULT_BACKOFF: BackoffOptions = {baseMs: 30_000, maxMs: 600_000, maxAttempts: 6}

/** A pause of every Terminus call, for the UI to show and the log to record. */
export interface TerminusPause {
  /** The Terminus command that was throttled, e.g. `backup:list`. */
  command: string
  /** 1 for the first pause after calls went through, +1 for each throttling seen after a pause. */
  level: number
  /** Which try of that call was refused (1 = the first). */
  attempt: number
  delayMs: number
  /** Clock time when calls resume. */
  until: number
}

export interface TerminusBudgetStats {
  /** Calls let through (every try counts). */
  calls: number
  /** Calls that came back throttled. */
  throttled: number
  pauses: number
  /** Total time during which calls were paused for throttling (overlaps merged). */
  pausedMs: number
}

export interface TerminusBudgetOptions {
  /** Calls per minute across the run (`--terminus-rate`); unset or 0 for no rate limit. */
  callsPerMinute?: number
  /**
   * How many calls may start together after an idle spell. Default 1: calls are spaced evenly, which
   * is what a sliding-window limit on Pantheon's side wants.
   */
  burst?: number
  backoff?: Partial<BackoffOptions>
  clock?: Clock
  /** Uniform in [0, 1): the jitter. */
  random?: () => number
  onPause?: (pause: TerminusPause) => void
}

export interface BudgetCallOptions {
  signal?: AbortSignal
  /** For the pause event. */
  command?: string
  /**
   * A timeout after which the call had printed nothing (`printedNothing`) is tried once more after a
   * pause: real Terminus retries a throttled request for ~106 s in silence before it says so.
   */
  retrySilentTimeout?: boolean
}

/**
 * A pause's length: an exponential step `min(max, base * 2^(level-1))`, then "equal jitter" (half of
 * it fixed, half random) so that shards throttled at the same moment do not all come back together,
 * while every pause still lasts at least half its step.
 */
export function backoffDelay(level: number, backoff: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, level - 1))
  return Math.round(step / 2 + (random() * step) / 2)
}

export function isThrottledError(error: unknown): boolean {
  return error instanceof TerminusError && error.code === 'throttled'
}

/** A call stopped by its timeout before it printed anything (maybe Terminus retrying a throttled request). */
export function isSilentTimeout(error: unknown): boolean {
  return error instanceof TerminusError && error.code === 'timeout' && error.printedNothing === true
}

export class TerminusBudget {
  readonly callsPerMinute: number
  readonly burst: number
  readonly backoff: BackoffOptions
  private readonly clock: Clock
  private readonly random: () => number
  private readonly onPause?: (pause: TerminusPause) => void
  /** Token bucket as a theoretical arrival time (GCRA): when the next call would be due. */
  private nextDue = Number.NEGATIVE_INFINITY
  private pausedUntil = Number.NEGATIVE_INFINITY
  /** Calls started so far; a call's number tells whether it started before the current pause. */
  private started = 0
  /** `started` when the current pause was decided: calls numbered below it are not news. */
  private pauseDecidedAfter = Number.NEGATIVE_INFINITY
  private level = 0
  private readonly counters: TerminusBudgetStats = {calls: 0, throttled: 0, pauses: 0, pausedMs: 0}

  constructor(options: TerminusBudgetOptions = {}) {
    const rate = options.callsPerMinute ?? 0
    if (!(rate >= 0) || !Number.isFinite(rate)) throw new RangeError(`callsPerMinute must be >= 0, got ${rate}`)
    const burst = options.burst ?? 1
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`burst must be a positive integer, got ${burst}`)
    const backoff = {...DEFAULT_BACKOFF, ...options.backoff}
    if (!(backoff.baseMs > 0) || !(backoff.maxMs >= backoff.baseMs) || !(backoff.maxAttempts >= 1)) {
      throw new RangeError(`invalid back-off ${JSON.stringify(backoff)}`)
    }

    this.callsPerMinute = rate
    this.burst = burst
    this.backoff = backoff
    this.clock = options.clock ?? systemClock
    this.random = options.random ?? Math.random
    this.onPause = options.onPause
  }

  get stats(): TerminusBudgetStats {
    return {...this.counters}
  }

  /** Whether calls are paused for throttling now. */
  get paused(): boolean {
    return this.pausedUntil > this.clock.now()
  }

  /**
   * Run one Terminus call within the budget: wait for any pause and for a token, run it, and when it
   * comes back throttled pause every call and try it again (up to `maxAttempts` tries in all).
   */
  async run<T>(fn: () => Promise<T>, options: BudgetCallOptions = {}): Promise<T> {
    const {signal} = options
    let silentRetried = false
    for (let attempt = 1; ; attempt++) {
      await this.admit(signal)
      const callNumber = this.started++
      this.counters.calls++
      try {
        const result = await fn()
        // A call that started after the last pause and went through: Pantheon has let up.
        if (callNumber >= this.pauseDecidedAfter) this.level = 0
        return result
      } catch (error) {
        if (options.retrySilentTimeout && !silentRetried && isSilentTimeout(error)) {
          // Once: a second silent timeout is a timeout.
          silentRetried = true
        } else {
          if (!isThrottledError(error)) throw error
          this.counters.throttled++
          if (attempt >= this.backoff.maxAttempts) throw error
        }

        this.throttledAt(callNumber, options.command ?? 'terminus', attempt)
      }
    }
  }

  /** Wait until no pause is in force and a token is free; a pause that begins meanwhile is waited out too. */
  private async admit(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted()
      let now = this.clock.now()
      if (this.pausedUntil > now) {
        await this.clock.sleep(this.pausedUntil - now, signal)
        continue
      }

      if (this.callsPerMinute === 0) return
      // GCRA: a call may start `burst - 1` intervals before the bucket's theoretical arrival time.
      const interval = 60_000 / this.callsPerMinute
      const due = Math.max(this.nextDue, now)
      const start = due - (this.burst - 1) * interval
      this.nextDue = due + interval
      if (start > now) await this.clock.sleep(start - now, signal)
      now = this.clock.now()
      // A pause decided while this call waited for its token: it must wait that out as well.
      if (this.pausedUntil <= now) return
    }
  }

  private throttledAt(callNumber: number, command: string, attempt: number): void {
    // Calls that were already running when the current pause was decided report the same episode:
    // only news (a call started since) may lengthen the back-off.
    if (callNumber < this.pauseDecidedAfter) return
    const now = this.clock.now()
    this.level++
    const delayMs = backoffDelay(this.level, this.backoff, this.random)
    const until = now + delayMs
    this.counters.pausedMs += Math.max(0, until - Math.max(now, this.pausedUntil))
    this.pausedUntil = Math.max(this.pausedUntil, until)
    this.pauseDecidedAfter = this.started
    this.counters.pauses++
    this.onPause?.({command, level: this.level, attempt, delayMs, until: this.pausedUntil})
  }
}

/**
 * `--terminus-rate` / `PBM_TERMINUS_RATE`: calls per minute, as `CALLS/MIN` or `CALLS` (`/s` and `/h`
 * are converted). `0` or `off` turns the rate off.
 */
export function parseTerminusRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min|h|hour))?\s*$/i.exec(text)
  if (/^\s*(?:off|none)\s*$/i.test(text)) return 0
  if (!m) {
    throw new UsageError(
      `--terminus-rate must be a number of Terminus calls per minute, like 60/min, got "${text}".`,
      'Pantheon does not publish its limits: 60/min is a cautious start for a large fleet.',
    )
  }

  const n = Number(m[1])
  const unit = (m[2] ?? 'min').toLowerCase()
  const perMinute = unit.startsWith('s') ? n * 60 : unit.startsWith('h') ? n / 60 : n
  return perMinute
}
