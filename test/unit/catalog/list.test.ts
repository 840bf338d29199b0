import {expect} from 'chai'

import {backupsFromList, epochToDate} from '../../../src/catalog/index.js'
import {PbmError} from '../../../src/errors.js'

// Shaped exactly like `terminus backup:list alpha.live --format=json` (TERMINUS.md).
const LIST = {
  '1714533164_backup_code': {
    file: 'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz',
    size: '31.5MB',
    date: 1714533290.118402,
    expiry: 1746069290.118402,
    initiator: 'manual',
  },
  '1714533164_backup_database': {
    file: 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz',
    size: '412.7MB',
    date: 1714533250.5,
    expiry: null,
    initiator: 'manual',
  },
  '1714446000_automated_files': {
    file: 'alpha_live_2024-04-30T03-00-00_UTC_files.tar.gz',
    size: '0.1MB',
    date: 1714446100,
    expiry: 1715050900,
    initiator: 'automated',
  },
}

describe('catalog: backupsFromList', () => {
  it('returns [] for the empty list Terminus prints as []', () => {
    expect(backupsFromList('alpha', 'live', [])).to.deep.equal([])
  })

  it('returns [] for an empty object', () => {
    expect(backupsFromList('alpha', 'live', {})).to.deep.equal([])
  })

  it('builds backups from the catalog', () => {
    const backups = backupsFromList('alpha', 'live', LIST)
    expect(backups).to.have.length(3)
    expect(backups[0]).to.deep.equal({
      site: 'alpha',
      env: 'live',
      element: 'code',
      id: '1714533164_backup_code',
      folder: '1714533164_backup',
      file: 'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz',
      // The backup's one time is its filename's (catalog/time.ts); Terminus's finish time is a detail.
      date: new Date('2024-05-01T03:12:44Z'),
      finished: new Date(1714533290118),
      expiry: new Date(1746069290118),
      initiator: 'manual',
      sizeBytes: Math.round(31.5 * 1024 * 1024),
      sizeText: '31.5MB',
    })
    expect(backups[1]).to.include({element: 'database', folder: '1714533164_backup', expiry: null, sizeText: '412.7MB'})
    expect(backups[1].date.toISOString()).to.equal('2024-05-01T03:12:44.000Z')
    expect(backups[1].finished?.toISOString()).to.equal('2024-05-01T03:14:10.500Z')
    expect(backups[2]).to.include({element: 'files', folder: '1714446000_automated', initiator: 'automated'})
  })

  it('takes the element from the filename when the ID does not name it', () => {
    const [b] = backupsFromList('alpha', 'live', {
      'odd-id': {
        file: 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz',
        size: '1MB',
        date: 1714533290,
        expiry: null,
        initiator: 'manual',
      },
    })
    expect(b).to.include({element: 'database', folder: 'odd-id', id: 'odd-id'})
  })

  it('strips the element from an unusual ID to get the folder', () => {
    const [b] = backupsFromList('alpha', 'live', {
      weird_folder_code: {
        file: 'strange-name_code.tar.gz',
        size: '1MB',
        date: 1714533290,
        expiry: null,
        initiator: 'automated',
      },
    })
    expect(b).to.include({element: 'code', folder: 'weird_folder', initiator: 'automated'})
  })

  it('falls back on the filename date, then the ID epoch, when the date is missing', () => {
    const [a, b] = backupsFromList('alpha', 'live', {
      '1714533164_backup_code': {file: 'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz', size: '1MB'},
      '1714533164_backup_files': {file: 'odd_files.tar.gz', size: '1MB', date: null},
    })
    expect(a.date.toISOString()).to.equal('2024-05-01T03:12:44.000Z')
    expect(b.date.getTime()).to.equal(1714533164000)
    expect(a.initiator).to.equal('manual')
  })

  it('accepts numeric strings for epochs and sizes given as numbers', () => {
    const [b] = backupsFromList('alpha', 'live', {
      '1714533164_backup_code': {
        file: 'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz',
        size: 0,
        date: '1714533290.5',
        expiry: '1746069290',
        initiator: 'manual',
      },
    })
    expect(b.finished?.getTime()).to.equal(1714533290500)
    expect(b.expiry?.getTime()).to.equal(1746069290000)
    expect(b).to.include({sizeBytes: 0, sizeText: '0'})
  })

  it('leaves out entries it cannot use', () => {
    const backups = backupsFromList('alpha', 'live', {
      'no-file': {size: '1MB', date: 1},
      'null-value': null,
      'string-value': 'x',
      'unknown-element': {file: 'whatever.zip', size: '1MB', date: 1714533290},
      // Names the engine would refuse are never offered: a space, a bidi override, a control character.
      '1714533100_backup_code': {file: 'alpha live_code.tar.gz', size: '1MB', date: 1714533290},
      '1714533101_backup_code': {file: 'alpha_\u202Eevil_code.tar.gz', size: '1MB', date: 1714533290},
      '1714533102_backup_code': {file: 'alpha_\u001B[31m_code.tar.gz', size: '1MB', date: 1714533290},
      '1714533164_backup_code': {
        file: 'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz',
        size: 'huge',
        date: 1714533290,
      },
    })
    expect(backups.map((b) => b.id)).to.deep.equal(['1714533164_backup_code'])
    expect(backups[0]).to.include({sizeBytes: 0, sizeText: 'huge'})
  })

  it('throws on output that is not a list', () => {
    for (const bad of [null, 'x', 42, [{file: 'x'}]]) {
      expect(() => backupsFromList('alpha', 'live', bad), JSON.stringify(bad))
        .to.throw(PbmError)
        .with.property('code', 'unexpected-output')
    }
  })

  it('epochToDate handles floats, strings and junk', () => {
    expect(epochToDate(1714533290.118402)?.getTime()).to.equal(1714533290118)
    expect(epochToDate('1714533290')?.getTime()).to.equal(1714533290000)
    for (const bad of [null, undefined, 0, -5, 'soon', Number.NaN, {}]) expect(epochToDate(bad)).to.equal(undefined)
  })
})
