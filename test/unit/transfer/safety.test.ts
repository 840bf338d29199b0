import {expect} from 'chai'

import {checkKey} from '../../../src/destination/key.js'
import {PbmError} from '../../../src/errors.js'
import {checkExtension, checkFilename} from '../../../src/transfer/safety.js'

function codeOf(fn: () => void): string | undefined {
  try {
    fn()
  } catch (error) {
    expect(error).to.be.instanceOf(PbmError)
    return (error as PbmError).code
  }

  return undefined
}

describe('transfer/safety', () => {
  it('accepts Pantheon filenames, old and new', () => {
    for (const ok of [
      'mysite_live_2024-05-01T03-12-44_UTC_database.sql.gz',
      'my-site_dev_2024-05-01T03-12-44_UTC_code.tar.gz',
      'mysite_2014-05-01T03-12-44_UTC_files.tar.gz',
    ]) {
      expect(codeOf(() => checkFilename(ok)), ok).to.equal(undefined)
    }
  })

  it('refuses separators, dot-dot, NUL, control characters, spaces, leading dots and absurd lengths', () => {
    for (const bad of [
      '',
      'a/b.tar.gz',
      '../evil.tar.gz',
      'a..b.tar.gz',
      String.raw`a\b.tar.gz`,
      'a\u0000b.tar.gz',
      'a\nb.tar.gz',
      'a b.tar.gz',
      '.hidden.tar.gz',
      '-rf.tar.gz',
      'ümlaut.tar.gz',
      'x'.repeat(256) + '.tar.gz',
    ]) {
      expect(codeOf(() => checkFilename(bad)), JSON.stringify(bad)).to.equal('unsafe-filename')
    }
  })

  it('never prints control characters in the refusal', () => {
    try {
      checkFilename('a\u001B[31mred.tar.gz')
      expect.fail('should throw')
    } catch (error) {
      expect((error as Error).message).not.to.include('\u001B')
    }
  })

  it('requires the element extension: .tar.gz for code and files, .sql.gz for database', () => {
    expect(codeOf(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_code.tar.gz', 'code'))).to.equal(undefined)
    expect(codeOf(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_files.tar.gz', 'files'))).to.equal(undefined)
    expect(codeOf(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_database.sql.gz', 'database'))).to.equal(undefined)
    expect(codeOf(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_database.tar.gz', 'database'))).to.equal('bad-extension')
    expect(codeOf(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_code.sql.gz', 'code'))).to.equal('bad-extension')
    expect(codeOf(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_code.tgz', 'code'))).to.equal('bad-extension')
  })

  it('checkKey refuses keys that could leave their root', () => {
    expect(checkKey('p/site/live/f.tar.gz')).to.deep.equal(['p', 'site', 'live', 'f.tar.gz'])
    for (const bad of ['', '/abs', 'a//b', 'a/../b', './a', 'a/.', String.raw`a\b`, 'a\u0000b', 'a/']) {
      expect(codeOf(() => checkKey(bad)), JSON.stringify(bad)).to.equal('unsafe-key')
    }
  })
})
