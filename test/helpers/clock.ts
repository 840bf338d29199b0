import {setImmediate as yieldToEventLoop} from 'node:timers/promises'

import {type Clock} from '../../src/terminus/budget.js'

interface Timer {
  due: number
  resolve: () => void
}

/**
 * A clock that moves only when a test says so: sleeps register timers, and run() lets every pending
 * promise settle, then jumps to the earliest timer, until the awaited work is done. No real waiting.
 */
export class FakeClock implements Clock {
  private time: number
  private timers: Timer[] = []

  constructor(start = 0) {
    this.time = start
  }

  /** Sleeps not yet over. */
  get pending(): number {
    return this.timers.length
  }

  /** Drive the clock until `work` settles; its result (or error) comes back. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false
    const done = work.then(
      (value) => {
        settled = true
        return value
      },
      (error: unknown) => {
        settled = true
        throw error
      },
    )
    done.catch(() => {})
    for (;;) {
      await this.settle()
      if (settled) return done
      const next = this.timers.sort((a, b) => a.due - b.due)[0]
      if (!next) throw new Error('FakeClock: the work waits for something other than the clock')
      this.advanceTo(next.due)
    }
  }

  /** Let every promise chain that can run, run (the work is CPU-only between sleeps). */
  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await yieldToEventLoop()
  }

  advanceTo(t: number): void {
    this.time = Math.max(this.time, t)
    const due = this.timers.filter((timer) => timer.due <= this.time)
    this.timers = this.timers.filter((timer) => timer.due > this.time)
    for (const timer of due) timer.resolve()
  }

  now(): number {
    return this.time
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason)
        return
      }

      const timer: Timer = {
        due: this.time + Math.max(0, ms),
        resolve() {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer)
        reject(signal?.reason)
      }

      this.timers.push(timer)
      signal?.addEventListener('abort', onAbort, {once: true})
    })
  }
}
