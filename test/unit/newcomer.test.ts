/**
 * The pure rules behind a newcomer's errors and answers (issue 19): nearest names for "did you mean",
 * `~` as the home folder, the checks of --file, --endpoint and swallowed SITE.ENVs, and --json
 * documents whose optional fields are always present.
 */
import {expect} from 'chai'

import {nearestNames} from '../../src/catalog/index.js'
import {UsageError} from '../../src/errors.js'
import {checkEndpoint, checkFileFlag, swallowedBy} from '../../src/flags.js'
import {completeDocument, MIRROR_JSON, VERIFY_JSON} from '../../src/jobs/json.js'
import {resolveFolder} from '../../src/util/home.js'

describe('a newcomer: the pure rules', () => {
  describe('nearestNames', () => {
    it('suggests the nearest names, never a far-fetched one, never the query itself', () => {
      expect(nearestNames(['--latest', '--at', '--file'], '--lates', 1)).to.deep.equal(['--latest'])
      expect(nearestNames(['alpha', 'beta', 'gamma'], 'alpah')).to.deep.equal(['alpha'])
      expect(nearestNames(['dev', 'test', 'live'], 'lve')).to.deep.equal(['live'])
      expect(nearestNames(['dev', 'test', 'live'], 'production')).to.deep.equal([])
      expect(nearestNames(['pick'], 'pick')).to.deep.equal([])
      expect(nearestNames(['pick'], 'pick', 1, {includeExact: true})).to.deep.equal(['pick'])
    })
  })

  describe('resolveFolder', () => {
    it('reads ~ and ~/x as the home folder, anything else from the working directory', () => {
      expect(resolveFolder('~', '/home/me')).to.equal('/home/me')
      expect(resolveFolder('~/pbmtest', '/home/me')).to.equal('/home/me/pbmtest')
      expect(resolveFolder('/srv/x', '/home/me')).to.equal('/srv/x')
      expect(resolveFolder('~other/x', '/home/me')).to.equal(`${process.cwd()}/~other/x`)
      expect(resolveFolder('x/~', '/home/me')).to.equal(`${process.cwd()}/x/~`)
    })
  })

  describe('flag checks before any call', () => {
    it('--file takes a name (a mistyped one too, for the nearest names later), never a path', () => {
      const file = 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'
      for (const good of [file, file.replace('_database', '_databse'), '1714533164_backup_database']) {
        expect(() => checkFileFlag([good]), good).to.not.throw()
      }

      for (const bad of [`../${file}`, `alpha/live/${file}`, 'x..sql.gz', '/tmp/x.sql.gz', '']) {
        expect(() => checkFileFlag([bad]), bad).to.throw(UsageError, /--file takes an archive's name/)
      }
    })

    it('a SITE.ENV among a repeatable flag’s values names the flag that took it', () => {
      expect(swallowedBy('element', ['db', 'alpha.live'])?.message).to.equal(
        '--element took "alpha.live" as its value, but it looks like the SITE.ENV argument.',
      )
      expect(swallowedBy('element', ['db', 'files'])).to.equal(undefined)
      expect(swallowedBy('file', ['alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'])).to.equal(undefined)
    })

    it('--endpoint is an http(s) URL with a host', () => {
      for (const good of ['http://127.0.0.1:9000', 'https://s3.example.com/'])
        expect(() => checkEndpoint(good)).to.not.throw()
      for (const bad of ['localhost:9000', 'http//x', 'ftp://x', 's3.example.com']) {
        expect(() => checkEndpoint(bad), bad).to.throw(UsageError, /--endpoint takes the URL/)
      }
    })
  })

  describe('--json documents have every field', () => {
    it('fills absent optional fields with null or false, in rows and nested documents, keeping the rest', () => {
      const mirror = completeDocument(
        {
          archives: [
            {bytes: 3, file: 'a', md5: 'm', status: 'transferred'},
            {error: {code: 'x'}, file: 'b', status: 'failed'},
          ],
          summary: {failed: 1},
          targets: [{env: 'live', site: 'alpha', status: 'mirrored'}],
          verify: {objects: [{status: 'ok'}], summary: {deep: undefined}, targets: []},
        },
        MIRROR_JSON,
      )
      expect(mirror.archives.map((a) => Object.keys(a).sort())).to.deep.equal([
        ['bytes', 'error', 'file', 'md5', 'note', 'status'],
        ['bytes', 'error', 'file', 'md5', 'note', 'status'],
      ])
      expect(mirror.archives[1]).to.deep.include({bytes: null, error: {code: 'x'}, md5: null, note: null})
      expect(mirror).to.deep.include({prune: null, shard: null, stoppedEarly: false})
      expect(mirror.verify.summary).to.deep.equal({deep: false, sample: null})
      expect(mirror.verify.objects[0]).to.deep.equal({note: null, status: 'ok'})
      expect(
        completeDocument({objects: [], summary: {deep: true, sample: '1/7'}, targets: []}, VERIFY_JSON).summary,
      ).to.deep.equal({
        deep: true,
        sample: '1/7',
      })
    })
  })
})
