import type {EventEmitter} from 'node:events'

/**
 * Wait for `event` (usually 'drain') unless `fail` is called first. Unlike Promise.race with a
 * promise that may never settle, this leaves no reaction behind: racing a never-settling promise once
 * per chunk grows memory with the archive size.
 */
export class Waiter {
  private readonly pending = new Set<(error: Error) => void>()
  private error?: Error

  fail(error: Error): void {
    this.error ??= error
    for (const reject of this.pending) reject(error)
    this.pending.clear()
  }

  once(emitter: EventEmitter, event: string): Promise<void> {
    if (this.error) return Promise.reject(this.error)
    return new Promise<void>((resolve, reject) => {
      const onEvent = () => {
        this.pending.delete(onFail)
        resolve()
      }

      const onFail = (error: Error) => {
        emitter.off(event, onEvent)
        reject(error)
      }

      this.pending.add(onFail)
      emitter.once(event, onEvent)
    })
  }
}
