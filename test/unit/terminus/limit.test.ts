import {expect} from 'chai'
import {setTimeout as sleep} from 'node:timers/promises'

import {createLimit} from '../../../src/util/limit.js'

describe('util: createLimit', () => {
  it('never runs more than the limit at once, and runs everything', async () => {
    const limit = createLimit(3)
    let running = 0
    let peak = 0
    const results = await Promise.all(
      Array.from({length: 20}, (_, i) =>
        limit(async () => {
          running++
          peak = Math.max(peak, running)
          await sleep(i % 4)
          running--
          return i
        }),
      ),
    )
    expect(peak).to.equal(3)
    expect(results).to.deep.equal(Array.from({length: 20}, (_, i) => i))
    expect(limit.activeCount).to.equal(0)
    expect(limit.pendingCount).to.equal(0)
  })

  it('does not let a caller arriving between a release and the next start exceed the limit', async () => {
    const limit = createLimit(1)
    let running = 0
    let peak = 0
    const task = async () => {
      running++
      peak = Math.max(peak, running)
      await sleep(1)
      running--
    }

    let finishFirst!: () => void
    const first = limit(
      () =>
        new Promise<void>((resolve) => {
          finishFirst = resolve
        }),
    )
    const second = limit(task)
    finishFirst()
    // This job runs after the first call releases its slot but before the second one resumes.
    const third = Promise.resolve().then(() => limit(task))
    await Promise.all([first, second, third])
    expect(peak).to.equal(1)
  })

  it('frees the slot when a function fails', async () => {
    const limit = createLimit(1)
    await limit(async () => {
      throw new Error('boom')
    }).catch(() => {})
    expect(await limit(async () => 'ok')).to.equal('ok')
  })

  it('starts in order', async () => {
    const limit = createLimit(1)
    const order: number[] = []
    await Promise.all([1, 2, 3, 4].map((n) => limit(async () => order.push(n))))
    expect(order).to.deep.equal([1, 2, 3, 4])
  })

  it('drops a waiting call when its signal aborts, without taking a slot', async () => {
    const limit = createLimit(1)
    let release!: () => void
    const blocker = limit(
      () =>
        new Promise<void>((resolve) => {
          release = resolve
        }),
    )
    const controller = new AbortController()
    let ran = false
    const waiting = limit(async () => {
      ran = true
    }, controller.signal)
    expect(limit.pendingCount).to.equal(1)
    controller.abort(new Error('stop'))
    const error = await waiting.catch((error_: unknown) => error_)
    expect((error as Error).message).to.equal('stop')
    expect(limit.pendingCount).to.equal(0)
    release()
    await blocker
    expect(ran).to.equal(false)
    expect(limit.activeCount).to.equal(0)
    expect(await limit(async () => 1)).to.equal(1)
  })

  it('refuses an already aborted signal and a bad limit', async () => {
    const limit = createLimit(2)
    const error = await limit(async () => 1, AbortSignal.abort()).catch((error_: unknown) => error_)
    expect((error as Error).name).to.equal('AbortError')
    expect(() => createLimit(0)).to.throw(RangeError)
    expect(() => createLimit(1.5)).to.throw(RangeError)
  })
})
