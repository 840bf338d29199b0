import {expect} from 'chai'

import {
  checkExtension,
  elementFromSuffix,
  extensionFor,
  normalizeElement,
  parseCatalogId,
  parseFilename,
} from '../../../src/catalog/index.js'
import {PbmError, UsageError} from '../../../src/errors.js'

describe('catalog: parseFilename', () => {
  it('parses a current filename', () => {
    expect(parseFilename('mysite_live_2024-05-01T03-12-44_UTC_database.sql.gz')).to.deep.equal({
      site: 'mysite',
      env: 'live',
      date: new Date('2024-05-01T03:12:44Z'),
      element: 'database',
      extension: '.sql.gz',
    })
  })

  it('parses code and files archives', () => {
    expect(parseFilename('mysite_dev_2023-12-31T23-59-59_UTC_code.tar.gz')).to.include({
      site: 'mysite',
      env: 'dev',
      element: 'code',
      extension: '.tar.gz',
    })
    expect(parseFilename('mysite_test_2024-01-01T00-00-00_UTC_files.tar.gz')?.element).to.equal('files')
  })

  it('parses very old filenames without an env', () => {
    const parsed = parseFilename('oldsite_2014-03-02T10-00-00_UTC_files.tar.gz')
    expect(parsed).to.deep.equal({
      site: 'oldsite',
      date: new Date('2014-03-02T10:00:00Z'),
      element: 'files',
      extension: '.tar.gz',
    })
    expect(parsed).not.to.have.property('env')
  })

  it('parses sites with hyphens and digits and multidev envs', () => {
    expect(parseFilename('my-site-2_pr-12_2024-05-01T03-12-44_UTC_code.tar.gz')).to.include({
      site: 'my-site-2',
      env: 'pr-12',
    })
    expect(parseFilename('42_2024-05-01T03-12-44_UTC_code.tar.gz')).to.include({site: '42'})
    expect(parseFilename('a-b_c-d-1_2024-05-01T03-12-44_UTC_database.sql.gz')).to.include({site: 'a-b', env: 'c-d-1'})
  })

  it('keeps a wrong extension for checkExtension to refuse', () => {
    expect(parseFilename('s_live_2024-05-01T03-12-44_UTC_database.tar.gz')).to.include({
      element: 'database',
      extension: '.tar.gz',
    })
    expect(parseFilename('s_live_2024-05-01T03-12-44_UTC_code.tgz')?.extension).to.equal('.tgz')
  })

  for (const bad of [
    '',
    'mysite_live_2024-05-01T03-12-44_UTC_database',
    'mysite_live_2024-05-01T03-12-44_database.sql.gz',
    'mysite_live_2024-05-01_UTC_database.sql.gz',
    'mysite_live_2024-05-01T03:12:44_UTC_database.sql.gz',
    'mysite_live_2024-05-01T03-12-44_UTC_db.sql.gz',
    'mysite_live_2024-05-01T03-12-44_UTC_all.tar.gz',
    'mysite_live_2024-13-01T03-12-44_UTC_code.tar.gz',
    'mysite_live_2024-02-30T03-12-44_UTC_code.tar.gz',
    'mysite_live_2024-05-01T24-00-00_UTC_code.tar.gz',
    'mysite_live_2024-05-01T03-60-00_UTC_code.tar.gz',
    'a_b_c_2024-05-01T03-12-44_UTC_code.tar.gz',
    '_live_2024-05-01T03-12-44_UTC_code.tar.gz',
    'site__2024-05-01T03-12-44_UTC_code.tar.gz',
    '../x_live_2024-05-01T03-12-44_UTC_code.tar.gz',
    'MySite_live_2024-05-01T03-12-44_UTC_code.tar.gz',
    'mysite_live_2024-05-01T03-12-44_UTC_code.tar.gz.',
    'mysite_live_2024-05-01T03-12-44_UTC_code.tar.gz/..',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      expect(parseFilename(bad)).to.equal(undefined)
    })
  }

  it('accepts leap days', () => {
    expect(parseFilename('s_live_2024-02-29T00-00-00_UTC_code.tar.gz')?.date.toISOString()).to.equal(
      '2024-02-29T00:00:00.000Z',
    )
    expect(parseFilename('s_live_2023-02-29T00-00-00_UTC_code.tar.gz')).to.equal(undefined)
  })
})

describe('catalog: parseCatalogId', () => {
  it('parses manual and automated IDs', () => {
    expect(parseCatalogId('1714533164_backup_database')).to.deep.equal({
      folder: '1714533164_backup',
      epoch: 1714533164,
      initiator: 'manual',
      element: 'database',
    })
    expect(parseCatalogId('1714446000_automated_files')).to.deep.equal({
      folder: '1714446000_automated',
      epoch: 1714446000,
      initiator: 'automated',
      element: 'files',
    })
  })

  for (const bad of [
    '',
    '1714533164_backup',
    '1714533164_backup_db',
    'x_backup_code',
    '1714533164_manual_code',
    '1714533164_backup_code_x',
    ' 1714533164_backup_code',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      expect(parseCatalogId(bad)).to.equal(undefined)
    })
  }
})

describe('catalog: elements and extensions', () => {
  it('normalizes element names', () => {
    expect(normalizeElement('db')).to.equal('database')
    expect(normalizeElement('database')).to.equal('database')
    expect(normalizeElement('code')).to.equal('code')
    expect(normalizeElement('files')).to.equal('files')
    expect(normalizeElement(' DB ')).to.equal('database')
  })

  it('rejects other names with a usage error naming the valid ones', () => {
    for (const bad of ['all', '', 'file', 'sql']) {
      let caught: unknown
      try {
        normalizeElement(bad)
      } catch (error) {
        caught = error
      }

      expect(caught).to.be.instanceOf(UsageError)
      expect((caught as UsageError).exitCode).to.equal(2)
      expect((caught as Error).message).to.contain('code, files, database, db')
    }
  })

  it('maps elements to extensions', () => {
    expect(extensionFor('code')).to.equal('.tar.gz')
    expect(extensionFor('files')).to.equal('.tar.gz')
    expect(extensionFor('database')).to.equal('.sql.gz')
  })

  it('checkExtension accepts matching names and refuses mismatches', () => {
    expect(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_database.sql.gz', 'database')).not.to.throw()
    expect(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_code.tar.gz', 'code')).not.to.throw()
    for (const [file, element] of [
      ['s_live_2024-05-01T03-12-44_UTC_database.tar.gz', 'database'],
      ['s_live_2024-05-01T03-12-44_UTC_files.sql.gz', 'files'],
      ['s_live_2024-05-01T03-12-44_UTC_code.tgz', 'code'],
      ['s_live_2024-05-01T03-12-44_UTC_database.sql', 'database'],
    ] as const) {
      expect(() => checkExtension(file, element), file)
        .to.throw(PbmError)
        .with.property('code', 'bad-extension')
    }
  })

  it('reads the element from a suffix when the rest of the name is unusual', () => {
    expect(elementFromSuffix('weird name_database.sql.gz')).to.equal('database')
    expect(elementFromSuffix('x_code.tar.gz')).to.equal('code')
    expect(elementFromSuffix('x_db.sql.gz')).to.equal(undefined)
    expect(elementFromSuffix('files.tar.gz')).to.equal(undefined)
  })
})
