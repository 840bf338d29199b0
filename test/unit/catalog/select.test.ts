import {expect} from 'chai'

import {
  editDistance,
  findBackup,
  groupIntoSets,
  nearestFilenames,
  newestSet,
  parseDateInput,
  setAtOrBefore,
} from '../../../src/catalog/index.js'
import {UsageError} from '../../../src/errors.js'
import {backup} from './fixtures.js'

const backups = [
  backup('1714446000_automated', 'code', '2024-04-30T03:01:00Z'),
  backup('1714446000_automated', 'database', '2024-04-30T03:02:00Z'),
  backup('1714533164_backup', 'code', '2024-05-01T03:13:00Z'),
  backup('1714533164_backup', 'database', '2024-05-01T03:14:10Z'),
  backup('1714600000_backup', 'database', '2024-05-01T22:00:00Z'),
  backup('1714700000_backup', 'files', '2024-05-03T02:00:00Z'),
]
const sets = groupIntoSets(backups)

describe('catalog: newestSet', () => {
  it('picks the newest set in any order', () => {
    expect(newestSet(sets)?.folder).to.equal('1714700000_backup')
    expect(newestSet([...sets].reverse())?.folder).to.equal('1714700000_backup')
  })

  it('returns undefined without sets', () => {
    expect(newestSet([])).to.equal(undefined)
  })
})

describe('catalog: setAtOrBefore', () => {
  it('takes a date as the whole of that day, UTC', () => {
    expect(setAtOrBefore(sets, '2024-05-01')?.folder).to.equal('1714600000_backup')
    expect(setAtOrBefore(sets, '2024-05-02')?.folder).to.equal('1714600000_backup')
    expect(setAtOrBefore(sets, '2024-05-03')?.folder).to.equal('1714700000_backup')
    expect(setAtOrBefore(sets, '2024-04-30')?.folder).to.equal('1714446000_automated')
  })

  // A set's time is the earliest of its filenames' (03:13:00 here, its database says 03:14:10).
  it('includes a set whose time is exactly the cutoff', () => {
    expect(setAtOrBefore(sets, new Date('2024-05-01T03:13:00Z'))?.folder).to.equal('1714533164_backup')
    expect(setAtOrBefore(sets, new Date('2024-05-01T03:12:59.999Z'))?.folder).to.equal('1714446000_automated')
  })

  it('takes date-times to the end of their precision', () => {
    expect(setAtOrBefore(sets, '2024-05-01T03:13')?.folder).to.equal('1714533164_backup')
    expect(setAtOrBefore(sets, '2024-05-01T03:12:59')?.folder).to.equal('1714446000_automated')
    expect(setAtOrBefore(sets, '2024-05-01T05:13:00+02:00')?.folder).to.equal('1714533164_backup')
  })

  it('returns undefined when every set is later', () => {
    expect(setAtOrBefore(sets, '2024-04-29')).to.equal(undefined)
    expect(setAtOrBefore([], '2030-01-01')).to.equal(undefined)
  })

  it('throws a usage error for garbage', () => {
    expect(() => setAtOrBefore(sets, 'yesterday')).to.throw(UsageError)
  })
})

