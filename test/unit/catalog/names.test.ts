import {expect} from 'chai'

import {
  checkExtension,
  checkFilename,
  compareEnvironmentNames,
  isBucketName,
  isSafeFilename,
  isSiteName,
  printable,
} from '../../../src/catalog/index.js'
import {PbmError} from '../../../src/errors.js'

function codeOf(fn: () => void): string | undefined {
  try {
    fn()
  } catch (error) {
    expect(error).to.be.instanceOf(PbmError)
    return (error as PbmError).code
  }

  return undefined
}

describe('catalog/names: the one rule for names from Terminus', () => {
  it('accepts Pantheon filenames, old and new', () => {
    for (const ok of [
      'mysite_live_2024-05-01T03-12-44_UTC_database.sql.gz',
      'my-site_dev_2024-05-01T03-12-44_UTC_code.tar.gz',
      'mysite_2014-05-01T03-12-44_UTC_files.tar.gz',
    ]) {
      expect(isSafeFilename(ok), ok).to.equal(true)
      expect(
        codeOf(() => checkFilename(ok)),
        ok,
      ).to.equal(undefined)
    }
  })

  it('refuses separators, dot-dot, NUL, control and bidi characters, spaces, leading dots and absurd lengths', () => {
    for (const bad of [
      '',
      '.',
      '..',
      'a/b.tar.gz',
      '../evil.tar.gz',
      'a..b.tar.gz',
      String.raw`a\b.tar.gz`,
      'a\u0000b.tar.gz',
      'a\nb.tar.gz',
      'a b.tar.gz',
      'a\u202Eb.tar.gz',
      '.hidden.tar.gz',
      '-rf.tar.gz',
      'ümlaut.tar.gz',
      'x'.repeat(256) + '.tar.gz',
    ]) {
      expect(isSafeFilename(bad), JSON.stringify(bad)).to.equal(false)
      expect(
        codeOf(() => checkFilename(bad)),
        JSON.stringify(bad),
      ).to.equal('unsafe-filename')
    }
  })

  it('never prints control or bidi characters in the refusal', () => {
    const message = (() => {
      try {
        checkFilename('a\u001B[31m\u202Ered.tar.gz')
      } catch (error) {
        return (error as Error).message
      }
    })()
    expect(message).to.be.a('string')
    expect(message).not.to.include('\u001B')
    expect(message).not.to.include('\u202E')
    expect(printable('x'.repeat(300))).to.have.length(203)
  })

  it('site and env names: lowercase letters, digits, hyphens', () => {
    for (const ok of ['alpha', 'pr-12', 'a1', '9lives']) expect(isSiteName(ok), ok).to.equal(true)
    for (const bad of ['', 'Alpha', '-a', 'a.b', 'a b', 'a_b', 'a\u202E', 'é', 'x'.repeat(64)]) {
      expect(isSiteName(bad), JSON.stringify(bad)).to.equal(false)
    }
  })

  it('bucket names: 3-63 characters of lowercase letters, digits, dots, hyphens', () => {
    for (const ok of ['abc', 'my.bucket-1', 'x'.repeat(63)]) expect(isBucketName(ok), ok).to.equal(true)
    for (const bad of ['ab', 'ABC', '-abc', 'abc-', 'a_b', 'x'.repeat(64)]) {
      expect(isBucketName(bad), bad).to.equal(false)
    }
  })

  it('orders environments dev, test, live, then multidevs by name', () => {
    expect(['pr-2', 'live', 'ab', 'dev', 'test'].sort(compareEnvironmentNames)).to.deep.equal([
      'dev',
      'test',
      'live',
      'ab',
      'pr-2',
    ])
  })

  it('requires the element extension: .tar.gz for code and files, .sql.gz for database', () => {
    expect(codeOf(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_code.tar.gz', 'code'))).to.equal(undefined)
    expect(codeOf(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_files.tar.gz', 'files'))).to.equal(undefined)
    expect(codeOf(() => checkExtension('s_live_2024-05-01T03-12-44_UTC_database.sql.gz', 'database'))).to.equal(
      undefined,
    )
    for (const [file, element] of [
      ['s_live_2024-05-01T03-12-44_UTC_database.tar.gz', 'database'],
      ['s_live_2024-05-01T03-12-44_UTC_code.sql.gz', 'code'],
      ['s_live_2024-05-01T03-12-44_UTC_code.tgz', 'code'],
      ['s_live_2024-05-01T03-12-44_UTC_code.tar.gz', 'all'],
    ] as const) {
      expect(
        codeOf(() => checkExtension(file, element as 'code')),
        file,
      ).to.equal('bad-extension')
    }
  })
})
