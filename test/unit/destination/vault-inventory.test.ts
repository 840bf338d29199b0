import {expect} from 'chai'

import type {Snapshot} from '../../../src/restic/index.js'

import {subsetOf, vaultContents, vaultLeftovers} from '../../../src/destination/vault-inventory.js'

const NOW = new Date('2026-01-10T12:00:00.000Z')
const LEASE = 90_000
const DB = 'alpha_live_2026-01-09T03-00-00_UTC_database.sql.gz'
const DB_OLD = 'alpha_live_2026-01-08T03-00-00_UTC_database.sql.gz'
let n = 0

/** A snapshot with a fresh 64-hex ID. */
function snap(tags: string[], paths = ['/alpha/live/database.sql']): Snapshot {
  n++
  const id = n.toString(16).padStart(8, '0').repeat(8)
  return {hostname: 'pbm', id, paths, tags, time: new Date('2026-01-09T03:00:00Z')}
}

function data(file: string, started: Date, site = 'alpha'): Snapshot {
  return snap([
    'pbm',
    `site=${site}`,
    'env=live',
    'element=database',
    `file=${file}`,
    'folder=1767927600_backup',
    `started=${started.toISOString()}`,
    'size=100',
  ])
}

function record(of: Snapshot, file: string): Snapshot {
  return snap(
    [
      'pbm',
      'site=alpha',
      'env=live',
      'element=database',
      `file=${file}`,
      'pbm-record',
      `of=${of.id.slice(0, 8)}`,
      'sha256=ab',
    ],
    ['/alpha/live/database.pbm.json'],
  )
}

const ago = (ms: number) => new Date(NOW.getTime() - ms)

describe('vault inventory: what a vault holds, and which snapshots are pbm leftovers', () => {
  it("sorts archives (data + record), orphans, dangling records and snapshots not pbm's", () => {
    const complete = data(DB, ago(3_600_000))
    const itsRecord = record(complete, DB)
    const orphan = data(DB_OLD, ago(3_600_000))
    const gone = data(DB_OLD, ago(3_600_000))
    const dangling = record(gone, DB_OLD)
    const lookalike = snap(['site=alpha', 'env=live', 'element=database', `file=${DB}`, 'folder=1767927600_backup'])
    const someone = snap(['nightly'], ['/etc'])
    const contents = vaultContents([complete, itsRecord, orphan, dangling, lookalike, someone])
    expect([...contents.archives.keys()]).to.deep.equal([`alpha/live/${DB}`])
    expect(contents.snapshotsOf.get(`alpha/live/${DB}`)!.map((s) => s.id)).to.deep.equal([complete.id, itsRecord.id])
    expect(contents.orphans.map((o) => o.snapshot.id)).to.deep.equal([orphan.id])
    expect(contents.dangling.map((s) => s.id)).to.deep.equal([dangling.id])
    expect(contents.foreign.map((s) => s.id)).to.deep.equal([lookalike.id, someone.id])
  })

  it("an unrecorded snapshot is a leftover when stored again with a record, or older than the lease; a younger one may be a running pbm's", () => {
    const complete = data(DB, ago(3_600_000))
    const superseded = data(DB, NOW)
    const old = data(DB_OLD, ago(LEASE + 1000))
    const young = data('alpha_live_2026-01-07T03-00-00_UTC_database.sql.gz', ago(LEASE - 1000))
    const contents = vaultContents([complete, record(complete, DB), superseded, old, young])
    const found = vaultLeftovers(contents, {leaseMs: LEASE, now: NOW})
    expect(found.map((l) => l.snapshot.id)).to.deep.equal([superseded.id, old.id])
    expect(found[0].reason).to.match(/was stored again, with its record, as [\da-f]{8}/)
    expect(found[1].reason).to.match(/its run began 91 s ago \(longer than the 90 s lease\)/)
  })

  it('a record whose data snapshot is gone is a leftover; the filter keeps other site.envs and elements out', () => {
    const gone = data(DB, ago(3_600_000))
    const dangling = record(gone, DB)
    const bravo = data('bravo_live_2026-01-09T03-00-00_UTC_database.sql.gz', ago(3_600_000), 'bravo')
    const contents = vaultContents([dangling, bravo])
    expect(vaultLeftovers(contents, {leaseMs: LEASE, now: NOW}).map((l) => l.snapshot.id)).to.deep.equal([
      bravo.id,
      dangling.id,
    ])
    const alphaOnly = vaultLeftovers(contents, {leaseMs: LEASE, now: NOW, targets: [{env: 'live', site: 'alpha'}]})
    expect(alphaOnly.map((l) => l.snapshot.id)).to.deep.equal([dangling.id])
    expect(alphaOnly[0].reason).to.match(/no longer in the vault/)
    expect(vaultLeftovers(contents, {elements: ['files'], leaseMs: LEASE, now: NOW})).to.deep.equal([])
  })

  it('--sample as restic check --read-data-subset: the same slice of packs, or share', () => {
    expect(subsetOf('none')).to.equal(undefined)
    expect(subsetOf('all')).to.equal('1/1')
    expect(subsetOf({index: 3, of: 7})).to.equal('3/7')
    expect(subsetOf({percent: 12.5})).to.equal('12.5%')
  })
})
