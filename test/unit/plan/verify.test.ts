import {expect} from 'chai'

import {UsageError} from '../../../src/errors.js'
import {
  inSample,
  judgeChanged,
  judgeReadBack,
  judgeRecord,
  judgeTarget,
  judgeTargetFacts,
  parseSample,
  type Sample,
  sliceOf,
} from '../../../src/plan/verify.js'

/** Keys shaped like a real mirror's: 40 site.envs x 30 days x 3 elements. */
function mirrorKeys(): string[] {
  const keys: string[] = []
  for (let s = 0; s < 20; s++) {
    for (const env of ['dev', 'live']) {
      for (let day = 1; day <= 30; day++) {
        const d = String(day).padStart(2, '0')
        for (const [el, ext] of [
          ['code', 'tar.gz'],
          ['files', 'tar.gz'],
          ['database', 'sql.gz'],
        ]) {
          keys.push(`site-${s}/${env}/site-${s}_${env}_2024-05-${d}T03-00-00_UTC_${el}.${ext}`)
        }
      }
    }
  }

  return keys
}

describe('plan/verify', () => {
  describe('parseSample', () => {
    it('reads K/N and P%', () => {
      expect(parseSample('1/7')).to.deep.equal({index: 1, kind: 'slice', of: 7})
      expect(parseSample(' 7 / 7 ')).to.deep.equal({index: 7, kind: 'slice', of: 7})
      expect(parseSample('1/1')).to.deep.equal({index: 1, kind: 'slice', of: 1})
      expect(parseSample('10%')).to.deep.equal({kind: 'percent', percent: 10})
      expect(parseSample('0.5%')).to.deep.equal({kind: 'percent', percent: 0.5})
      expect(parseSample('100%')).to.deep.equal({kind: 'percent', percent: 100})
    })

    for (const bad of ['0/7', '8/7', '1/0', '0%', '101%', '-1/7', '1/7/2', 'a/b', '10', '', '%', '1.5/7']) {
      it(`refuses "${bad}" as a usage error`, () => {
        expect(() => parseSample(bad)).to.throw(UsageError)
      })
    }
  })

  describe('a K/N slice', () => {
    const keys = mirrorKeys()

    it('is deterministic: the same keys every time, whatever else is listed', () => {
      const sample = parseSample('3/7')
      const first = keys.filter((k) => inSample(k, sample))
      const again = [...keys].reverse().filter((k) => inSample(k, sample))
      expect(again.sort()).to.deep.equal([...first].sort())
      // Another mirror holding a subset picks the same keys of that subset.
      const subset = keys.filter((_k, i) => i % 3 === 0)
      expect(subset.filter((k) => inSample(k, sample))).to.deep.equal(first.filter((k) => subset.includes(k)))
    })

    for (const n of [1, 2, 7, 30]) {
      it(`1/${n} .. ${n}/${n} cover every key exactly once`, () => {
        const seen = new Map<string, number>()
        for (let k = 1; k <= n; k++) {
          const sample: Sample = {index: k, kind: 'slice', of: n}
          for (const key of keys) if (inSample(key, sample)) seen.set(key, (seen.get(key) ?? 0) + 1)
        }

        expect(seen.size).to.equal(keys.length)
        expect([...seen.values()].every((count) => count === 1)).to.equal(true)
      })
    }

    it('spreads keys over the slices (no slice empty or more than twice its share)', () => {
      const counts = Array.from({length: 7}, () => 0)
      for (const key of keys) counts[sliceOf(key, 7)]++
      for (const c of counts) {
        expect(c).to.be.greaterThan(0)
        expect(c).to.be.lessThan((2 * keys.length) / 7)
      }
    })
  })

  describe('a P% sample', () => {
    it('takes what the random source puts under P', () => {
      const values = [0, 0.099, 0.1, 0.5, 0.999]
      let i = 0
      const random = () => values[i++]
      const picked = values.map(() => inSample('k', {kind: 'percent', percent: 10}, random))
      expect(picked).to.deep.equal([true, true, false, false, false])
    })

    it('takes everything at 100% and without a sample', () => {
      expect(inSample('k', {kind: 'percent', percent: 100}, () => 0.9999)).to.equal(true)
      expect(inSample('k')).to.equal(true)
    })
  })

  describe('judgeRecord (quick)', () => {
    it('ok when the size is the recorded one', () => {
      expect(judgeRecord({complete: true, md5: 'a'.repeat(32), recordedSize: 10, size: 10})).to.deep.equal({
        status: 'ok',
      })
    })

    it('ok when complete with no recorded size (the source did not announce one)', () => {
      expect(judgeRecord({complete: true, size: 10}).status).to.equal('ok')
    })

    it('corrupt when the size differs, or the recorded size is malformed', () => {
      const r = judgeRecord({complete: true, recordedSize: 11, size: 10})
      expect(r.status).to.equal('corrupt')
      expect(r.detail).to.equal('10 bytes stored, 11 recorded')
      expect(judgeRecord({complete: true, recordedSize: Number.NaN, size: 10}).status).to.equal('corrupt')
    })

    it('corrupt when a plain-MD5 ETag differs from the recorded MD5; a multipart ETag says nothing', () => {
      const md5 = 'a'.repeat(32)
      expect(judgeRecord({complete: true, etag: 'b'.repeat(32), md5, size: 1}).status).to.equal('corrupt')
      expect(judgeRecord({complete: true, etag: 'A'.repeat(32), md5, size: 1}).status).to.equal('ok')
      expect(judgeRecord({complete: true, etag: `${'b'.repeat(32)}-3`, md5, size: 1}).status).to.equal('ok')
    })

    it('unverifiable without pbm record, and says why', () => {
      const r = judgeRecord({complete: false, size: 10})
      expect(r.status).to.equal('unverifiable')
      expect(r.detail).to.match(/no pbm record/)
    })
  })

  describe('judgeReadBack (deep)', () => {
    const read = {bytes: 10, crc32c: '0000abcd', md5: 'a'.repeat(32)}

    it('ok when every recorded value matches', () => {
      expect(judgeReadBack(read, {crc32c: '0000ABCD', md5: 'A'.repeat(32), size: 10})).to.deep.equal({status: 'ok'})
    })

    it('corrupt on a size, MD5 or CRC32C mismatch', () => {
      expect(judgeReadBack(read, {size: 9}).status).to.equal('corrupt')
      expect(judgeReadBack(read, {md5: 'b'.repeat(32)}).detail).to.match(/^MD5 a{32} differs/)
      expect(judgeReadBack(read, {crc32c: '0000abce'}).detail).to.match(/^CRC32C/)
    })

    it('unverifiable without a record; ok with a note when the record has no checksum', () => {
      expect(judgeReadBack(read).status).to.equal('unverifiable')
      const r = judgeReadBack(read, {size: 10})
      expect(r.status).to.equal('ok')
      expect(r.detail).to.match(/no checksum/)
    })
  })

  describe('judgeTarget', () => {
    const now = new Date('2024-05-10T12:00:00Z')

    it('missing without any mirrored backup', () => {
      expect(judgeTarget(undefined, 24, now).status).to.equal('missing')
      expect(judgeTarget(undefined, undefined, now).status).to.equal('missing')
    })

    it('stale past --max-age, ok at or under it, ok without it', () => {
      expect(judgeTarget(new Date('2024-05-09T11:59:59Z'), 24, now).status).to.equal('stale')
      expect(judgeTarget(new Date('2024-05-09T12:00:00Z'), 24, now).status).to.equal('ok')
      expect(judgeTarget(new Date('2020-01-01T00:00:00Z'), undefined, now).status).to.equal('ok')
      expect(judgeTarget(new Date('2024-05-08T12:00:00Z'), 24, now).detail).to.equal(
        'newest backup is 48 hours old (limit 24)',
      )
    })
  })
})

