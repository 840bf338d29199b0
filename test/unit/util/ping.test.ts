import {expect} from 'chai'

import {UsageError} from '../../../src/errors.js'
import {limitBody, parsePingUrl, PING_BODY_LIMIT, pingBody, Pinger} from '../../../src/util/ping.js'

const SIGNED =
  'https://storage.googleapis.com/gcs-pantheon-backups/abc/live/1714533164_backup/a_live_2024_UTC_database.sql.gz?Expires=1714536764&GoogleAccessId=x&Signature=c2lnbmF0dXJl'

describe('util: health pings (pure parts)', () => {
  describe('parsePingUrl', () => {
    it('takes http(s) URLs, and a bare check UUID as healthchecks.io', () => {
      expect(parsePingUrl('https://hc-ping.com/5f3f1c2e-8b0e-4d8e-9d5c-3a8f0e6b1d2c').href).to.equal(
        'https://hc-ping.com/5f3f1c2e-8b0e-4d8e-9d5c-3a8f0e6b1d2c',
      )
      expect(parsePingUrl(' 5F3F1C2E-8B0E-4D8E-9D5C-3A8F0E6B1D2C ').href).to.equal(
        'https://hc-ping.com/5F3F1C2E-8B0E-4D8E-9D5C-3A8F0E6B1D2C',
      )
      expect(parsePingUrl('http://hc.internal:8000/ping/key/pbm-nightly?create=1').search).to.equal('?create=1')
    })

    it('is a usage error naming its source, without echoing the URL', () => {
      for (const bad of ['', 'hc-ping.com/abc', 'ftp://hc.example/abc', 'https://user:secret@hc.example/abc']) {
        let error: unknown
        try {
          parsePingUrl(bad, 'PBM_PING')
        } catch (error_) {
          error = error_
        }

        expect(error, bad).to.be.instanceOf(UsageError)
        expect((error as Error).message).to.match(/^PBM_PING/)
        expect((error as Error).message).to.not.include('secret')
      }
    })
  })

  describe('Pinger.urlFor', () => {
    it('appends /start, /fail or the exit status to the path, and the run ID to the query', () => {
      const p = new Pinger('https://hc.example/ping/key/slug/?create=1', {runId: 'r1'})
      expect(p.urlFor('start').href).to.equal('https://hc.example/ping/key/slug/start?create=1&rid=r1')
      expect(p.urlFor('').href).to.equal('https://hc.example/ping/key/slug/?create=1&rid=r1')
      expect(p.urlFor('fail').href).to.equal('https://hc.example/ping/key/slug/fail?create=1&rid=r1')
      const plain = new Pinger('https://hc.example/abc', {runId: false})
      expect(plain.urlFor('3').href).to.equal('https://hc.example/abc/3')
      expect(plain.origin).to.equal('https://hc.example')
    })

    it('gives each Pinger its own random run ID by default', () => {
      const a = new Pinger('https://hc.example/abc')
      const b = new Pinger('https://hc.example/abc')
      expect(a.runId).to.match(/^[\da-f-]{36}$/)
      expect(a.runId).to.not.equal(b.runId)
    })
  })

  describe('pingBody', () => {
    it('says the counts and the first errors, redacted', () => {
      const body = pingBody({
        command: 'backup:mirror',
        shard: '3/8',
        counts: {transferred: 12, skipped: 40, failed: 2},
        bytes: 1_234_567,
        durationMs: 61_400,
        errors: [
          {target: 'alpha.live', code: 'download-failed', message: `GET ${SIGNED} answered 403`},
          {target: 'beta.dev', message: 'terminus auth:login --machine-token=abcdef123 failed'},
        ],
      })
      expect(body).to.equal(
        'pbm backup:mirror (shard 3/8): 12 transferred, 40 skipped, 2 failed; 1234567 bytes, 61 s\n' +
          '- alpha.live: GET https://storage.googleapis.com/gcs-pantheon-backups/abc/live/1714533164_backup/a_live_2024_UTC_database.sql.gz?<redacted> answered 403 [download-failed]\n' +
          '- beta.dev: terminus auth:login --machine-token=<redacted> failed\n',
      )
      expect(body).to.not.match(/Signature|abcdef123/)
    })

    it('lists at most 10 errors and counts the rest', () => {
      const errors = Array.from({length: 25}, (_, i) => ({target: `site${i}.live`, message: 'boom'}))
      const lines = pingBody({command: 'backup:mirror', counts: {failed: 25}, errors})
        .trimEnd()
        .split('\n')
      expect(lines).to.have.length(12)
      expect(lines.at(-2)).to.equal('- site9.live: boom')
      expect(lines.at(-1)).to.equal('- and 15 more')
    })
  })

  describe('limitBody', () => {
    it('keeps a body within the limit in bytes, on a character boundary, and marks the cut', () => {
      const body = limitBody('é'.repeat(PING_BODY_LIMIT))
      expect(Buffer.byteLength(body)).to.be.at.most(PING_BODY_LIMIT)
      expect(body).to.match(/^é+\n\[\.\.\.truncated]\n$/)
      expect(limitBody('short')).to.equal('short')
    })
  })
})
