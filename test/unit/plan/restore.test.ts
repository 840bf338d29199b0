import {expect} from 'chai'

import {PbmError, UsageError} from '../../../src/errors.js'
import {
  backupsFromMirror,
  checkImportSize,
  manualRoute,
  type MirroredArchive,
  mirrorSetsNewestFirst,
  restorableElements,
  selectForRestore,
  URL_IMPORT_LIMIT_BYTES,
} from '../../../src/plan/restore.js'

const f = (stamp: string, element: string) =>
  `alpha_live_${stamp}_UTC_${element}.${element === 'database' ? 'sql.gz' : 'tar.gz'}`

// Three runs: a full manual one, a newer automated one (pbm's metadata says so), a newest db-only one;
// plus objects that are not this site.env's archives.
const mirror: MirroredArchive[] = [
  {file: f('2024-05-01T03-12-44', 'code'), size: 100},
  {file: f('2024-05-01T03-12-44', 'files'), size: 2000},
  {file: f('2024-05-01T03-12-44', 'database'), size: 300},
  {file: f('2024-05-03T03-00-00', 'code'), size: 110, folder: '1714705200_automated'},
  {file: f('2024-05-03T03-00-00', 'files'), size: 2100, folder: '1714705200_automated'},
  {file: f('2024-05-03T03-00-00', 'database'), size: 310, folder: '1714705200_automated'},
  {file: f('2024-05-04T10-00-00', 'database'), size: 320},
  {file: 'beta_live_2024-05-05T00-00-00_UTC_database.sql.gz', size: 1},
  {file: 'alpha_dev_2024-05-05T00-00-00_UTC_database.sql.gz', size: 1},
  {file: 'notes.txt', size: 1},
]