describe('plan/verify: judgeChanged (a local record that no longer matches its file)', () => {
  it('another size is corrupt', () => {
    const r = judgeChanged(10, {size: 11})
    expect(r.status).to.equal('corrupt')
    expect(r.detail).to.equal('10 bytes stored, 11 recorded (changed since pbm stored it)')
  })

  it('the same size (another mtime) is unverifiable until --deep compares the bytes', () => {
    const r = judgeChanged(10, {size: 10})
    expect(r.status).to.equal('unverifiable')
    expect(r.detail).to.match(/--deep compares its bytes/)
  })
})

describe('plan/verify: judgeTargetFacts (a site.env as a dashboard shows it)', () => {
  const now = new Date('2024-05-10T12:00:00Z')
  const fresh = new Date('2024-05-10T03:00:00Z')
  const old = new Date('2024-05-01T03:00:00Z')
  const status = (facts: Parameters<typeof judgeTargetFacts>[0], maxAge?: number) =>
    judgeTargetFacts(facts, maxAge, now).status

  it('ok, incomplete, stale, missing, gone, error', () => {
    expect(status({newest: fresh, newestSet: {folder: 'f', lacking: []}}, 24)).to.equal('ok')
    expect(status({newest: fresh, newestSet: {folder: 'f', lacking: ['database at s3']}}, 24)).to.equal('incomplete')
    expect(status({newest: old, newestSet: {folder: 'f', lacking: []}}, 24)).to.equal('stale')
    expect(status({newestSet: {folder: 'f', lacking: ['code at s3']}}, 24)).to.equal('missing')
    expect(status({gone: 'No site "x"', newest: old}, 24)).to.equal('gone')
    expect(status({failed: 'timed out', newest: fresh})).to.equal('error')
    // Neither Pantheon nor the mirror knows it: nothing to keep, nothing to vouch for.
    expect(status({gone: 'No site "x"'})).to.equal('error')
  })

  it('says what is missing of the newest set, and its age too when both', () => {
    const r = judgeTargetFacts(
      {newest: old, newestSet: {folder: '1714_backup', lacking: ['database at local']}},
      24,
      now,
    )
    expect(r).to.deep.equal({
      detail:
        'the newest backup on Pantheon (1714_backup) is not whole in the mirror: database at local missing; newest backup is 225 hours old (limit 24)',
      status: 'incomplete',
    })
    expect(judgeTargetFacts({gone: 'No site "x"', newest: old}, 24, now).detail).to.equal(
      'Pantheon no longer has it (No site "x"); the mirror keeps its backups',
    )
  })
})