describe('catalog: parseDateInput', () => {
  const cases: Array<[string, string]> = [
    ['2024-05-01', '2024-05-01T23:59:59.999Z'],
    [' 2024-05-01 ', '2024-05-01T23:59:59.999Z'],
    ['2024-05-01T03:12', '2024-05-01T03:12:59.999Z'],
    ['2024-05-01 03:12', '2024-05-01T03:12:59.999Z'],
    ['2024-05-01T03:12:44', '2024-05-01T03:12:44.999Z'],
    ['2024-05-01T03:12:44Z', '2024-05-01T03:12:44.999Z'],
    ['2024-05-01T03:12:44.250Z', '2024-05-01T03:12:44.250Z'],
    ['2024-05-01T03:12:44+02:00', '2024-05-01T01:12:44.999Z'],
    ['2024-05-01T03:12:44-0530', '2024-05-01T08:42:44.999Z'],
    ['2024-05-01T03-12-44_UTC', '2024-05-01T03:12:44.999Z'],
    ['2024-05-01T03-12-44', '2024-05-01T03:12:44.999Z'],
    ['1714533164', '2024-05-01T03:12:44.000Z'],
    ['1714533164.5', '2024-05-01T03:12:44.500Z'],
  ]
  for (const [input, iso] of cases) {
    it(`reads ${JSON.stringify(input)}`, () => {
      expect(parseDateInput(input).toISOString()).to.equal(iso)
    })
  }

  for (const bad of [
    '',
    'yesterday',
    '2024-5-1',
    '2024-02-30',
    '2024-13-01',
    '2024-05-01T25:00',
    '2024-05-01T03:12:44+15:00',
    '01/05/2024',
    '2024-05-01Tfoo',
    '12345',
  ]) {
    it(`refuses ${JSON.stringify(bad)} with a usage error`, () => {
      expect(() => parseDateInput(bad))
        .to.throw(UsageError)
        .with.property('message')
        .that.contains('YYYY-MM-DD')
    })
  }
})

describe('catalog: findBackup', () => {
  it('finds by exact filename or catalog ID', () => {
    const target = backups[3]
    expect(findBackup(backups, target.file)).to.equal(target)
    expect(findBackup(backups, '1714533164_backup_database')).to.equal(target)
  })

  it('is case-sensitive and exact, like Terminus', () => {
    expect(findBackup(backups, backups[3].file.toUpperCase())).to.equal(undefined)
    expect(findBackup(backups, backups[3].file.slice(0, -3))).to.equal(undefined)
    expect(findBackup(backups, '1714533164_backup')).to.equal(undefined)
    expect(findBackup(backups, '*database*')).to.equal(undefined)
    expect(findBackup([], 'x')).to.equal(undefined)
  })
})

describe('catalog: nearestFilenames', () => {
  it('suggests the closest names for a typo', () => {
    const typo = 'alpha_live_2024-05-01T03-13-00_UTC_code.tar.g'
    expect(nearestFilenames(backups, typo, 1)).to.deep.equal(['alpha_live_2024-05-01T03-13-00_UTC_code.tar.gz'])
  })

  it('puts names containing the query first, ignoring case', () => {
    expect(nearestFilenames(backups, '2024-05-03', 3)[0]).to.equal('alpha_live_2024-05-03T02-00-00_UTC_files.tar.gz')
    expect(nearestFilenames(backups, 'ALPHA_LIVE_2024-04-30T03-02-00', 1)).to.deep.equal([
      'alpha_live_2024-04-30T03-02-00_UTC_database.sql.gz',
    ])
  })

  it('matches catalog IDs too', () => {
    expect(nearestFilenames(backups, '1714533164_backup_databse', 1)).to.deep.equal([
      'alpha_live_2024-05-01T03-14-10_UTC_database.sql.gz',
    ])
  })

  it('returns at most n names, three by default, without duplicates', () => {
    expect(nearestFilenames(backups, 'x')).to.have.length(3)
    expect(nearestFilenames(backups, 'x', 10)).to.have.length(backups.length)
    expect(nearestFilenames([...backups, ...backups], 'x', 10)).to.have.length(backups.length)
    expect(nearestFilenames(backups, 'x', 0)).to.deep.equal([])
    expect(nearestFilenames([], 'x')).to.deep.equal([])
  })

  it('editDistance is Levenshtein', () => {
    expect(editDistance('', '')).to.equal(0)
    expect(editDistance('abc', '')).to.equal(3)
    expect(editDistance('kitten', 'sitting')).to.equal(3)
    expect(editDistance('flaw', 'lawn')).to.equal(2)
  })
})
