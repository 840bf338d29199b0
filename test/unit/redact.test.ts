import {expect} from 'chai'

import {redact, SECRET_PARAMETERS} from '../../src/redact.js'

const SIGNED =
  'https://storage.googleapis.com/gcs-pantheon-backups/uuid/live/f/x.sql.gz?Expires=1&GoogleAccessId=svc%40p.iam&Signature=SECRETSIG'

describe('redact', () => {
  it('removes the query string of a signed URL inside a message', () => {
    expect(redact(`GET ${SIGNED} failed`)).to.equal(
      'GET https://storage.googleapis.com/gcs-pantheon-backups/uuid/live/f/x.sql.gz?<redacted> failed',
    )
  })

  it('removes every secret parameter by name, even without the URL around it', () => {
    for (const name of SECRET_PARAMETERS) {
      const out = redact(`... &${name}=SECRET123&next=1 and ${name.toLowerCase()}=SECRET456`)
      expect(out, name).not.to.contain('SECRET')
      expect(out, name).to.contain(`${name}=<redacted>`)
    }
  })

  it('redacts a URL hard-wrapped across the lines of a Symfony error box', () => {
    // Symfony wraps to the terminal width inside the box, in the middle of the signature.
    const box = [
      '',
      'In Backups.php line 120:',
      '                                                                 ',
      '  Could not fetch https://storage.googleapis.com/gcs-pantheon-b  ',
      '  ackups/uuid/live/f/x.sql.gz?Expires=1&GoogleAccessId=svc%40p.  ',
      '  iam&Signature=SECRETSIG1234                                    ',
      '  567890ABCDEF trailing words                                    ',
      '',
    ].join('\n')
    const out = redact(box)
    for (const piece of ['SECRETSIG1234', '567890ABCDEF', 'svc%40p', 'iam&']) expect(out).not.to.contain(piece)
    expect(out).to.contain('trailing words')
  })

  it('removes a machine token given as a flag', () => {
    expect(redact('terminus auth:login --machine-token=abc123 -n')).to.equal(
      'terminus auth:login --machine-token=<redacted> -n',
    )
    expect(redact('--machine-token abc123')).to.equal('--machine-token <redacted>')
  })

  it('leaves text without secrets alone', () => {
    expect(redact('s3://bucket/site/live/a.tar.gz')).to.equal('s3://bucket/site/live/a.tar.gz')
    expect(redact('http://127.0.0.1:9/a/b')).to.equal('http://127.0.0.1:9/a/b')
    expect(redact('NoSignature=x is not a parameter we know')).to.equal('NoSignature=x is not a parameter we know')
  })
})

describe('redact: presigned S3 URLs', () => {
  const url =
    'https://b.s3.amazonaws.com/k.sql.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20240501%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240501T000000Z&X-Amz-Expires=3600&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE&X-Amz-Signature=0123abcd&X-Amz-SignedHeaders=host'

  it('removes the whole query string of a presigned URL', () => {
    expect(redact(`fetching ${url} failed`)).to.equal('fetching https://b.s3.amazonaws.com/k.sql.gz?<redacted> failed')
  })

  it('removes signing parameters that appear without their URL (a wrapped line, a fragment)', () => {
    const fragment = url.slice(url.indexOf('X-Amz-Credential'))
    const out = redact(`...gz? ${fragment}`)
    for (const secret of ['AKIAEXAMPLE', 'FwoGZXIvYXdzEXAMPLE', '0123abcd']) expect(out).not.to.include(secret)
    expect(out).to.include('X-Amz-Signature=<redacted>')
    expect(redact('Signature=abc&GoogleAccessId=me@x AWSAccessKeyId=AKIA')).to.equal(
      'Signature=<redacted>&GoogleAccessId=<redacted> AWSAccessKeyId=<redacted>',
    )
  })
})

describe('redact: advice', () => {
  it('keeps a placeholder in a hint readable', () => {
    expect(redact('Log in once with: terminus auth:login --machine-token=<token>')).to.equal(
      'Log in once with: terminus auth:login --machine-token=<token>',
    )
  })
})
