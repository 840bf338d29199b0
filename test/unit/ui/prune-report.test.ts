import {expect} from 'chai'

import type {JobEvent} from '../../../src/jobs/events.js'
import type {PruneResult} from '../../../src/jobs/prune.js'

import {lockReason, pruneExitCode} from '../../../src/jobs/prune.js'
import {jsonLogRenderer} from '../../../src/ui/jsonlog.js'
import {lineRenderer} from '../../../src/ui/lines.js'
import {formatPrunePlan, formatPruneStopped, formatPruneTotals, reportPrune} from '../../../src/ui/prune-report.js'

const target = {env: 'live', site: 'alpha'}
const file = (stamp: string) => `alpha_live_${stamp}_UTC_database.sql.gz`
const until = new Date('2030-01-01T00:00:00Z')

function result(overrides: Partial<PruneResult> = {}): PruneResult {
  return {
    dryRun: false,
    foreign: {bytes: 10, count: 1},
    leftovers: [],
    location: 's3://b/p/',
    policy: 'keep 2 daily backups',
    series: [
      {
        element: 'database',
        env: 'live',
        keep: [
          {
            date: new Date('2024-03-20T03:00:00Z'),
            file: file('2024-03-20T03-00-00'),
            reasons: ['daily #1'],
            bytes: 5,
            location: 's3://b/x',
          },
          {
            date: new Date('2024-03-18T03:00:00Z'),
            file: file('2024-03-18T03-00-00'),
            locked: {mode: 'COMPLIANCE', until},
            reasons: [lockReason({mode: 'COMPLIANCE', until})],
            bytes: 5,
            location: 's3://b/x',
          },
        ],
        remove: [
          {
            date: new Date('2024-03-19T03:00:00Z'),
            deleteMarker: true,
            file: file('2024-03-19T03-00-00'),
            bytes: 2048,
            location: 's3://b/x',
            status: 'removed',
          },
          {
            date: new Date('2024-03-17T03:00:00Z'),
            error: {code: 'AccessDenied', message: 'Access Denied'},
            file: file('2024-03-17T03-00-00'),
            bytes: 5,
            location: 's3://b/x',
            status: 'failed',
          },
        ],
        site: 'alpha',
        suspect: [],
        unrecorded: 0,
      },
    ],
    summary: {
      bytesFreed: 2048,
      deleteMarkers: 1,
      failed: 1,
      kept: 2,
      leftovers: 0,
      locked: 1,
      removed: 1,
      suspect: 0,
      unrecorded: 0,
    },
    unrecorded: {bytes: 0, count: 0},
    unselected: 0,
    ...overrides,
  }
}

