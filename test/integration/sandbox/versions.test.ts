import {expect} from 'chai'

import {createSandbox, type Sandbox} from '../../../sandbox/index.js'
import {terminus} from './helpers.js'

const TELEMETRY =
  ' [error]  HTTP request POST https://terminus.pantheon.io/api/track has failed with error cURL error 28: Connection timed out after 2001 milliseconds (see https://curl.haxx.se/libcurl/c/libcurl-errors.html) for https://terminus.pantheon.io/api/track. \n'

/** What real Terminus 3.4, 3.6 and 4.x do differently (../../../../shared/TERMINUS.md, "Verified by running real Terminus"). */
describe('sandbox terminus: the version it impersonates', () => {
  let sb: Sandbox
  let url: string

  before(async () => {
    sb = await createSandbox({
      sites: [
        {
          envs: [
            {backups: [{date: '2024-05-01T03:12:44Z'}], importFails: 'Import failed: no space left.', name: 'live'},
          ],
          name: 'alpha',
        },
        {createFails: 'Workflow failed.', envs: [{name: 'live'}], name: 'broken'},
        {
          envs: [{name: 'dev'}, {name: 'test'}, {backups: [{date: '2024-05-01T03:12:44Z'}], name: 'live'}],
          frozen: true,
          name: 'ice',
        },
      ],
    })
    url = sb.url('alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz')
  })

  after(async () => sb?.close())

  afterEach(() => {
    sb.setTerminusVersion('3.6.1')
    sb.setTelemetryFails(false)
  })

  it('prints the version set (3.6.1 by default), from the spec, the setter or the environment', async () => {
    expect((await terminus(sb, ['--version'])).stdout).to.equal('Terminus 3.6.1\n')
    sb.setTerminusVersion('3.4.0')
    expect((await terminus(sb, ['--version'])).stdout).to.equal('Terminus 3.4.0\n')
    expect((await terminus(sb, ['--version'], {PBM_SANDBOX_TERMINUS_VERSION: '4.0.0'})).stdout).to.equal(
      'Terminus 4.0.0\n',
    )
    expect(() => sb.setTerminusVersion('latest')).to.throw(/3\.6\.1/)
  })

  it('3.4: a failed backup:create says it created a backup and exits 0, and none is listed', async () => {
    sb.setTerminusVersion('3.4.0')
    expect(await terminus(sb, ['backup:create', 'broken.live', '-n'])).to.deep.equal({
      exitCode: 0,
      stderr: ' [notice] Created a backup of the live environment.\n',
      stdout: '',
    })
    expect(sb.archives().filter((a) => a.site === 'broken')).to.deep.equal([])
    // 3.5+: the reason and exit 1.
    sb.setTerminusVersion('3.5.0')
    expect(await terminus(sb, ['backup:create', 'broken.live', '-n'])).to.deep.equal({
      exitCode: 1,
      stderr: ' [error]  Workflow failed. \n',
      stdout: '',
    })
  })

  it('3.4: a failed import says it imported and exits 0, and nothing is imported', async () => {
    sb.setTerminusVersion('3.4.0')
    expect(await terminus(sb, ['import:database', 'alpha.live', url, '-n', '--yes'])).to.deep.equal({
      exitCode: 0,
      stderr: ' [notice] Imported database to alpha.live.\n',
      stdout: '',
    })
    expect(sb.imports('alpha', 'live')).to.deep.equal([])
    sb.setTerminusVersion('4.0.0')
    expect(await terminus(sb, ['import:database', 'alpha.live', url, '-n', '--yes'])).to.deep.equal({
      exitCode: 1,
      stderr: ' [error]  Import failed: no space left. \n',
      stdout: '',
    })
  })

  it('3.6+ with failing telemetry: the [error] line after a success (exit 0) and after the real error', async () => {
    sb.setTelemetryFails(true)
    const listed = await terminus(sb, ['backup:list', 'alpha.live', '--format=json', '-n'])
    expect(listed.exitCode).to.equal(0)
    expect(Object.keys(JSON.parse(listed.stdout))).to.have.length(3)
    expect(listed.stderr).to.equal(TELEMETRY)
    const created = await terminus(sb, ['backup:create', 'alpha.live', '--element=db', '-n'])
    expect(created).to.deep.equal({
      exitCode: 0,
      stderr: ' [notice] Created a backup of the live environment.\n' + TELEMETRY,
      stdout: '',
    })
    expect(await terminus(sb, ['backup:create', 'broken.live', '-n'])).to.deep.equal({
      exitCode: 1,
      stderr: ' [error]  Workflow failed. \n' + TELEMETRY,
      stdout: '',
    })
    // 4.x as 3.6; 3.5 and older post no telemetry.
    sb.setTerminusVersion('4.0.0')
    expect((await terminus(sb, ['site:list', '-n'])).stderr).to.equal(TELEMETRY)
    sb.setTerminusVersion('3.5.0')
    expect((await terminus(sb, ['site:list', '-n'])).stderr).to.equal('')
    // --version runs no command: no telemetry.
    sb.setTerminusVersion('3.6.1')
    expect(await terminus(sb, ['--version'])).to.deep.equal({exitCode: 0, stderr: '', stdout: 'Terminus 3.6.1\n'})
  })

  it('a frozen site: env:list has only dev, with a warning; backup:list of its live still answers', async () => {
    const envs = await terminus(sb, ['env:list', 'ice', '--format=json', '-n'])
    expect(envs.exitCode).to.equal(0)
    expect(Object.keys(JSON.parse(envs.stdout))).to.deep.equal(['dev'])
    expect(envs.stderr).to.equal(' [warning] This site is frozen. Its test and live environments are unavailable.\n')
    const backups = await terminus(sb, ['backup:list', 'ice.live', '--format=json', '-n'])
    expect(backups.exitCode).to.equal(0)
    expect(Object.keys(JSON.parse(backups.stdout))).to.have.length(3)
  })

  it('an unknown site: the lookup failure with a colon and the API’s text', async () => {
    expect(await terminus(sb, ['backup:list', 'ghost.live', '-n'])).to.deep.equal({
      exitCode: 1,
      stderr: ' [error]  Could not locate a site your user may access identified by ghost: Not Found \n',
      stdout: '',
    })
  })

  it('the sandbox’s own terminus finds its state without any environment variable', async () => {
    const {execa} = await import('execa')
    const r = await execa(sb.terminusPath, ['site:list', '--format=json', '-n'], {
      env: {PATH: process.env.PATH ?? ''},
      extendEnv: false,
      reject: false,
    })
    expect(r.exitCode, r.stderr).to.equal(0)
    expect(Object.values<{name: string}>(JSON.parse(r.stdout)).map((s) => s.name)).to.include('alpha')
    expect(sb.calls().at(-1)?.env).to.deep.equal(['PATH'])
  })
})
