import {expect} from 'chai'

import {redact, redactUrl} from '../../src/redact.js'

describe('redact', () => {
  it('removes the query string of a signed URL inside a message', () => {
    const msg =
      'GET https://storage.googleapis.com/gcs-pantheon-backups/uuid/live/f/x.sql.gz?Expires=1&GoogleAccessId=a&Signature=b failed'
    expect(redact(msg)).to.equal(
      'GET https://storage.googleapis.com/gcs-pantheon-backups/uuid/live/f/x.sql.gz?<redacted> failed',
    )
  })

  it('removes a machine token given as a flag', () => {
    expect(redact('terminus auth:login --machine-token=abc123 -n')).to.equal(
      'terminus auth:login --machine-token=<redacted> -n',
    )
    expect(redact('--machine-token abc123')).to.equal('--machine-token <redacted>')
  })

  it('leaves text without secrets alone', () => {
    expect(redact('s3://bucket/site/live/a.tar.gz')).to.equal('s3://bucket/site/live/a.tar.gz')
    expect(redactUrl('http://127.0.0.1:9/a/b')).to.equal('http://127.0.0.1:9/a/b')
    expect(redactUrl('http://127.0.0.1:9/a/b?Signature=x')).to.equal('http://127.0.0.1:9/a/b?<redacted>')
  })
})

describe('redact: advice', () => {
  it('keeps a placeholder in a hint readable', () => {
    expect(redact('Log in once with: terminus auth:login --machine-token=<token>')).to.equal(
      'Log in once with: terminus auth:login --machine-token=<token>',
    )
  })
})
