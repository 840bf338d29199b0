import {expect} from 'chai'

import type {ArchiveResult} from '../../../src/jobs/results.js'

import {backupsFromList, groupIntoSets} from '../../../src/catalog/index.js'
import {summarize} from '../../../src/jobs/results.js'
import {describeArchives, describeSets} from '../../../src/ui/backup-list.js'
import {displayWidth} from '../../../src/ui/fit.js'
import {describePlan, formatSummary} from '../../../src/ui/report.js'
import {listJson} from '../../helpers/backups.js'

const NOW = new Date('2026-12-07T03:00:00Z')
const finishing = {code: 31, database: 114, files: 94}
const list = listJson('alpha', 'live', [
  {date: '2026-12-01T03:00:00Z', finishedAfter: finishing, initiator: 'automated'},
  {date: '2026-12-05T03:00:00Z', finishedAfter: finishing},
])
// Terminus's sizes are MiB: 143.1MB is 150,052,454 bytes, shown as the 150 MB an S3 console shows.
for (const [id, entry] of Object.entries(list) as Array<[string, {size: string}]>) {
  entry.size = id.endsWith('_files') ? '143.1MB' : id.endsWith('_code') ? '2.9MB' : '19.1MB'
}

const sets = groupIntoSets(backupsFromList('alpha', 'live', list))

describe("ui: pick's backup list", () => {
  it("shows each set by its filenames' time, not a finish time, with decimal sizes", () => {
    const [newest, older] = describeSets(sets, {now: NOW, timeZone: 'UTC'})
    expect(newest).to.equal(
      '2026-12-05 03:00:00 UTC  manual     code 3.0 MB, files 150 MB, db 20.0 MB  expires in 363 days',
    )
    expect(older).to.match(/^2026-12-01 03:00:00 UTC {2}automated {2}code 3\.0 MB/)
    expect(`${newest}\n${older}`).not.to.match(/03:01:54|03:00:31|MiB|143\.1/)
  })

  it('adds the local time only where it differs from UTC', () => {
    const [line] = describeSets(sets, {now: NOW, timeZone: 'Europe/Berlin'})
    expect(line).to.match(/^2026-12-05 03:00:00 UTC \(04:00 local\) {2}manual/)
  })

  it('fits the terminal (the prompt adds 2 columns), every line the same shape, whole when piped', () => {
    for (let width = 1; width <= 140; width++) {
      const lines = describeSets(sets, {now: NOW, timeZone: 'Europe/Berlin', width})
      expect(
        lines.every((line) => displayWidth(line) + 2 <= Math.max(width, 3)),
        `at ${width}`,
      ).to.equal(true)
      expect(lines).to.have.length(2)
    }

    const at80 = describeSets(sets, {now: NOW, timeZone: 'Europe/Berlin', width: 80})
    expect(at80[0]).to.equal('2026-12-05 03:00:00 UTC  manual     code 3.0 MB, files 150 MB, db 20.0 MB')
    expect(at80[1].indexOf('code')).to.equal(at80[0].indexOf('code'))
    const piped = describeSets(sets, {now: NOW, timeZone: 'Europe/Berlin', width: 0})
    expect(piped[0]).to.include('(04:00 local)').and.include('expires in 363 days')
  })

  it('lists the elements with decimal sizes, names shortened in the middle only at a narrow terminal', () => {
    expect(describeArchives(sets[0])).to.deep.equal([
      'code      alpha_live_2026-12-05T03-00-00_UTC_code.tar.gz      3.0 MB',
      'files     alpha_live_2026-12-05T03-00-00_UTC_files.tar.gz     150 MB',
      'database  alpha_live_2026-12-05T03-00-00_UTC_database.sql.gz  20.0 MB',
    ])
    const narrow = describeArchives(sets[0], 50)
    expect(narrow.every((line) => displayWidth(line) <= 46)).to.equal(true)
    expect(narrow[2]).to.match(/^database {2}alpha_live_\S*…\S*\.sql\.gz {2}20\.0 MB$/)
  })

  it("the plan before the question names the set's time and fits the terminal", () => {
    const plan = describePlan(sets[0].backups, {local: {path: '/tmp/out'}, s3: {bucket: 'pbm-test', prefix: ''}}, 80)
    expect(plan).to.include('3 archives of the backup of 2026-12-05 03:00:00 UTC, about 173 MB,\nto s3://pbm-test/')
    expect(plan).to.include('  files     alpha_live_2026-12-05T03-00-00_UTC_files.tar.gz     150 MB')
    expect(plan.split('\n').every((line) => displayWidth(line) <= 80)).to.equal(true)
    expect(describePlan(sets[0].backups, {s3: {bucket: 'pbm-test', prefix: ''}}, 0)).to.include(
      '3 archives of the backup of 2026-12-05 03:00:00 UTC, about 173 MB, to s3://pbm-test/:',
    )
  })
})

const row = (destination: 'local' | 's3', file: string, bytes: number): ArchiveResult => ({
  bytes,
  date: new Date('2026-12-04T03:00:00Z'),
  destination,
  element: 'files',
  env: 'live',
  file,
  folder: '1796439600_backup',
  location: `${destination}:${file}`,
  status: 'transferred',
  site: 'alpha',
})

describe('ui: a run summary counts each archive once', () => {
  it('150 MB written to S3 and a folder is "150 MB to 2 destinations", not 300 MB', () => {
    const rows = [row('s3', 'a', 100_000_000), row('local', 'a', 100_000_000), row('s3', 'b', 50_000_000)]
    rows.push(row('local', 'b', 50_000_000))
    const summary = summarize(rows, 2)
    expect(summary.bytes).to.equal(150_000_000)
    expect(summary.bytesPerSecond).to.equal(75_000_000)
    expect(formatSummary(summary, 2)).to.equal(
      '4 transferred, 0 skipped, 0 failed; 150 MB to 2 destinations in 2s (75.0 MB/s)',
    )
    expect(formatSummary(summarize([rows[0], rows[2]], 2))).to.equal(
      '2 transferred, 0 skipped, 0 failed; 150 MB in 2s (75.0 MB/s)',
    )
  })
})
