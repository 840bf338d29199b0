import {expect} from 'chai'

import {archiveTime, setTime} from '../../../src/catalog/index.js'

const at = (iso: string) => ({date: new Date(iso)})

describe('catalog: one time per backup (archiveTime, setTime)', () => {
  it("is the UTC time in the archive's filename", () => {
    expect(archiveTime('alpha_live_2026-12-05T03-00-00_UTC_code.tar.gz')?.toISOString()).to.equal(
      '2026-12-05T03:00:00.000Z',
    )
    // Very old names without the env carry the same time.
    expect(archiveTime('alpha_2019-01-02T23-59-59_UTC_database.sql.gz')?.toISOString()).to.equal(
      '2019-01-02T23:59:59.000Z',
    )
  })

  it("falls back to the folder's epoch (the same start time) for a name without the usual date", () => {
    expect(archiveTime('alpha-code.tar.gz', '1733367600_backup_code')?.toISOString()).to.equal(
      '2024-12-05T03:00:00.000Z',
    )
    expect(archiveTime('alpha-code.tar.gz', 'not-an-id')).to.equal(undefined)
    expect(archiveTime('alpha-code.tar.gz')).to.equal(undefined)
  })

  it('prefers the filename to the folder when they disagree (what the bucket shows wins)', () => {
    expect(archiveTime('alpha_live_2026-12-05T03-00-00_UTC_code.tar.gz', '1_backup_code')?.toISOString()).to.equal(
      '2026-12-05T03:00:00.000Z',
    )
  })

  it('a set is known by the earliest time of its archives, whatever their order', () => {
    expect(setTime([at('2026-12-05T03:00:02Z'), at('2026-12-05T03:00:00Z')]).toISOString()).to.equal(
      '2026-12-05T03:00:00.000Z',
    )
    expect(setTime([at('2026-12-05T03:00:00Z')]).toISOString()).to.equal('2026-12-05T03:00:00.000Z')
  })
})
