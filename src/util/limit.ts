/**
 * A concurrency limiter: at most `concurrency` functions run at once, the rest wait in order.
 * Pantheon throttles scripted fan-out, so Terminus calls (and anything else that must be bounded)
 * go through one of these.
 */
export interface Limit {
  <T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>
  /** Functions running now. */
  readonly activeCount: number
  /** Functions waiting for a slot. */
  readonly pendingCount: number
  readonly concurrency: number
}

export function createLimit(concurrency: number): Limit {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`)
  }

  let active = 0
  const queue: Array<() => void> = []

  // A finished function hands its slot straight to the next waiter, so a caller arriving in between
  // cannot take it too and exceed the limit.
  const release = () => {
    const waiter = queue.shift()
    if (waiter) waiter()
    else active--
  }

  const limit = async <T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    signal?.throwIfAborted()
    if (active < concurrency) {
      active++
    } else {
      // Wait for a slot; an abort while waiting leaves the queue without taking one.
      await new Promise<void>((resolve, reject) => {
        const start = () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }

        const onAbort = () => {
          const index = queue.indexOf(start)
          if (index !== -1) queue.splice(index, 1)
          reject(signal?.reason)
        }

        queue.push(start)
        signal?.addEventListener('abort', onAbort, {once: true})
      })
    }

    try {
      return await fn()
    } finally {
      release()
    }
  }

  return Object.defineProperties(limit, {
    activeCount: {get: () => active},
    pendingCount: {get: () => queue.length},
    concurrency: {value: concurrency},
  }) as Limit
}