describe('prune report', () => {
  it('lists each backup of a series newest first, kept with its reasons or removed with its fate', () => {
    const lines = formatPrunePlan(result()).split('\n')
    expect(lines[0]).to.equal('s3://b/p/: keep 2 daily backups')
    expect(lines[2]).to.equal('alpha.live database: keep 2, remove 2')
    expect(lines[3]).to.match(/^ {2}keep {4}2024-03-20 03:00:00 UTC {2}alpha_live_2024-03-20\S+ {2}daily #1$/)
    expect(lines[4]).to.match(/^ {2}remove .*2024-03-19.* removed \(delete marker written; /)
    expect(lines[5]).to.match(/keep .*2024-03-18.* locked until 2030-01-01T00:00:00\.000Z \(COMPLIANCE\)$/)
    expect(lines[6]).to.match(/failed .*2024-03-17.* Access Denied$/)
  })

  it('totals: removed and freed, locked, delete markers, failed, foreign; or what would be removed', () => {
    expect(formatPruneTotals(result())).to.equal(
      "kept 2, removed 1 (2.0 kB freed), 1 locked, 1 delete marker written, 1 failed; 1 object not pbm's left alone",
    )
    const dry = result({
      dryRun: true,
      summary: {
        bytesFreed: 0,
        bytesWouldFree: 10,
        deleteMarkers: 0,
        failed: 0,
        kept: 2,
        leftovers: 0,
        locked: 0,
        removed: 0,
        suspect: 0,
        unrecorded: 0,
        wouldRemove: 2,
      },
    })
    expect(formatPruneTotals(dry)).to.match(/^kept 2, would remove 2 \(10 B\); /)
    expect(formatPruneStopped(dry)).to.equal('Dry run: nothing was removed.')
    expect(formatPrunePlan(dry).split('\n')[2]).to.equal('alpha.live database: keep 2, would remove 2')
    // What is not pbm's, and what is not trusted, in the totals.
    const odd = result({
      summary: {...result().summary, suspect: 1, unrecorded: 2},
      unrecorded: {bytes: 12, count: 2},
    })
    expect(formatPruneTotals(odd)).to.equal(
      "kept 2, removed 1 (2.0 kB freed), 1 locked, 1 delete marker written, 1 failed, 1 dated in the future (kept, not trusted); 3 objects not pbm's left alone (2 named like backups but without pbm's record; --include-unrecorded counts them)",
    )
    const stopped = result({stopped: {maxDelete: 1, reason: 'max-delete'}})
    expect(formatPruneStopped(stopped)).to.match(/more than --max-delete 1\. Nothing was removed\.$/)
    expect(pruneExitCode(stopped)).to.equal(1)
    expect(pruneExitCode(result())).to.equal(1)
    expect(pruneExitCode(result({summary: {...result().summary, failed: 0}}))).to.equal(0)
    expect(
      pruneExitCode(result({stopped: {reason: 'not-confirmed'}, summary: {...result().summary, failed: 0}})),
    ).to.equal(0)
  })

  it('reportPrune: failures on stderr; the plan left out when it was shown before the question and all went well', () => {
    const out: string[] = []
    const err: string[] = []
    reportPrune({error: (l) => err.push(l), log: (l) => out.push(l)}, result())
    expect(err).to.deep.equal([`✖ alpha.live database: ${file('2024-03-17T03-00-00')} not removed: Access Denied`])
    const clean = result({
      series: [],
      summary: {
        bytesFreed: 0,
        deleteMarkers: 0,
        failed: 0,
        kept: 0,
        leftovers: 0,
        locked: 0,
        removed: 0,
        suspect: 0,
        unrecorded: 0,
      },
    })
    const shown: string[] = []
    reportPrune({error() {}, log: (l) => shown.push(l)}, clean, {planShown: true})
    expect(shown).to.deep.equal(["kept 0, removed 0 (0 B freed), 0 failed; 1 object not pbm's left alone"])
  })
})

describe('prune events', () => {
  const events: JobEvent[] = [
    {archives: 4, foreign: 1, listed: 5, location: 's3://b/p/', series: 1, type: 'prune:listed'},
    {element: 'database', kept: 2, removed: 2, target, type: 'prune:planned'},
    {deleteMarker: false, element: 'database', file: file('2024-03-19T03-00-00'), target, type: 'prune:removed'},
    {element: 'database', file: file('2024-03-18T03-00-00'), target, type: 'prune:locked', until},
    {
      element: 'database',
      error: {code: 'AccessDenied', message: 'Access Denied'},
      file: file('2024-03-17T03-00-00'),
      target,
      type: 'prune:failed',
    },
    {location: 's3://b/p/', summary: result().summary, type: 'prune:summary'},
  ]

  it('lines: the listing, each series, locked and failed objects (removals are in the report)', () => {
    const lines: string[] = []
    const renderer = lineRenderer({progressEveryMs: 1000, write: (l) => lines.push(l)})
    for (const e of events) renderer.emit(e)
    expect(lines).to.deep.equal([
      "❯ s3://b/p/: 5 objects listed, 4 backups in 1 series, 1 not pbm's (left alone)",
      '  alpha.live database: keep 2, remove 2',
      `- alpha.live database: kept ${file('2024-03-18T03-00-00')}, locked until 2030-01-01T00:00:00.000Z`,
      `✖ alpha.live database: ${file('2024-03-17T03-00-00')} not removed: Access Denied`,
    ])
  })

  it('JSON log: one flat record per event, locked as a warning, failures and a failed summary as errors', () => {
    const records: Array<Record<string, unknown>> = []
    const renderer = jsonLogRenderer({
      now: () => new Date('2024-03-21T00:00:00Z'),
      progressEveryMs: 1000,
      write: (l) => records.push(JSON.parse(l) as Record<string, unknown>),
    })
    for (const e of events) renderer.emit(e)
    expect(records.map((r) => [r.event, r.level])).to.deep.equal([
      ['prune:listed', 'info'],
      ['prune:planned', 'info'],
      ['prune:removed', 'info'],
      ['prune:locked', 'warn'],
      ['prune:failed', 'error'],
      ['prune:summary', 'error'],
    ])
    expect(records[3]).to.include({element: 'database', env: 'live', site: 'alpha', until: '2030-01-01T00:00:00.000Z'})
    expect(records[4]).to.include({code: 'AccessDenied', file: file('2024-03-17T03-00-00')})
    expect(records[5]).to.include({failed: 1, kept: 2, locked: 1, location: 's3://b/p/', removed: 1})
  })
})