describe('plan: restore', () => {
  describe('restorableElements', () => {
    it('normalizes db, dedupes, and orders files before database', () => {
      expect(restorableElements(['db', 'files', 'database'])).to.deep.equal(['files', 'database'])
      expect(restorableElements(['database'])).to.deep.equal(['database'])
      expect(restorableElements([])).to.deep.equal([])
    })

    it('refuses code, saying where code lives and how to restore it', () => {
      expect(() => restorableElements(['db', 'code']))
        .to.throw(UsageError, /code lives in the site’s Git repository/)
        .with.property('hint')
        .that.includes('terminus backup:restore <site>.<env> --element=code')
    })

    it('refuses an element that is none', () => {
      expect(() => restorableElements(['tables'])).to.throw(PbmError)
    })
  })

  describe('checkImportSize and the manual route', () => {
    const target = {site: 'alpha', env: 'dev'}

    it('is 500 MiB, and lets an archive of exactly the limit through', () => {
      expect(URL_IMPORT_LIMIT_BYTES).to.equal(524_288_000)
      expect(() =>
        checkImportSize({element: 'database', file: 'a.sql.gz', size: URL_IMPORT_LIMIT_BYTES}, target),
      ).not.to.throw()
    })

    it('refuses one byte more, with the manual route for the database as the hint', () => {
      const tooBig = {element: 'database' as const, file: 'a.sql.gz', size: URL_IMPORT_LIMIT_BYTES + 1}
      expect(() => checkImportSize(tooBig, target))
        .to.throw(
          PbmError,
          /^a\.sql\.gz is 524288001 bytes; Pantheon imports through a URL only up to 524288000 bytes \(its documented 500MB\)\.$/,
        )
        .with.property('hint')
        .that.includes('gunzip -c a.sql.gz | $(terminus connection:info alpha.dev --field=mysql_command)')
      expect(() => checkImportSize(tooBig, target))
        .to.throw(PbmError)
        .with.property('code', 'import-too-large')
    })

    it('takes another limit, and words the files route with rsync', () => {
      expect(() => checkImportSize({element: 'files', file: 'f.tar.gz', size: 11}, target, 10))
        .to.throw(PbmError)
        .with.property('hint')
        .that.includes('terminus rsync files/ alpha.dev:files')
      expect(manualRoute(target, 'files', 'f.tar.gz')).to.include('tar -xzf f.tar.gz')
      expect(manualRoute(target, 'database', 'd.sql.gz')).not.to.include('rsync')
    })
  })

  describe('the mirror listing as backups', () => {
    it('keeps only this site.env’s Pantheon archives, with exact sizes and recorded folders', () => {
      const list = backupsFromMirror('alpha', 'live', mirror)
      expect(list).to.have.length(7)
      const automated = list.find((b) => b.file === f('2024-05-03T03-00-00', 'files'))!
      expect(automated).to.include({folder: '1714705200_automated', initiator: 'automated', sizeBytes: 2100})
      expect(automated.id).to.equal('1714705200_automated_files')
      const manual = list.find((b) => b.file === f('2024-05-01T03-12-44', 'database'))!
      expect(manual).to.include({folder: '1714533164_backup', initiator: 'manual', element: 'database'})
      expect(manual.date.toISOString()).to.equal('2024-05-01T03:12:44.000Z')
    })

    it('lists sets newest first, without code', () => {
      const sets = mirrorSetsNewestFirst('alpha', 'live', mirror)
      expect(sets.map((s) => s.folder)).to.deep.equal([
        '1714816800_backup',
        '1714705200_automated',
        '1714533164_backup',
      ])
      expect(sets[1].backups.map((b) => b.element)).to.deep.equal(['files', 'database'])
    })
  })

  describe('selectForRestore', () => {
    it('--latest: the newest archive of each element, so a newer db-only run does not hide the files', () => {
      const chosen = selectForRestore('alpha', 'live', mirror, {latest: true}, ['files', 'database'])
      expect(chosen.map((b) => b.file)).to.deep.equal([
        f('2024-05-03T03-00-00', 'files'),
        f('2024-05-04T10-00-00', 'database'),
      ])
    })

    it('--latest with no elements named: the newest run, whatever it holds (never code)', () => {
      expect(selectForRestore('alpha', 'live', mirror, {latest: true}, []).map((b) => b.file)).to.deep.equal([
        f('2024-05-04T10-00-00', 'database'),
      ])
    })

    it('--at: the newest at or before the date (a bare date is the whole day)', () => {
      const chosen = selectForRestore('alpha', 'live', mirror, {at: new Date('2024-05-01T23:59:59.999Z')}, ['database'])
      expect(chosen.map((b) => b.file)).to.deep.equal([f('2024-05-01T03-12-44', 'database')])
      expect(() => selectForRestore('alpha', 'live', mirror, {at: new Date('2024-04-01T00:00:00Z')}, ['database']))
        .to.throw(PbmError)
        .with.property('code', 'no-backups')
    })

    it('--file: exactly that archive (or catalog ID), with a did-you-mean when unknown', () => {
      expect(
        selectForRestore('alpha', 'live', mirror, {files: ['1714705200_automated_database']}, []).map((b) => b.file),
      ).to.deep.equal([f('2024-05-03T03-00-00', 'database')])
      expect(() =>
        selectForRestore('alpha', 'live', mirror, {files: ['alpha_live_2024-05-03T03-00-00_UTC_database.sql']}, []),
      )
        .to.throw(PbmError)
        .with.property('hint')
        .that.includes(f('2024-05-03T03-00-00', 'database'))
    })

    it('--file naming a code archive is refused like --element code', () => {
      expect(() => selectForRestore('alpha', 'live', mirror, {files: [f('2024-05-01T03-12-44', 'code')]}, [])).to.throw(
        UsageError,
        /code lives in the site’s Git repository/,
      )
    })

    it('an empty mirror: no-backups', () => {
      expect(() => selectForRestore('alpha', 'live', [], {latest: true}, ['database']))
        .to.throw(PbmError)
        .with.property('code', 'no-backups')
    })
  })
})
