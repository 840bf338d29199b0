import {expect} from 'chai'

import type {JobEvent} from '../../../src/jobs/events.js'

import {jsonLogRenderer} from '../../../src/ui/jsonlog.js'
import {lineRenderer} from '../../../src/ui/lines.js'

const target = {env: 'live', site: 'alpha'}
const archive = {
  ...target,
  date: new Date('2024-05-01T03:12:44Z'),
  element: 'database',
  file: 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz',
  folder: '1714533164_backup',
}
const row = {
  ...archive,
  bytes: 3072,
  destination: 's3' as const,
  location: 's3://b/alpha/live/x',
  md5: 'a'.repeat(32),
  status: 'transferred' as const,
}

/** A run's events, as the mirror job emits them for one site.env with one archive. */
const run: JobEvent[] = [
  {command: 'mirror', create: true, targets: [target], type: 'run:started'},
  {target, type: 'backup:creating'},
  {seconds: 21, target, type: 'backup:created'},
  {target, type: 'target:started'},
  {archives: [archive], newest: new Date('2024-05-01T03:12:44Z'), older: false, target, type: 'backups:chosen'},
  {archive, type: 'archive:queued'},
  {archive, type: 'archive:started'},
  {archive, progress: {bytes: 0, phase: 'checking'}, type: 'archive:progress'},
  {
    archive,
    progress: {bytes: 1024, phase: 'downloading', rateBytesPerSec: 512.4, total: 3072},
    type: 'archive:progress',
  },
  {archive, note: 'connection dropped at 1.0 KB, resuming (retry 1 of 5)', type: 'archive:resumed'},
  {archive, rows: [row], skipped: false, type: 'archive:done'},
  {status: 'mirrored', target, type: 'target:done'},
  {target: {env: 'dev', site: 'ice'}, reason: 'the site is frozen', type: 'target:skipped'},
  {
    error: {code: 'unknown-env', message: 'Could not find an environment identified by stage.'},
    target: {env: 'stage', site: 'alpha'},
    type: 'target:failed',
  },
  {
    summary: {
      bytes: 3072,
      bytesPerSecond: 100,
      failed: 1,
      interrupted: 0,
      partialsKept: 0,
      planned: 0,
      seconds: 30,
      skipped: 0,
      transferred: 1,
    },
    type: 'run:summary',
  },
]

describe('ui: line renderer', () => {
  it('names the site.env on every line it writes', () => {
    const lines: string[] = []
    const renderer = lineRenderer({progressEveryMs: 0, write: (l) => lines.push(l)})
    for (const e of run) renderer.emit(e)
    expect(lines.length).to.be.greaterThan(8)
    for (const line of lines) expect(line).to.match(/\b(alpha\.live|ice\.dev|alpha\.stage)\b/)
    expect(lines).to.include('✔ alpha.live: backup created in 21s')
    expect(lines.some((l) => l.startsWith('✔ alpha.live database:') && l.includes('verified'))).to.equal(true)
    expect(lines).to.include('- ice.dev: skipped, the site is frozen')
    expect(lines.some((l) => l.startsWith('✖ alpha.stage:'))).to.equal(true)
    // A progress line before any byte moved says nothing: it is left out.
    expect(lines.filter((l) => l.includes('0 B /'))).to.deep.equal([])
  })

  it('throttles progress per archive', () => {
    const lines: string[] = []
    const renderer = lineRenderer({progressEveryMs: 60_000, write: (l) => lines.push(l)})
    renderer.emit({archive, type: 'archive:started'})
    for (let i = 1; i <= 5; i++) {
      renderer.emit({archive, progress: {bytes: i * 100, phase: 'downloading', total: 3072}, type: 'archive:progress'})
    }

    expect(lines).to.have.length(1)
  })
})

describe('ui: JSON-lines log', () => {
  it('writes one parseable object per event, with site, env and file where there is one', () => {
    const lines: string[] = []
    const renderer = jsonLogRenderer({
      now: () => new Date('2026-11-29T00:00:00Z'),
      progressEveryMs: 0,
      write: (l) => lines.push(l),
    })
    for (const e of run) renderer.emit(e)
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    // Every event but the non-downloading progress one.
    expect(records.map((r) => r.event)).to.deep.equal(run.filter((e) => e !== run[7]).map((e) => e.type))
    for (const r of records) expect(r.time).to.equal('2026-11-29T00:00:00.000Z')
    const progress = records.find((r) => r.event === 'archive:progress')
    expect(progress).to.include({bytes: 1024, env: 'live', file: archive.file, rate: 512, site: 'alpha', total: 3072})
    expect(records.find((r) => r.event === 'archive:done')).to.include({
      bytes: 3072,
      md5: 'a'.repeat(32),
      message: 'verified',
    })
    expect(records.find((r) => r.event === 'target:failed')).to.include({
      code: 'unknown-env',
      level: 'error',
      site: 'alpha',
    })
    expect(records.find((r) => r.event === 'archive:resumed')).to.include({level: 'warn'})
    expect(records.at(-1)).to.include({event: 'run:summary', failed: 1, level: 'error', transferred: 1})
  })
})

describe('ui: a swept restore stage', () => {
  const where =
    's3://scratch/tmp/pbm-stage-1767268800000-0123456789ab-alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'
  const expiredAt = new Date('2026-01-01T12:30:00Z')
  const events: JobEvent[] = [
    {expiredAt, type: 'stage:swept', where},
    {
      error: {code: 'stage-not-removed', message: `The expired restore stage ${where} could not be deleted.`},
      expiredAt,
      type: 'stage:swept',
      where,
    },
  ]

  it('as lines: what was deleted and when its URL expired; a failure as a warning', () => {
    const lines: string[] = []
    const renderer = lineRenderer({progressEveryMs: 0, write: (l) => lines.push(l)})
    for (const e of events) renderer.emit(e)
    expect(lines).to.deep.equal([
      `- deleted the restore stage ${where}, left by an earlier run (its URL expired 2026-01-01 12:30:00 UTC)`,
      `! The expired restore stage ${where} could not be deleted.`,
    ])
  })

  it('as JSON lines: where and expiredAt; a failure at level warn with its code', () => {
    const lines: string[] = []
    const renderer = jsonLogRenderer({progressEveryMs: 0, write: (l) => lines.push(l)})
    for (const e of events) renderer.emit(e)
    const [done, failed] = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(done).to.include({event: 'stage:swept', expiredAt: expiredAt.toISOString(), where})
    expect(failed).to.include({code: 'stage-not-removed', event: 'stage:swept', level: 'warn', where})
  })
})
