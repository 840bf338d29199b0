import {expect} from 'chai'

import {checkKey} from '../../../src/destination/key.js'
import {PbmError} from '../../../src/errors.js'
import {judgeExisting, type SourceFacts} from '../../../src/transfer/safety.js'

function codeOf(fn: () => void): string | undefined {
  try {
    fn()
  } catch (error) {
    expect(error).to.be.instanceOf(PbmError)
    return (error as PbmError).code
  }

  return undefined
}

describe('transfer/safety', () => {
  it('checkKey refuses keys that could leave their root', () => {
    expect(checkKey('p/site/live/f.tar.gz')).to.deep.equal(['p', 'site', 'live', 'f.tar.gz'])
    for (const bad of ['', '/abs', 'a//b', 'a/../b', './a', 'a/.', String.raw`a\b`, 'a\u0000b', 'a/']) {
      expect(
        codeOf(() => checkKey(bad)),
        JSON.stringify(bad),
      ).to.equal('unsafe-key')
    }
  })

  describe('judgeExisting', () => {
    const MD5 = 'a'.repeat(32)
    const OTHER = 'b'.repeat(32)
    const probed: SourceFacts = {probed: true, size: 100, md5: MD5}
    const s3 = {where: 's3://b/k', canHash: false}
    const local = {where: '/d/k', canHash: true}

    it('trusts pbm metadata without a probe, and checks it against the source once known', () => {
      const ours = {size: 100, recordedSize: 100, md5: MD5, complete: true}
      expect(judgeExisting(ours, {probed: false}, s3)).to.deep.equal({action: 'skip', reason: 'already mirrored'})
      expect(judgeExisting(ours, probed, s3)).to.deep.equal({action: 'skip', reason: 'already mirrored'})
      expect(judgeExisting({...ours, md5: OTHER}, probed, s3).action).to.equal('refuse')
      expect(judgeExisting(ours, {...probed, size: 101}, s3).action).to.equal('refuse')
      // No MD5 recorded (the server announced none then): the size decides, as pbm verified it.
      expect(judgeExisting({...ours, md5: undefined}, probed, s3).action).to.equal('skip')
    })

    it('does not trust pbm metadata whose recorded size is not the stored size', () => {
      const odd = {size: 100, recordedSize: 99, md5: MD5, complete: true, etag: OTHER}
      expect(judgeExisting(odd, {probed: false}, s3)).to.deep.equal({action: 'probe'})
      expect(judgeExisting(odd, probed, s3).action).to.equal('refuse')
      expect(judgeExisting({...odd, recordedSize: Number.NaN}, {probed: false}, s3)).to.deep.equal({action: 'probe'})
    })

    it('S3 without pbm metadata: only a plain-MD5 ETag equal to the source MD5 is the same content', () => {
      const foreign = {size: 100, complete: false, etag: MD5}
      expect(judgeExisting(foreign, {probed: false}, s3)).to.deep.equal({action: 'probe'})
      expect(judgeExisting(foreign, probed, s3)).to.deep.equal({action: 'skip', reason: 'same content, by ETag'})
      expect(judgeExisting({...foreign, etag: MD5.toUpperCase()}, probed, s3).action).to.equal('skip')
      const other = judgeExisting({...foreign, etag: OTHER}, probed, s3)
      expect(other).to.deep.equal({
        action: 'refuse',
        message: `s3://b/k already exists with different content (its ETag ${OTHER} is not the archive's MD5 ${MD5}).`,
      })
      // Real S3's multipart ETag is md5-of-part-md5s-N: it says nothing about the content, even if it looks like the MD5.
      for (const etag of [`${MD5}-2`, undefined, 'abc']) {
        const v = judgeExisting({...foreign, etag}, probed, s3)
        expect(v.action, String(etag)).to.equal('refuse')
        expect((v as {message: string}).message).to.match(/could not be verified/)
      }
    })

    it('a different size is refused at once, whatever else', () => {
      const v = judgeExisting({size: 5, complete: false, etag: MD5}, probed, s3)
      expect(v).to.deep.equal({
        action: 'refuse',
        message: 's3://b/k already exists with different content (5 bytes, the archive has 100 bytes).',
      })
      expect(judgeExisting({size: 5, complete: false}, probed, local).action).to.equal('refuse')
    })

    it('local files: the same size asks for a hash, and only an equal MD5 is skipped', () => {
      const file = {size: 100, complete: false}
      expect(judgeExisting(file, {probed: false}, local)).to.deep.equal({action: 'probe'})
      expect(judgeExisting(file, probed, local)).to.deep.equal({action: 'hash'})
      expect(judgeExisting(file, probed, {...local, content: {md5: MD5}})).to.deep.equal({
        action: 'skip',
        reason: 'same content (MD5 checked)',
      })
      expect(judgeExisting(file, probed, {...local, content: {md5: OTHER}}).action).to.equal('refuse')
    })

    it('without an announced MD5, nothing without pbm metadata is skipped', () => {
      const noMd5: SourceFacts = {probed: true, size: 100}
      for (const [e, o] of [
        [{size: 100, complete: false}, local],
        [{size: 100, complete: false, etag: MD5}, s3],
      ] as const) {
        const v = judgeExisting(e, noMd5, o)
        expect(v.action).to.equal('refuse')
        expect((v as {message: string}).message).to.match(/could not be verified: the archive server announced no MD5/)
      }
    })
  })
})
