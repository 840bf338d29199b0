import {expect} from 'chai'
import {execa} from 'execa'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {UsageError} from '../../../src/errors.js'
import {errorFromFailedCall, type Terminus, TerminusError} from '../../../src/terminus/index.js'
import {createSandbox, failure, type Sandbox, terminusFor} from './helpers.js'

async function expectCode(promise: Promise<unknown>, code: string): Promise<TerminusError> {
  const error = await failure(promise)
  expect(error, error.message).to.be.instanceOf(TerminusError)
  expect(error.code).to.equal(code)
  return error as TerminusError
}

describe('terminus adapter against the sandbox: errors', () => {
  let sb: Sandbox
  let terminus: Terminus

  before(async () => {
    sb = await createSandbox({
      sites: [
        {name: 'alpha', envs: [{name: 'live', backups: [{date: '2024-05-01T03:12:44Z'}]}, {name: 'dev'}]},
        {name: 'cold', frozen: true, envs: [{name: 'live'}]},
      ],
    })
    terminus = terminusFor(sb)
  })

  afterEach(() => {
    sb.setLoggedIn(true)
  })

  after(async () => {
    await sb.close()
  })

  it('unknown site', async () => {
    const error = await expectCode(terminus.listBackups('nope', 'live'), 'unknown-site')
    expect(error.message).to.contain('"nope"')
    expect(error.hint).to.contain('terminus site:list')
    expect(error.terminusMessage).to.contain('Could not locate a site your user may access identified by nope')
    await expectCode(terminus.listEnvironments('nope'), 'unknown-site')
    await expectCode(terminus.backupUrl('nope', 'live', {element: 'code'}), 'unknown-site')
  })

  it('unknown environment', async () => {
    const error = await expectCode(terminus.listBackups('alpha', 'nope'), 'unknown-env')
    expect(error.hint).to.contain('terminus env:list alpha')
    await expectCode(terminus.backupUrl('alpha', 'nope', {element: 'db'}), 'unknown-env')
  })

  it('no backups', async () => {
    const error = await expectCode(terminus.backupUrl('alpha', 'dev', {element: 'database'}), 'no-backups')
    expect(error.hint).to.equal('Create one with: terminus backup:create alpha.dev')
  })

  it('unknown file, exact and case-sensitive', async () => {
    const [b] = await terminus.listBackups('alpha', 'live')
    const error = await expectCode(
      terminus.backupUrl('alpha', 'live', {element: b.element, file: b.file.toUpperCase()}),
      'unknown-file',
    )
    expect(error.message).to.contain(b.file.toUpperCase())
    expect(error.hint).to.contain('terminus backup:list alpha.live')
    await expectCode(terminus.backupUrl('alpha', 'live', {element: b.element, file: '*'}), 'unknown-file')
  })

  it('not logged in: the boxed Symfony block, for every command that needs a session', async () => {
    sb.setLoggedIn(false)
    for (const call of [
      () => terminus.listSites(),
      () => terminus.listOrgSites('acme'),
      () => terminus.listEnvironments('alpha'),
      () => terminus.listBackups('alpha', 'live'),
      () => terminus.backupUrl('alpha', 'live', {element: 'code'}),
      () => terminus.createBackup('alpha', 'live'),
    ]) {
      const error = await expectCode(call(), 'not-logged-in')
      expect(error.hint).to.equal('Log in once with: terminus auth:login --machine-token=<token>')
    }
  })

  it('frozen site', async () => {
    const error = await expectCode(terminus.createBackup('cold', 'live'), 'frozen')
    expect(error.message).to.contain('cold')
  })

  it('site and env that cannot form <site>.<env> are refused before spawning Terminus', async () => {
    for (const [site, env] of [
      ['alpha.live', 'live'],
      ['alpha', ''],
      ['', 'live'],
      ['al pha', 'live'],
    ]) {
      await expectCode(terminus.listBackups(site, env), 'bad-site-env')
    }
  })

  it('an invalid element is a usage error before spawning Terminus', async () => {
    const error = await failure(terminus.backupUrl('alpha', 'live', {element: 'all' as 'code'}))
    expect(error).to.be.instanceOf(UsageError)
  })

  // The adapter never sends these, but the wording is a contract between Terminus and our mapping.
  for (const [code, args] of [
    ['bad-site-env', ['backup:list', '--format=json', '-n', '--no-ansi', '--', 'alpha']],
    ['invalid-element', ['backup:get', '--element=everything', '-n', '--no-ansi', '--', 'alpha.live']],
  ] as const) {
    it(`maps what Terminus prints to ${code}`, async () => {
      const result = await execa(sb.terminusPath, args, {env: sb.env, reject: false})
      expect(result.exitCode).to.equal(1)
      const error = errorFromFailedCall({
        command: args[0],
        commandLine: args.join(' '),
        stderr: result.stderr,
        stdout: result.stdout,
      })
      expect(error.code).to.equal(code)
    })
  }

  it('anything else is "failed", with what Terminus said', async () => {
    const error = await expectCode(terminus.listOrgSites('no-such-org'), 'failed')
    expect(error.message).to.contain('org:site:list').and.to.contain('no-such-org')
  })

  it('terminus not installed', async () => {
    for (const bin of ['/nonexistent/terminus', 'pbm-no-such-terminus-binary']) {
      const error = await expectCode(terminusFor(sb, {bin}).listSites(), 'terminus-not-found')
      expect(error.hint).to.contain('--terminus PATH').and.to.contain('PBM_TERMINUS').and.to.contain('install')
    }
  })

  it('terminus not executable', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pbm-noexec-'))
    try {
      const bin = path.join(dir, 'terminus')
      writeFileSync(bin, '#!/bin/sh\necho 3.6.1\n')
      chmodSync(bin, 0o644)
      const error = await expectCode(terminusFor(sb, {bin}).listSites(), 'terminus-not-found')
      expect(error.message).to.contain('not executable')
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })

  it('output that is not what Terminus prints is "failed", never a crash', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pbm-badout-'))
    try {
      const bin = path.join(dir, 'terminus')
      const url = 'https://storage.googleapis.com/b/x.sql.gz?Expires=1&Signature=SECRET'
      writeFileSync(bin, `#!/bin/sh\necho 'this is not json nor a URL: ${url} x'\n`)
      chmodSync(bin, 0o755)
      const broken = terminusFor(sb, {bin})
      const list = await expectCode(broken.listBackups('alpha', 'live'), 'failed')
      const get = await expectCode(broken.backupUrl('alpha', 'live', {element: 'code'}), 'failed')
      for (const error of [list, get]) expect(error.message).not.to.contain('SECRET')
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })
})
