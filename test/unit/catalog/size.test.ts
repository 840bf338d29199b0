import {expect} from 'chai'

import {parseSize} from '../../../src/catalog/index.js'

const MB = 1024 * 1024

describe('catalog: parseSize', () => {
  it('reads Terminus MB strings (1 MB = 1048576 bytes, as Terminus divides)', () => {
    expect(parseSize('412.7MB')).to.equal(Math.round(412.7 * MB))
    expect(parseSize('1MB')).to.equal(MB)
    expect(parseSize('0.1MB')).to.equal(Math.round(0.1 * MB))
  })

  it('reads "0" as nothing', () => {
    expect(parseSize('0')).to.equal(0)
    expect(parseSize('0MB')).to.equal(0)
  })

  it('reads other units, case and spaces aside', () => {
    expect(parseSize('1.2GB')).to.equal(Math.round(1.2 * 1024 * MB))
    expect(parseSize('2 kb')).to.equal(2048)
    expect(parseSize('10B')).to.equal(10)
    expect(parseSize('1TB')).to.equal(1024 ** 4)
    expect(parseSize('.5MB')).to.equal(MB / 2)
  })

  it('takes a number as bytes', () => {
    expect(parseSize(1234)).to.equal(1234)
    expect(parseSize(12.6)).to.equal(13)
  })

  it('returns undefined for anything else', () => {
    for (const bad of [
      '',
      'MB',
      '-1MB',
      '1,5MB',
      '12 parsecs',
      '1.2.3MB',
      'NaN',
      null,
      undefined,
      -1,
      Number.NaN,
      Infinity,
    ]) {
      expect(parseSize(bad as never), String(bad)).to.equal(undefined)
    }
  })
})
