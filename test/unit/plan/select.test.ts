import {expect} from 'chai'

import {PbmError} from '../../../src/errors.js'
import {hasBackupChoice, parseSinceInput, selectBackups, selectForMirror} from '../../../src/plan/select.js'
import {backups} from '../../helpers/backups.js'

const list = backups('alpha', 'live', [
  {date: '2024-05-01T03:12:44Z'},
  {date: '2024-05-03T03:00:00Z', initiator: 'automated'},
  {date: '2024-05-02T10:00:00Z', elements: ['database']},
])

describe('plan: selectBackups (backup:pick)', () => {
  it('takes the newest set with --latest, code, files, database in order', () => {
    const chosen = selectBackups(list, {latest: true})
    expect(chosen.map((b) => b.element)).to.deep.equal(['code', 'files', 'database'])
    expect(chosen.every((b) => b.folder.endsWith('_automated'))).to.equal(true)
  })

  it('takes the newest set at or before --at, including the whole day of a bare date', () => {
    expect(selectBackups(list, {at: new Date('2024-05-02T23:59:59.999Z')}).map((b) => b.element)).to.deep.equal([
      'database',
    ])
    expect(selectBackups(list, {at: new Date('2024-05-01T03:12:44.118Z')})[0].file).to.equal(
      'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz',
    )
  })

  // The sets of the newcomer's report: files named 03-00-00, finished a minute or two later.
  const finishing = {code: 31, database: 114, files: 94}
  const december = backups('alpha', 'live', [
    {date: '2026-12-01T03:00:00Z', finishedAfter: finishing},
    {date: '2026-12-05T03:00:00Z', finishedAfter: finishing},
  ])

  it("--at selects by the time in the filenames, not Pantheon's finish time", () => {
    const chosen = selectBackups(december, {at: new Date('2026-12-05T03:00:30Z')})
    expect(chosen.map((b) => b.file)).to.deep.equal([
      'alpha_live_2026-12-05T03-00-00_UTC_code.tar.gz',
      'alpha_live_2026-12-05T03-00-00_UTC_files.tar.gz',
      'alpha_live_2026-12-05T03-00-00_UTC_database.sql.gz',
    ])
    expect(selectBackups(december, {at: new Date('2026-12-05T03:00:00Z')})[0].folder).to.equal(chosen[0].folder)
    expect(selectBackups(december, {at: new Date('2026-12-05T02:59:59Z')})[0].file).to.equal(
      'alpha_live_2026-12-01T03-00-00_UTC_code.tar.gz',
    )
    const code = selectBackups(december, {at: new Date('2026-12-05T03:00:30Z')}, ['database'])
    expect(code.map((b) => b.file)).to.deep.equal(['alpha_live_2026-12-05T03-00-00_UTC_database.sql.gz'])
  })

  it('takes a set whole or not at all, even when its elements finished apart', () => {
    // Between the code's finish (03:00:31) and the database's (03:01:54): the whole 12-05 set.
    const chosen = selectBackups(december, {at: new Date('2026-12-05T03:01:00Z')})
    expect(chosen.map((b) => b.element)).to.deep.equal(['code', 'files', 'database'])
    expect(new Set(chosen.map((b) => b.folder)).size).to.equal(1)
  })

  it('fails with no-backups when nothing finished before --at', () => {
    expect(() => selectBackups(list, {at: new Date('2024-04-01T00:00:00Z')}))
      .to.throw(PbmError, /at or before 2024-04-01/)
      .with.property('code', 'no-backups')
  })

  it('takes the newest archive of each --element, so a newer db-only set does not hide code', () => {
    expect(selectBackups(list, {latest: true}, ['database']).map((b) => b.element)).to.deep.equal(['database'])
    const atNoon = new Date('2024-05-02T12:00:00Z')
    const chosen = selectBackups(list, {at: atNoon}, ['code', 'database'])
    expect(chosen.map((b) => b.file)).to.deep.equal([
      'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz',
      'alpha_live_2024-05-02T10-00-00_UTC_database.sql.gz',
    ])
  })

  it('fails with no-backups naming the element when none was made before --at', () => {
    const dbOnly = backups('alpha', 'live', [{date: '2024-05-02T10:00:00Z', elements: ['database']}])
    expect(() => selectBackups(dbOnly, {latest: true}, ['code']))
      .to.throw(PbmError, /^No code backup of alpha\.live\.$/)
      .with.property('code', 'no-backups')
  })

  it('takes archives by exact filename or catalog ID, once each', () => {
    const db = list.find((b) => b.folder.startsWith('1714644000') && b.element === 'database')!
    const chosen = selectBackups(list, {files: [db.file, db.id, 'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz']})
    expect(chosen.map((b) => b.file)).to.deep.equal([db.file, 'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz'])
  })

  it('names the three nearest filenames when a --file is unknown', () => {
    let error: PbmError | undefined
    try {
      selectBackups(list, {files: ['alpha_live_2024-05-01T03-12-44_UTC_databse.sql.gz']})
    } catch (error_) {
      error = error_ as PbmError
    }

    expect(error?.code).to.equal('unknown-file')
    expect(error?.message).to.equal(
      'Could not find a backup of alpha.live identified by alpha_live_2024-05-01T03-12-44_UTC_databse.sql.gz.',
    )
    expect(error?.hint).to.match(/^Did you mean: alpha_live_2024-05-01T03-12-44_UTC_database\.sql\.gz, /)
    expect(error?.hint?.split(', ')).to.have.length(3)
  })

  it('knows whether a backup was chosen at all', () => {
    expect(hasBackupChoice({})).to.equal(false)
    expect(hasBackupChoice({files: []})).to.equal(false)
    expect(hasBackupChoice({latest: true})).to.equal(true)
    expect(hasBackupChoice({at: new Date()})).to.equal(true)
    expect(hasBackupChoice({files: ['x']})).to.equal(true)
  })
})

