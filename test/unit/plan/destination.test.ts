import {expect} from 'chai'

import {UsageError} from '../../../src/errors.js'
import {archiveKey, normalizePrefix, parseBucket} from '../../../src/plan/destination.js'
import {checkFileTarget, looksLikeFilePath} from '../../../src/plan/local-target.js'
import {expandTargets, parseSiteEnv} from '../../../src/plan/targets.js'
import {backups} from '../../helpers/backups.js'

describe('plan: destinations and keys', () => {
  it('parses a bucket name or an s3:// URL, joining --prefix', () => {
    expect(parseBucket('my-backups')).to.deep.equal({bucket: 'my-backups', prefix: ''})
    expect(parseBucket('s3://my-backups')).to.deep.equal({bucket: 'my-backups', prefix: ''})
    expect(parseBucket('s3://my-backups/pantheon')).to.deep.equal({bucket: 'my-backups', prefix: 'pantheon/'})
    expect(parseBucket('s3://my-backups/a/', 'b')).to.deep.equal({bucket: 'my-backups', prefix: 'a/b/'})
    expect(parseBucket('my-backups', '/nightly//x/')).to.deep.equal({bucket: 'my-backups', prefix: 'nightly/x/'})
  })

  it('refuses bad bucket names, other URL schemes and dot segments', () => {
    expect(() => parseBucket('My_Bucket')).to.throw(UsageError, /not a valid S3 bucket name/)
    expect(() => parseBucket('https://example.com/b')).to.throw(UsageError, /s3:\/\/bucket\/prefix/)
    expect(() => parseBucket('ab')).to.throw(UsageError)
    expect(() => normalizePrefix('a/../b')).to.throw(UsageError, /"\."/)
  })

  it('lays keys out as <site>/<env>/<pantheon filename>', () => {
    expect(archiveKey({env: 'live', file: 'alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz', site: 'alpha'})).to.equal(
      'alpha/live/alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz',
    )
  })
})

describe('plan: --to as a file', () => {
  const [code, , db] = backups('alpha', 'live', [{date: '2024-05-01T03:12:44Z'}])

  it('tells a file path from a folder by its name', () => {
    expect(looksLikeFilePath('out/db.sql.gz')).to.equal(true)
    expect(looksLikeFilePath('out/site.tar')).to.equal(true)
    expect(looksLikeFilePath('out/backups')).to.equal(false)
    expect(looksLikeFilePath('out/backups.gz/')).to.equal(false)
  })

  it('accepts the element’s own extension only, naming the right one', () => {
    expect(() => checkFileTarget('x/db.sql.gz', [db])).not.to.throw()
    expect(() => checkFileTarget('x/code.tar.gz', [code])).not.to.throw()
    expect(() => checkFileTarget('x/db.tar.gz', [db])).to.throw(UsageError, /must end in \.sql\.gz/)
    expect(() => checkFileTarget('x/db.sql', [db])).to.throw(UsageError, /must end in \.sql\.gz/)
    expect(() => checkFileTarget('x/code.sql.gz', [code])).to.throw(UsageError, /must end in \.tar\.gz/)
  })

  it('suggests the corrected name', () => {
    try {
      checkFileTarget('x/db.sql', [db])
      expect.fail('should throw')
    } catch (error) {
      expect((error as UsageError).hint).to.equal('Use x/db.sql.gz')
    }
  })

  it('refuses a file path for more than one archive', () => {
    expect(() => checkFileTarget('x/all.tar.gz', [code, db])).to.throw(UsageError, /2 archives were chosen/)
  })
})

describe('plan: targets', () => {
  it('parses site.env and refuses what Terminus refuses', () => {
    expect(parseSiteEnv('alpha.live')).to.deep.equal({env: 'live', site: 'alpha'})
    expect(parseSiteEnv('my-site-2.pr-12')).to.deep.equal({env: 'pr-12', site: 'my-site-2'})
    expect(() => parseSiteEnv('alpha')).to.throw(UsageError, /<site_name>\.<environment>/)
    expect(() => parseSiteEnv('.live')).to.throw(UsageError)
    expect(() => parseSiteEnv('alpha.')).to.throw(UsageError)
    expect(() => parseSiteEnv('../etc.live')).to.throw(UsageError)
    expect(() => parseSiteEnv('Alpha.live')).to.throw(UsageError)
  })

  it('expands sites × envs after explicit targets, without repeats', () => {
    expect(expandTargets(['b.test'], ['a', 'b'], ['dev', 'test']).map((t) => `${t.site}.${t.env}`)).to.deep.equal([
      'b.test',
      'a.dev',
      'a.test',
      'b.dev',
    ])
  })
})
