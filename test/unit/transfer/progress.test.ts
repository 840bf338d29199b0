import {expect} from 'chai'

import {type Progress, ProgressReporter} from '../../../src/transfer/progress.js'

describe('transfer/progress', () => {
  it('throttles byte counts but never phase changes, and computes rate and ETA', () => {
    let now = 0
    const events: Progress[] = []
    const r = new ProgressReporter(
      (p) => events.push(p),
      200,
      () => now,
    )
    r.setTotal(1000)
    r.set('downloading')
    for (let t = 10; t <= 1000; t += 10) {
      now = t
      r.tick(t)
    }

    r.set('verifying')
    const ticks = events.filter((e) => e.phase === 'downloading')
    expect(ticks.length).to.be.within(5, 7)
    expect(events.at(-1)!.phase).to.equal('verifying')
    const last = ticks.at(-1)!
    expect(last.rateBytesPerSec).to.be.closeTo(1000, 1)
    expect(last.etaSeconds).to.be.closeTo((1000 - last.bytes) / 1000, 0.01)
  })

  it('carries notes', () => {
    const events: Progress[] = []
    const r = new ProgressReporter((p) => events.push(p))
    r.set('retrying', 'connection dropped at 1.0 MB, resuming')
    expect(events).to.deep.equal([{phase: 'retrying', bytes: 0, note: 'connection dropped at 1.0 MB, resuming'}])
  })
})