describe('plan: selectForMirror (backup:mirror)', () => {
  it('takes the newest set by default, only the wanted elements', () => {
    expect(selectForMirror(list, {elements: ['code', 'database']}).map((b) => b.element)).to.deep.equal([
      'code',
      'database',
    ])
  })

  it('takes the newest set that has a wanted element (a db-only set does not hide code)', () => {
    const chosen = selectForMirror(list, {elements: ['database']})
    expect(chosen).to.have.length(1)
    expect(chosen[0].folder).to.match(/_automated$/)
    const codeOnly = selectForMirror(
      backups('a', 'dev', [
        {date: '2024-05-01T00:00:00Z', elements: ['code']},
        {date: '2024-05-02T00:00:00Z', elements: ['database']},
      ]),
      {elements: ['code']},
    )
    expect(codeOnly.map((b) => b.element)).to.deep.equal(['code'])
  })

  it('takes every listed archive with all, newest first, limited by since', () => {
    expect(selectForMirror(list, {all: true, elements: ['code', 'files', 'database']})).to.have.length(7)
    const since = selectForMirror(list, {all: true, elements: ['database'], since: parseSinceInput('2024-05-02')})
    expect(since.map((b) => b.date.toISOString().slice(0, 10))).to.deep.equal(['2024-05-03', '2024-05-02'])
  })

  it('takes the newest archive of each element, like the seed script, when the newest set is db-only', () => {
    const mixed = backups('alpha', 'live', [
      {date: '2024-05-01T03:00:00Z'},
      {date: '2024-05-02T03:00:00Z', elements: ['database']},
    ])
    expect(selectForMirror(mixed, {elements: ['code', 'files', 'database']}).map((b) => b.file)).to.deep.equal([
      'alpha_live_2024-05-01T03-00-00_UTC_code.tar.gz',
      'alpha_live_2024-05-01T03-00-00_UTC_files.tar.gz',
      'alpha_live_2024-05-02T03-00-00_UTC_database.sql.gz',
    ])
  })

  it('is empty, not an error, when there are no backups', () => {
    expect(selectForMirror([], {elements: ['code']})).to.deep.equal([])
  })
})

describe('plan: parseSinceInput', () => {
  it('reads a bare date as the start of that day (UTC) and a date-time to the second', () => {
    expect(parseSinceInput('2024-05-02').toISOString()).to.equal('2024-05-02T00:00:00.000Z')
    expect(parseSinceInput('2024-05-02T10:20:30Z').toISOString()).to.equal('2024-05-02T10:20:30.000Z')
  })
})

const listEntry = (file: string) => ({date: 1_714_533_290.1, expiry: null, file, initiator: 'manual', size: '0.1MB'})

describe('catalog: names that cannot be files never reach a plan', () => {
  it('leaves out list entries whose filename is a path, a dot name or holds control characters', async () => {
    const {backupsFromList} = await import('../../../src/catalog/index.js')
    const list = backupsFromList('alpha', 'live', {
      '1714533164_backup_code': listEntry('../../etc/alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz'),
      '1714533164_backup_database': listEntry('alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'),
      '1714533164_backup_files': listEntry('alpha_live_\u001B[2J_UTC_files.tar.gz'),
    })
    expect(list.map((b) => b.file)).to.deep.equal(['alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'])
  })
})
