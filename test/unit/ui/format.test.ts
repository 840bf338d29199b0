import {expect} from 'chai'

import type {VerifySummary} from '../../../src/jobs/verify.js'

import {
  formatBytes,
  formatDuration,
  formatExpiry,
  formatLocal,
  formatRate,
  formatUtc,
  progressBar,
  table,
} from '../../../src/ui/format.js'
import {chooseRenderer, lineProgressInterval} from '../../../src/ui/renderer.js'
import {formatResults} from '../../../src/ui/report.js'
import {formatVerifySummary} from '../../../src/ui/verify-report.js'

describe('ui: format', () => {
  it('formats bytes in decimal units, as S3 consoles show them', () => {
    expect(formatBytes(0)).to.equal('0 B')
    expect(formatBytes(999)).to.equal('999 B')
    expect(formatBytes(1000)).to.equal('1.0 kB')
    expect(formatBytes(412_700_000)).to.equal('413 MB')
    expect(formatBytes(41_270_000)).to.equal('41.3 MB')
    expect(formatBytes(2e12)).to.equal('2.0 TB')
    expect(formatBytes(-1)).to.equal('?')
    expect(formatBytes(Number.NaN)).to.equal('?')
  })

  it('formats rates and durations', () => {
    expect(formatRate(12_345_678)).to.equal('12.3 MB/s')
    expect(formatRate()).to.equal('-')
    expect(formatDuration(5.4)).to.equal('5s')
    expect(formatDuration(65)).to.equal('1m 05s')
    expect(formatDuration(3 * 3600 + 7 * 60)).to.equal('3h 07m')
    expect(formatDuration(Number.POSITIVE_INFINITY)).to.equal('-')
  })

  it('formats dates in UTC and in a given zone', () => {
    const d = new Date('2024-05-01T03:12:44Z')
    expect(formatUtc(d)).to.equal('2024-05-01 03:12:44 UTC')
    expect(formatLocal(d, 'Europe/Berlin')).to.equal('2024-05-01 05:12')
    expect(formatLocal(d, 'America/Los_Angeles')).to.equal('2024-04-30 20:12')
  })

  it('says when a backup expires', () => {
    const now = new Date('2024-05-01T00:00:00Z')
    expect(formatExpiry(null, now)).to.equal('')
    expect(formatExpiry(new Date('2024-05-06T00:00:00Z'), now)).to.equal('expires in 5 days')
    expect(formatExpiry(new Date('2024-05-01T03:00:00Z'), now)).to.equal('expires in 3 hours')
    expect(formatExpiry(new Date('2024-05-01T00:01:00Z'), now)).to.equal('expires in 1 minute')
    expect(formatExpiry(new Date('2024-04-29T00:00:00Z'), now)).to.equal('expired 2 days ago')
    expect(formatExpiry(new Date('2024-04-20T00:00:00Z'), now)).to.equal('expired 11 days ago')
  })

  it('draws a bounded progress bar', () => {
    expect(progressBar(0, 4)).to.equal('[....]')
    expect(progressBar(0.5, 4)).to.equal('[##..]')
    expect(progressBar(2, 4)).to.equal('[####]')
    expect(progressBar(Number.NaN, 4)).to.equal('[....]')
  })

  it('pads table columns, ignoring colour codes', () => {
    expect(
      table(
        [
          ['a', 'bb'],
          ['\u001B[31mccc\u001B[39m', 'd'],
        ],
        ['H', 'X'],
      ),
    ).to.equal('H    X\na    bb\n\u001B[31mccc\u001B[39m  d')
  })
})

describe('ui: output mode', () => {
  it('animates only for a person at a real terminal', () => {
    expect(chooseRenderer({}, {}, true)).to.equal('tree')
    expect(chooseRenderer({}, {CI: 'true'}, true)).to.equal('lines')
    expect(chooseRenderer({}, {TERM: 'dumb'}, true)).to.equal('lines')
    expect(chooseRenderer({}, {}, false)).to.equal('lines')
    expect(chooseRenderer({json: true}, {}, true)).to.equal('silent')
    expect(chooseRenderer({quiet: true}, {}, true)).to.equal('silent')
  })

  it('appends progress lines every 5 s by default, or as PBM_PROGRESS_INTERVAL says', () => {
    expect(lineProgressInterval({})).to.equal(5000)
    expect(lineProgressInterval({PBM_PROGRESS_INTERVAL: '1'})).to.equal(1000)
  })
})

