import {expect} from 'chai'

import {PartPool} from '../../../src/destination/s3.js'

describe('destination/PartPool', () => {
  it('lets one upload hold queueSize + 1 buffers, and reuses a buffer given back', () => {
    const pool = new PartPool(1024, 2)
    pool.active = 1
    const a = pool.take(0)!
    const b = pool.take(1)!
    const c = pool.take(2)!
    expect([a, b, c].every((x) => x.length === 1024)).to.equal(true)
    expect(pool.take(3)).to.equal(undefined)
    pool.give(b, 3)
    expect(pool.take(2)).to.equal(b)
  })

  it('with N uploads holds at most 2N + queueSize - 1 buffers, but always 2 for each', () => {
    const pool = new PartPool(16, 2)
    pool.active = 3
    const held = [0, 0, 0]
    // The first upload takes all it may (3: the one extra), then the others their 2 each: 7 = 2 × 3 + 1.
    for (const n of [0, 1, 2]) while (pool.take(held[n])) held[n]++
    expect(held).to.deep.equal([3, 2, 2])
    expect(pool.inUse).to.equal(pool.cap)
    // The extra, given back by the first, goes to whichever asks next.
    pool.give(Buffer.alloc(16), held[0]--)
    expect(pool.take(held[2])).to.not.equal(undefined)
    held[2]++
    expect(pool.take(held[0])).to.equal(undefined)
    expect(pool.take(held[1])).to.equal(undefined)
    expect(pool.inUse).to.equal(7)
    // A fourth upload still gets its 2, even above the cap of three.
    pool.active = 4
    expect(pool.take(0)).to.not.equal(undefined)
    expect(pool.take(1)).to.not.equal(undefined)
    expect(pool.take(2)).to.equal(undefined)
  })

  it('keeps free buffers only while the uploads left may use them', () => {
    const pool = new PartPool(16, 2)
    pool.active = 2
    const taken = [pool.take(0)!, pool.take(1)!, pool.take(2)!, pool.take(0)!, pool.take(1)!]
    expect(pool.inUse).to.equal(5)
    for (const [i, b] of taken.slice(0, 3).entries()) pool.give(b, 3 - i)
    pool.leave()
    // One upload left, holding 2: the pool may lend it one more, so it keeps one free buffer, not three.
    const again = pool.take(2)
    expect(taken.slice(0, 3)).to.include(again)
    expect(pool.extra).to.equal(1)
    pool.lose(3)
    expect(pool.inUse).to.equal(2)
    expect(pool.take(0)).to.not.be.oneOf(taken)
  })
})
