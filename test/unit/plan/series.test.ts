import {expect} from 'chai'

import {planPrune} from '../../../src/plan/prune.js'
import {parsePolicy} from '../../../src/plan/retention.js'
import {groupSeries, type ListedObject, parseArchiveKey, SeriesCollector} from '../../../src/plan/series.js'

function obj(key: string, size = 100): ListedObject {
  return {key, size}
}

const DB1 = 'site1/live/site1_live_2024-05-01T03-00-00_UTC_database.sql.gz'
const DB2 = 'site1/live/site1_live_2024-05-02T03-00-00_UTC_database.sql.gz'
const DB3 = 'site1/live/site1_live_2024-05-03T03-00-00_UTC_database.sql.gz'
const CODE1 = 'site1/live/site1_live_2024-05-01T03-00-00_UTC_code.tar.gz'
const FILES1 = 'site1/live/site1_live_2024-05-01T03-00-00_UTC_files.tar.gz'
const DEV1 = 'site1/dev/site1_dev_2024-05-01T03-00-00_UTC_database.sql.gz'
const OTHER = 'a-site/pr-12/a-site_pr-12_2024-05-01T03-00-00_UTC_code.tar.gz'

describe('plan/series: which keys are pbm archives', () => {
  it('accepts <site>/<env>/<pantheon filename of that site and env>', () => {
    expect(parseArchiveKey(DB1)).to.deep.equal({
      site: 'site1',
      env: 'live',
      element: 'database',
      file: 'site1_live_2024-05-01T03-00-00_UTC_database.sql.gz',
      date: new Date('2024-05-01T03:00:00Z'),
    })
    expect(parseArchiveKey(OTHER)?.env).to.equal('pr-12')
  })

  const foreign = [
    // a file in the wrong folder: another site or env than its name says
    'site2/live/site1_live_2024-05-01T03-00-00_UTC_database.sql.gz',
    'site1/dev/site1_live_2024-05-01T03-00-00_UTC_database.sql.gz',
    // wrong depth
    'site1_live_2024-05-01T03-00-00_UTC_database.sql.gz',
    'site1/site1_live_2024-05-01T03-00-00_UTC_database.sql.gz',
    'x/site1/live/site1_live_2024-05-01T03-00-00_UTC_database.sql.gz',
    '/site1/live/site1_live_2024-05-01T03-00-00_UTC_database.sql.gz',
    // not a Pantheon name, or the wrong extension for the element
    'site1/live/notes.txt',
    'site1/live/site1_live_2024-05-01T03-00-00_UTC_database.tar.gz',
    'site1/live/site1_live_2024-05-01T03-00-00_UTC_code.sql.gz',
    'site1/live/site1_live_2024-05-01T03-00-00_UTC_database.sql.gz.partial',
    'site1/live/.site1_live_2024-05-01T03-00-00_UTC_database.sql.gz.pbm.json',
    'site1/live/site1_live_2024-02-30T03-00-00_UTC_database.sql.gz',
    'site1/live/site1_live_2024-05-01T03-00-00_UTC_database.sql.gz/',
    // very old names carry no env: they cannot match an env folder
    'site1/live/site1_2014-05-01T03-00-00_UTC_database.sql.gz',
  ]
  for (const key of foreign) {
    it(`is not pbm's: ${key}`, () => {
      expect(parseArchiveKey(key)).to.equal(undefined)
    })
  }
})