describe('ui: result table', () => {
  const row = {
    bytes: 3_000_000,
    date: new Date('2026-11-25T03:00:00Z'),
    destination: 's3' as const,
    element: 'code',
    env: 'live',
    file: 'alpha_live_2026-11-25T03-00-00_UTC_code.tar.gz',
    folder: '1795575600_automated',
    location: 's3://my-backups/alpha/live/alpha_live_2026-11-25T03-00-00_UTC_code.tar.gz',
    md5: '393fc956af5166d507c07efadf4fb7ec',
    site: 'alpha',
    status: 'transferred' as const,
  }

  it('shows whole MD5s when they fit, shortened ones when the terminal is narrow', () => {
    expect(formatResults([row], 0)).to.include('md5 393fc956af5166d507c07efadf4fb7ec')
    const narrow = formatResults([row], 140)
    expect(narrow).to.include('md5 393fc956…')
    expect(narrow.split('\n').every((line) => line.length <= 140)).to.equal(true)
  })

  it('lists failures with their reasons, but not the archives that Ctrl-C stopped', () => {
    const failed = {
      ...row,
      bytes: undefined,
      error: {code: 'corrupt', message: 'gzip data is corrupt'},
      md5: undefined,
      status: 'failed' as const,
    }
    const stopped = {...failed, element: 'files', error: {code: 'interrupted', message: 'Interrupted.'}}
    const text = formatResults([failed, stopped], 0)
    expect(text).to.include(
      '✖ alpha.live code → s3://my-backups/alpha/live/alpha_live_2026-11-25T03-00-00_UTC_code.tar.gz: gzip data is corrupt',
    )
    expect(text).not.to.include('Interrupted.')
  })
})

describe('ui: verify summary line', () => {
  const summary: VerifySummary = {
    bytesRead: 0,
    corrupt: 0,
    deep: false,
    errors: 0,
    foreign: 0,
    gone: 0,
    incomplete: 0,
    missing: 0,
    objectProblems: 0,
    objects: 6,
    ok: 6,
    problems: 0,
    read: 0,
    repaired: 0,
    storeProblems: 0,
    seconds: 1,
    stale: 0,
    targetProblems: 0,
    targets: 2,
    targetsMissing: 0,
    unverifiable: 0,
  }

  it('counts the site.envs of backup:verify', () => {
    expect(formatVerifySummary(summary)).to.equal('6 objects checked; no problems; 2 site.envs in 1s')
    expect(formatVerifySummary({...summary, targets: 1})).to.equal('6 objects checked; no problems; 1 site.env in 1s')
  })

  it('leaves them out for backup:mirror --verify, which checks objects only', () => {
    expect(formatVerifySummary({...summary, targets: 0})).to.equal('6 objects checked; no problems in 1s')
  })

  it('names each kind of problem, and the deep reads with their bytes', () => {
    const deep = {...summary, bytesRead: 2_500_000, corrupt: 1, deep: true, missing: 1, problems: 2, read: 5}
    expect(formatVerifySummary(deep)).to.equal(
      '6 objects checked (5 read back, 2.5 MB); 2 problems: 1 object missing, 1 object corrupt; 2 site.envs in 1s',
    )
  })

  it('counts each problem once, as an object or as a site.env; a site.env gone from Pantheon is no problem', () => {
    const mixed = {
      ...summary,
      gone: 1,
      incomplete: 1,
      missing: 2,
      objectProblems: 2,
      problems: 4,
      stale: 1,
      targetProblems: 2,
      targets: 4,
    }
    expect(formatVerifySummary(mixed)).to.equal(
      '6 objects checked; 4 problems: 2 objects missing, 1 site.env incomplete, 1 site.env stale; 4 site.envs (1 gone from Pantheon, kept in the mirror) in 1s',
    )
  })
})
