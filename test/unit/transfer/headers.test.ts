import {expect} from 'chai'

import {crcHex, parseContentLength, parseContentRange, parseGoogHash} from '../../../src/transfer/headers.js'

describe('transfer/headers', () => {
  describe('parseGoogHash', () => {
    it('reads crc32c and md5 as hex', () => {
      expect(parseGoogHash('crc32c=n03x6A==,md5=Ojk9c3dhfxgoKVVHYwFbHQ==')).to.deep.equal({
        crc32c: '9f4df1e8',
        md5: '3a393d7377617f1828295547630 15b1d'.replace(' ', ''),
      })
    })

    it('accepts spaces, repeated headers and any order', () => {
      expect(parseGoogHash(['md5=Ojk9c3dhfxgoKVVHYwFbHQ==', ' crc32c=n03x6A=='])).to.deep.equal({
        md5: '3a393d7377617f182829554763015b1d',
        crc32c: '9f4df1e8',
      })
      expect(parseGoogHash('md5=Ojk9c3dhfxgoKVVHYwFbHQ==, crc32c=n03x6A==').crc32c).to.equal('9f4df1e8')
    })

    it('gives only crc32c for composite objects', () => {
      expect(parseGoogHash('crc32c=AAAAAQ==')).to.deep.equal({crc32c: '00000001'})
    })

    it('ignores malformed and unknown entries', () => {
      expect(parseGoogHash()).to.deep.equal({})
      expect(parseGoogHash('')).to.deep.equal({})
      expect(parseGoogHash('md5=short,crc32c=!!!,sha1=Ojk9c3dhfxgoKVVHYwFbHQ==')).to.deep.equal({})
      expect(parseGoogHash('md5')).to.deep.equal({})
    })
  })

  describe('parseContentRange', () => {
    it('reads start, end and total', () => {
      expect(parseContentRange('bytes 100-199/1000')).to.deep.equal({start: 100, end: 199, total: 1000})
      expect(parseContentRange('bytes 0-0/1')).to.deep.equal({start: 0, end: 0, total: 1})
      expect(parseContentRange('bytes 5-9/*')).to.deep.equal({start: 5, end: 9, total: undefined})
    })

    it('refuses malformed or impossible ranges', () => {
      for (const bad of [
        undefined,
        '',
        'bytes */1000',
        'bytes 10-5/100',
        'bytes 0-100/100',
        'items 0-1/2',
        'bytes 1-2',
      ]) {
        expect(parseContentRange(bad), String(bad)).to.equal(undefined)
      }
    })
  })

  it('parseContentLength takes only plain integers', () => {
    expect(parseContentLength('123')).to.equal(123)
    expect(parseContentLength('0')).to.equal(0)
    expect(parseContentLength('-1')).to.equal(undefined)
    expect(parseContentLength('1e3')).to.equal(undefined)
    expect(parseContentLength()).to.equal(undefined)
  })

  it('crcHex pads to 8 digits and treats the value as unsigned', () => {
    expect(crcHex(1)).to.equal('00000001')
    expect(crcHex(-1)).to.equal('ffffffff')
  })
})
