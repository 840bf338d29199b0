import {expect} from 'chai'

import {
  errorFromFailedCall,
  type FailedCall,
  terminusMessageOf,
  withoutTelemetry,
} from '../../../src/terminus/errors.js'
import {parseJson} from '../../../src/terminus/terminus.js'

// Exactly as TERMINUS.md quotes real Terminus: `[error]` lines with two spaces and a trailing one,
// and Symfony's boxed block (padded, wrapped at the terminal width) for errors before the command.
const errorLine = (msg: string) => ` [error]  ${msg} \n`
const NOT_LOGGED_IN_BOX = [
  '',
  'In Authorizer.php line 37:',
  '                                                                               ',
  '  You are not logged in. Run `auth:login` to authenticate or `help auth:login` ',
  '  for more info.                                                               ',
  '                                                                               ',
  '',
  'backup:list [--fields FIELDS] [--format FORMAT] [--] <site_env>',
  '',
].join('\n')

const call = (stderr: string, extra: Partial<FailedCall> = {}): FailedCall => ({
  command: 'backup:get',
  commandLine: 'terminus backup:get --element=database -n --no-ansi -- alpha.live',
  stderr,
  stdout: '',
  site: 'alpha',
  env: 'live',
  ...extra,
})

describe('terminus: mapping messages to errors', () => {
  it('reads [error] lines and boxed blocks', () => {
    expect(terminusMessageOf(errorLine('Could not find a backup identified by x.'))).to.equal(
      'Could not find a backup identified by x.',
    )
    expect(terminusMessageOf(NOT_LOGGED_IN_BOX)).to.equal(
      'You are not logged in. Run `auth:login` to authenticate or `help auth:login` for more info.',
    )
    expect(terminusMessageOf(' [notice] Working\nPHP Fatal error: boom\n')).to.equal('PHP Fatal error: boom')
    expect(terminusMessageOf('')).to.equal(undefined)
  })

  const cases: Array<[string, string, Partial<FailedCall>?]> = [
    ['not-logged-in', NOT_LOGGED_IN_BOX],
    ['not-logged-in', errorLine('No user ID. Please login via terminus auth:login')],
    ['unknown-site', errorLine('Could not locate a site your user may access identified by nope: Not Found')],
    ['unknown-env', errorLine('Could not find an environment identified by nope.')],
    ['bad-site-env', errorLine('The environment argument must be given as <site_name>.<environment>')],
    ['no-backups', errorLine('No backups available. Create one with `terminus backup:create alpha.live`')],
    ['unknown-file', errorLine('Could not find a backup identified by x.sql.gz.'), {file: 'x.sql.gz'}],
    ['invalid-element', errorLine('Element should be one of the following items: code, files, database, db')],
    [
      'frozen',
      errorLine(
        'This site is frozen. Its test and live environments and many commands will be unavailable while it remains frozen.',
      ),
    ],
    ['workflow-failed', errorLine('Workflow failed.'), {command: 'backup:create'}],
    ['failed', errorLine('Something else went wrong.')],
    ['failed', 'PHP Fatal error: out of memory\n'],
  ]
  for (const [code, stderr, extra] of cases) {
    it(`maps to ${code}: ${JSON.stringify(stderr.trim().slice(0, 60))}`, () => {
      const error = errorFromFailedCall(call(stderr, extra))
      expect(error.code).to.equal(code)
      expect(error.exitCode).to.equal(1)
      expect(error.command).to.contain('backup:')
    })
  }

  it('gives the hints people need', () => {
    expect(errorFromFailedCall(call(NOT_LOGGED_IN_BOX)).hint).to.contain('terminus auth:login --machine-token=')
    expect(errorFromFailedCall(call(errorLine('No backups available. Create one'))).hint).to.equal(
      'Create one with: terminus backup:create alpha.live',
    )
    expect(
      errorFromFailedCall(call(errorLine('Could not find a backup identified by f.'), {file: 'f'})).message,
    ).to.contain('"f"')
  })

  it('never carries a signed URL query string or a token', () => {
    const url = 'https://storage.googleapis.com/b/uuid/live/f/x.sql.gz?Expires=1&GoogleAccessId=a&Signature=SECRET'
    const error = errorFromFailedCall(
      call(errorLine(`Could not fetch ${url} with --machine-token=TOKEN123`), {commandLine: `terminus x ${url}`}),
    )
    const everything = JSON.stringify({m: error.message, t: error.terminusMessage, h: error.hint})
    expect(everything).not.to.contain('SECRET')
    expect(everything).not.to.contain('TOKEN123')
    expect(error.message).to.contain('x.sql.gz?<redacted>')
  })
})

describe('terminus: parseJson', () => {
  it('parses JSON, skipping PHP notices printed before it', () => {
    expect(parseJson('[]\n', 'backup:list')).to.deep.equal([])
    expect(parseJson('PHP Deprecated: something\n{\n    "a": 1\n}\n', 'site:list')).to.deep.equal({a: 1})
  })

  it('throws a failed error for anything else', () => {
    expect(() => parseJson('not json', 'site:list'))
      .to.throw()
      .with.property('code', 'failed')
  })
})

describe('terminus/errors: what real Terminus 3.6 adds and how throttling reads on a site', () => {
  const telemetry =
    ' [error]  HTTP request POST https://terminus.pantheon.io/api/track has failed with error cURL error 28: Connection timed out after 2001 milliseconds for https://terminus.pantheon.io/api/track. \n'

  it('drops the telemetry line, keeps everything else', () => {
    expect(withoutTelemetry(errorLine('Workflow failed.') + telemetry)).to.equal(errorLine('Workflow failed.'))
    expect(withoutTelemetry(telemetry)).to.equal('')
    const other = errorLine(
      'HTTP request GET https://terminus.pantheon.io:443/api/site-names/a has failed with error .',
    )
    expect(withoutTelemetry(other)).to.equal(other)
  })

  it('a site lookup that failed for throttling is throttled, not unknown-site (either wording)', () => {
    for (const reason of [
      'HTTP request has failed with error "Maximum retry attempts reached".',
      'You have already made 1,000 requests in the past hour. Slow your roll.',
    ]) {
      const stderr = errorLine(`Could not locate a site your user may access identified by alpha: ${reason}`)
      expect(errorFromFailedCall(call(stderr)).code, reason).to.equal('throttled')
    }

    expect(
      errorFromFailedCall(call(errorLine('Could not locate a site your user may access identified by a: Not Found')))
        .code,
    ).to.equal('unknown-site')
  })
})
