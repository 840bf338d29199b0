import {expect} from 'chai'
import createDebug from 'debug'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {type Terminus, TerminusError} from '../../../src/terminus/index.js'
import {CallRecorder, createSandbox, failure, type Sandbox, terminusFor} from './helpers.js'

const DB = 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'
const FILES = 'alpha_live_2024-05-01T03-12-44_UTC_files.tar.gz'

/** Everything an error carries that pbm could print or log. */
function printable(error: Error & {command?: string; hint?: string; terminusMessage?: string}): string {
  return [error.message, error.hint, error.command, error.terminusMessage, String(error.stack)].join('\n')
}

/** The secret part of a signed URL: its Signature value (raw and percent-decoded). */
function signatureOf(url: string): string[] {
  const raw = /Signature=([^&]+)/.exec(url)![1]
  return [raw, decodeURIComponent(raw)]
}

function expectNoSecret(error: Error, url: string, debugLines: string[]): void {
  const everything = printable(error) + '\n' + debugLines.join('\n')
  for (const secret of signatureOf(url)) expect(everything).not.to.include(secret)
  expect(debugLines.join('\n')).to.include('import:')
}

describe('terminus adapter against the sandbox: import:database / import:files', () => {
  let sb: Sandbox
  let terminus: Terminus
  const debugLines: string[] = []
  const originalLog = createDebug.log

  before(async () => {
    sb = await createSandbox({
      sites: [
        {
          name: 'alpha',
          envs: [
            {name: 'live', backups: [{date: '2024-05-01T03:12:44Z', sizes: {database: 50_000, files: 80_000}}]},
            {name: 'dev'},
            {name: 'test', importFails: 'Import failed: the database dump has errors at line 12.'},
          ],
        },
        {name: 'beta', frozen: true, envs: [{name: 'dev'}]},
      ],
    })
    terminus = terminusFor(sb)
    createDebug.enable('pbm:terminus')
    createDebug.log = (...args: unknown[]) => {
      debugLines.push(args.map(String).join(' '))
    }
  })

  after(async () => {
    createDebug.log = originalLog
    createDebug.disable()
    await sb.close()
  })

  afterEach(() => {
    sb.setImportLimit(500 * 1024 * 1024)
    sb.setImportMs(0)
    sb.setLoggedIn(true)
  })

  it('imports a database: -n --yes, the URL one argument after --, and Pantheon got the very bytes', async () => {
    const recorder = new CallRecorder(sb)
    try {
      const url = sb.url(DB)
      await terminusFor(sb, {bin: recorder.bin}).importDatabase('alpha', 'dev', url)
      const [call] = recorder.calls()
      expect(call.args).to.deep.equal(['import:database', '--yes', '-n', '--no-ansi', '--', 'alpha.dev', url])
      expect(sb.imports('alpha', 'dev').at(-1)).to.include({element: 'database', md5: sb.archive(DB).md5})
    } finally {
      recorder.close()
    }
  })

  it('imports files, and passes the workflow polling delay on', async () => {
    const recorder = new CallRecorder(sb)
    try {
      await terminusFor(sb, {bin: recorder.bin}).importFiles('alpha', 'dev', sb.url(FILES), {pollingDelayMs: 1000})
      expect(recorder.calls()[0].env.TERMINUS_WORKFLOW_POLLING_DELAY_MS).to.equal('1000')
      expect(sb.imports('alpha', 'dev').at(-1)).to.include({element: 'files', md5: sb.archive(FILES).md5})
    } finally {
      recorder.close()
    }
  })

  describe('errors: typed, and never carrying the signed URL (message, hint, command, DEBUG log)', () => {
    beforeEach(() => {
      debugLines.length = 0
    })

    it('a URL Pantheon cannot fetch (403): bad-url', async () => {
      const url = sb.url(DB).replace(/Signature=[^&]+/, 'Signature=forged%2Bsignature%3D')
      const error = await failure(terminus.importDatabase('alpha', 'dev', url))
      expect(error).to.be.instanceOf(TerminusError)
      expect(error.code).to.equal('bad-url')
      expect(error.message).to.match(
        /^Pantheon could not fetch the database archive: Could not download the archive at http:\/\/127\.0\.0\.1:\d+\/gcs-pantheon-backups\/.+\.sql\.gz\?<redacted>/,
      )
      expect(error.message).to.include('HTTP 403')
      expectNoSecret(error, url, debugLines)
    })

    it('above the import limit: import-too-large', async () => {
      sb.setImportLimit(49_999)
      const url = sb.url(DB)
      const error = await failure(terminus.importDatabase('alpha', 'dev', url))
      expect(error.code).to.equal('import-too-large')
      expect(error.message).to.include('larger than the 49999 byte import limit')
      expectNoSecret(error, url, debugLines)
    })

    it('a failed workflow: import-failed with what Terminus said', async () => {
      const url = sb.url(DB)
      const error = await failure(terminus.importDatabase('alpha', 'test', url))
      expect(error.code).to.equal('import-failed')
      expect(error.message).to.equal(
        'Importing the database into alpha.test failed: Import failed: the database dump has errors at line 12.',
      )
      expect(error.terminusMessage).to.equal('Import failed: the database dump has errors at line 12.')
      expectNoSecret(error, url, debugLines)
    })

    it('the wrong archive for the element: import-failed', async () => {
      const url = sb.url(DB)
      const error = await failure(terminus.importFiles('alpha', 'dev', url))
      expect(error.code).to.equal('import-failed')
      expect(error.message).to.match(/^Importing the files into alpha\.dev failed: The archive at .+\?<redacted>/)
      expectNoSecret(error, url, debugLines)
    })

    it('a workflow slower than our timeout: timeout, with advice about the import', async () => {
      sb.setImportMs(5000)
      const url = sb.url(DB)
      const error = await failure(terminus.importDatabase('alpha', 'dev', url, {timeoutMs: 500}))
      expect(error.code).to.equal('timeout')
      expect(error.hint).to.match(/import may still finish/)
      expectNoSecret(error, url, debugLines)
    })

    it('not logged in, frozen site, unknown site: the usual codes', async () => {
      const url = sb.url(DB)
      expect((await failure(terminus.importDatabase('beta', 'dev', url))).code).to.equal('frozen')
      expect((await failure(terminus.importDatabase('nope', 'dev', url))).code).to.equal('unknown-site')
      sb.setLoggedIn(false)
      const error = await failure(terminus.importFiles('alpha', 'dev', url))
      expect(error.code).to.equal('not-logged-in')
      expectNoSecret(error, url, debugLines)
    })

    it('something that is not an http(s) URL: bad-url, before Terminus runs', async () => {
      const before = debugLines.length
      const error = await failure(terminus.importDatabase('alpha', 'dev', 'file:///tmp/x.sql.gz?Signature=abcdefgh123'))
      expect(error.code).to.equal('bad-url')
      expect(printable(error)).not.to.include('abcdefgh123')
      expect(debugLines).to.have.length(before)
    })
  })

  it('a Terminus that exits 0 without its "Imported" notice (an unconfirmed run) is a failure', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pbm-silent-'))
    try {
      const bin = path.join(dir, 'terminus')
      writeFileSync(bin, '#!/bin/sh\n[ "$1" = --version ] && echo "Terminus 3.6.1"\nexit 0\n')
      chmodSync(bin, 0o755)
      const error = await failure(terminusFor(sb, {bin}).importDatabase('alpha', 'dev', sb.url(DB)))
      expect(error.code).to.equal('import-failed')
      expect(error.message).to.match(/exited 0 without saying that it imported the database/)
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })
})