describe('plan/series: grouping', () => {
  it('one series per site, env and element, newest first, ordered site, env, code/files/database', () => {
    const listing = groupSeries([obj(DB2, 2), obj(OTHER), obj(DB1, 1), obj(CODE1), obj(DEV1), obj(DB3, 3), obj(FILES1)])
    expect(listing.series.map((s) => `${s.site}.${s.env}:${s.element}`)).to.deep.equal([
      'a-site.pr-12:code',
      'site1.dev:database',
      'site1.live:code',
      'site1.live:files',
      'site1.live:database',
    ])
    const db = listing.series.find((s) => s.env === 'live' && s.element === 'database')!
    expect(db.entries.map((e) => e.size)).to.deep.equal([3, 2, 1])
    expect(db.entries[0]).to.deep.equal({
      key: DB3,
      file: 'site1_live_2024-05-03T03-00-00_UTC_database.sql.gz',
      date: new Date('2024-05-03T03:00:00Z'),
      size: 3,
    })
    expect(listing.foreign).to.deep.equal({count: 0, bytes: 0})
  })

  it('counts what is not pbm’s, with its bytes, and never makes it a candidate', () => {
    const listing = groupSeries([obj(DB1), obj('site1/live/readme.md', 7), obj('other/thing', 5)])
    expect(listing.foreign).to.deep.equal({count: 2, bytes: 12})
    expect(listing.series.flatMap((s) => s.entries.map((e) => e.key))).to.deep.equal([DB1])
  })

  it('filters by site.env and by element; what it leaves out is counted apart from foreign keys', () => {
    const all = [obj(DB1), obj(DB2), obj(CODE1), obj(DEV1), obj(OTHER), obj('junk')]
    const bySite = groupSeries(all, {targets: [{site: 'site1', env: 'live'}]})
    expect(bySite.series.map((s) => s.element)).to.deep.equal(['code', 'database'])
    expect(bySite.unselected).to.equal(2)
    expect(bySite.foreign.count).to.equal(1)
    const byElement = groupSeries(all, {elements: ['database']})
    expect(byElement.series.map((s) => `${s.env}:${s.element}`)).to.deep.equal(['dev:database', 'live:database'])
    expect(byElement.unselected).to.equal(2)
    const both = groupSeries(all, {targets: [{site: 'site1', env: 'dev'}], elements: ['code']})
    expect(both.series).to.deep.equal([])
    expect(both.unselected).to.equal(5)
  })

  it('collects page by page to the same result', () => {
    const collector = new SeriesCollector()
    collector.add([obj(DB3, 3), obj('x')])
    collector.add([obj(DB1, 1)])
    collector.add([])
    collector.add([obj(DB2, 2)])
    expect(collector.result()).to.deep.equal(groupSeries([obj(DB1, 1), obj(DB2, 2), obj(DB3, 3), obj('x')]))
  })
})

describe('plan/prune: a policy over every series', () => {
  it('keeps with reasons, removes the rest, and sums what is freed', () => {
    const listing = groupSeries([obj(DB1, 10), obj(DB2, 20), obj(DB3, 30), obj(CODE1, 5), obj('foreign', 1)])
    const plan = planPrune(listing, parsePolicy({keepLast: 1}), {now: new Date('2024-06-01T00:00:00Z')})
    expect(
      plan.series.map((s) => [s.element, s.keep.map((k) => [k.key, k.reasons]), s.remove.map((r) => r.key)]),
    ).to.deep.equal([
      ['code', [[CODE1, ['last #1']]], []],
      ['database', [[DB3, ['last #1']]], [DB2, DB1]],
    ])
    expect(plan.summary).to.deep.equal({kept: 2, removed: 2, bytesFreed: 30})
    expect(plan.foreign).to.deep.equal({count: 1, bytes: 1})
    expect(plan.series[1].keep[0].rules).to.deep.equal([{rule: 'bucket', bucket: 'last', nth: 1}])
  })
})

function recorded(key: string, size = 100, isRecorded = true): ListedObject & {recorded: boolean} {
  return {...obj(key, size), recorded: isRecorded}
}

/** The series of a listing, each entry's record set from its object (as the prune job does from the inventory). */
function listing(objects: Array<ListedObject & {recorded?: boolean}>): ReturnType<typeof groupSeries> {
  const result = groupSeries(objects)
  for (const s of result.series) {
    for (const e of s.entries) e.recorded = objects.find((o) => o.key === e.key)?.recorded
  }

  return result
}

describe('plan/prune: what is not pbm’s, and what is dated in the future', () => {
  const NOW = new Date('2024-05-04T00:00:00Z')
  const BOGUS = 'site1/live/site1_live_2099-01-01T00-00-00_UTC_database.sql.gz'

  it('an archive without pbm’s record is left alone and counted by no rule: the real newest keeps its place', () => {
    const plan = planPrune(
      listing([recorded(DB1, 10), recorded(DB2, 20), recorded(DB3, 30), recorded(BOGUS, 6, false)]),
      parsePolicy({keepLast: 1}),
      {now: NOW},
    )
    const [db] = plan.series
    expect(db.keep.map((k) => k.key)).to.deep.equal([DB3])
    expect(db.remove.map((r) => r.key)).to.deep.equal([DB2, DB1])
    expect(db.unrecorded.map((e) => e.key)).to.deep.equal([BOGUS])
    expect(plan.unrecorded).to.deep.equal({bytes: 6, count: 1})
    // --include-unrecorded: the bogus one takes part, but as suspect (a day ahead of the clock): kept, not the newest.
    const all = planPrune(listing([recorded(DB3), recorded(BOGUS, 6, false)]), parsePolicy({keepLast: 1}), {
      includeUnrecorded: true,
      now: NOW,
    })
    expect(all.series[0].keep.map((k) => [k.key, k.reasons])).to.deep.equal([
      [BOGUS, ['dated in the future: not trusted, kept']],
      [DB3, ['last #1']],
    ])
    expect(all.series[0].suspect.map((e) => e.key)).to.deep.equal([BOGUS])
    expect(all.unrecorded.count).to.equal(0)
  })
})
