import {expect} from 'chai'

import {checkFindings} from '../../../src/restic/restic.js'

const WANT = 'da707eef0a4072e88b1c69be3fd30c4796a7c95b1c86e6fa8d91d68a1dd0b5fd'
const GOT = '17471a3d4fd7375a5b2cf73514b5e323905041df28dbfdb42cefe25fc4cbb852'
const OTHER = 'c0ffee'.padEnd(64, '0')

describe('restic check: what a failed check printed (restic 0.14 words)', () => {
  it('names the damaged packs (the wanted ID, never the hash it got) and keeps the error lines', () => {
    const stderr = [
      `Pack ID does not match, want ${WANT}, got ${GOT}`,
      `pack ${OTHER}: not referenced in any index`,
      '[0:00] 100.00%  2 / 2 packs',
      `Pack ID does not match, want ${WANT}, got ${GOT}`,
      'Fatal: repository contains errors',
      '',
    ].join('\n')
    const found = checkFindings(stderr)
    expect(found.damagedPacks).to.deep.equal([WANT, OTHER])
    expect(found.errors).to.deep.equal([
      `Pack ID does not match, want ${WANT}, got ${GOT}`,
      `pack ${OTHER}: not referenced in any index`,
      `Pack ID does not match, want ${WANT}, got ${GOT}`,
    ])
  })

  it('an error that names no pack is kept, with no pack', () => {
    const found = checkFindings(
      'error for tree 1234abcd:\n  tree 1234abcd not found in repository\nFatal: repository contains errors\n',
    )
    expect(found.damagedPacks).to.deep.equal([])
    expect(found.errors).to.have.length(2)
  })
})
