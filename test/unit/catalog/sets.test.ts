import {expect} from 'chai'

import {backupsFromList, groupIntoSets} from '../../../src/catalog/index.js'
import {backup} from './fixtures.js'

describe('catalog: groupIntoSets', () => {
  it('returns no sets for no backups', () => {
    expect(groupIntoSets([])).to.deep.equal([])
  })

  it('groups by folder, newest first, elements ordered code, files, database', () => {
    const sets = groupIntoSets([
      backup('1714446000_automated', 'database', '2024-04-30T03:02:00Z'),
      backup('1714533164_backup', 'database', '2024-05-01T03:14:10Z'),
      backup('1714533164_backup', 'code', '2024-05-01T03:13:00Z'),
      backup('1714446000_automated', 'files', '2024-04-30T03:05:00Z'),
      backup('1714533164_backup', 'files', '2024-05-01T03:15:00Z'),
      backup('1714446000_automated', 'code', '2024-04-30T03:01:00Z'),
    ])
    expect(sets.map((s) => s.folder)).to.deep.equal(['1714533164_backup', '1714446000_automated'])
    expect(sets[0].backups.map((b) => b.element)).to.deep.equal(['code', 'files', 'database'])
    expect(sets[1].backups.map((b) => b.element)).to.deep.equal(['code', 'files', 'database'])
    // The set's time: the earliest of its filenames' (catalog/time.ts), not its last finish.
    expect(sets[0].date.toISOString()).to.equal('2024-05-01T03:13:00.000Z')
    expect(sets[0]).to.include({site: 'alpha', env: 'live', initiator: 'manual'})
    expect(sets[1].initiator).to.equal('automated')
  })

  it("knows a set by its filenames' time; the finish times are a detail (the latest of them)", () => {
    const list = {
      '1733367600_backup_code': {
        date: 1733367631.25,
        expiry: null,
        file: 'alpha_live_2024-12-05T03-00-00_UTC_code.tar.gz',
        initiator: 'manual',
        size: '1.0MB',
      },
      '1733367600_backup_database': {
        date: 1733367714.5,
        expiry: null,
        file: 'alpha_live_2024-12-05T03-00-00_UTC_database.sql.gz',
        initiator: 'manual',
        size: '1.0MB',
      },
    }
    const [set] = groupIntoSets(backupsFromList('alpha', 'live', list))
    expect(set.date.toISOString()).to.equal('2024-12-05T03:00:00.000Z')
    expect(set.backups.map((b) => b.date.toISOString())).to.deep.equal([
      '2024-12-05T03:00:00.000Z',
      '2024-12-05T03:00:00.000Z',
    ])
    expect(set.finished?.toISOString()).to.equal('2024-12-05T03:01:54.500Z')
  })

  it('keeps a folder with only a database', () => {
    const sets = groupIntoSets([
      backup('1714600000_backup', 'database', '2024-05-01T22:00:00Z'),
      backup('1714533164_backup', 'code', '2024-05-01T03:13:00Z'),
      backup('1714533164_backup', 'database', '2024-05-01T03:14:00Z'),
    ])
    expect(sets).to.have.length(2)
    expect(sets[0].folder).to.equal('1714600000_backup')
    expect(sets[0].backups.map((b) => b.element)).to.deep.equal(['database'])
  })

  it('orders equal dates by folder, whatever the input order', () => {
    const date = '2024-05-01T03:00:00Z'
    const a = backup('1714533000_backup', 'code', date)
    const b = backup('1714533100_automated', 'code', date)
    const c = backup('1714533100_backup', 'code', date)
    const d = backup('900_backup', 'code', date)
    const expected = ['1714533100_backup', '1714533100_automated', '1714533000_backup', '900_backup']
    expect(groupIntoSets([a, b, c, d]).map((s) => s.folder)).to.deep.equal(expected)
    expect(groupIntoSets([d, c, b, a]).map((s) => s.folder)).to.deep.equal(expected)
    expect(groupIntoSets([b, d, a, c]).map((s) => s.folder)).to.deep.equal(expected)
  })

  it('keeps the same folder of different envs apart', () => {
    const sets = groupIntoSets([
      backup('1714533164_backup', 'code', '2024-05-01T03:13:00Z', {env: 'dev'}),
      backup('1714533164_backup', 'code', '2024-05-01T03:13:00Z', {env: 'live'}),
    ])
    expect(sets.map((s) => s.env)).to.deep.equal(['dev', 'live'])
  })

  it('takes the earliest expiry, or null when none expire', () => {
    const [set] = groupIntoSets([
      backup('1714533164_backup', 'code', '2024-05-01T03:13:00Z', {expiry: new Date('2025-05-01T00:00:00Z')}),
      backup('1714533164_backup', 'files', '2024-05-01T03:13:00Z', {expiry: null}),
      backup('1714533164_backup', 'database', '2024-05-01T03:13:00Z', {expiry: new Date('2025-04-01T00:00:00Z')}),
    ])
    expect(set.expiry?.toISOString()).to.equal('2025-04-01T00:00:00.000Z')
    const [none] = groupIntoSets([backup('1714533164_backup', 'code', '2024-05-01T03:13:00Z')])
    expect(none.expiry).to.equal(null)
  })

  it('does not change its input', () => {
    const input = [
      backup('1714533164_backup', 'database', '2024-05-01T03:14:00Z'),
      backup('1714533164_backup', 'code', '2024-05-01T03:13:00Z'),
    ]
    const copy = [...input]
    groupIntoSets(input)
    expect(input).to.deep.equal(copy)
  })
})
