import {expect} from 'chai'

import {createSandbox, type Sandbox} from '../../../sandbox/index.js'
import {admit, parseThrottle} from '../../../sandbox/lib/throttle.js'
import {terminus} from './helpers.js'

// A window this long never slides during a test: what is admitted depends on counts, not on timing.
const HOUR = 3_600_000

describe('sandbox terminus throttling and call log', () => {
  let sb: Sandbox

  before(async () => {
    sb = await createSandbox({
      sites: [
        {name: 'alpha', envs: [{name: 'live', backups: [{date: '2024-05-01T03:12:44Z'}]}, {name: 'dev'}]},
        {name: 'beta', envs: [{name: 'live'}]},
      ],
    })
  })

  afterEach(() => {
    sb.setThrottle(null)
    sb.resetCalls()
  })

  after(async () => {
    await sb.close()
  })

  it('refuses calls beyond the allowance with what Terminus 3.x prints after its own retries', async () => {
    sb.setThrottle({calls: 2, windowMs: HOUR})
    const ok1 = await terminus(sb, ['backup:list', 'alpha.live', '--format=json', '-n'])
    const ok2 = await terminus(sb, ['env:list', 'alpha', '--format=json', '-n'])
    const refused = await terminus(sb, ['backup:get', 'alpha.live', '--element=database', '-n'])
    expect([ok1.exitCode, ok2.exitCode]).to.deep.equal([0, 0])
    expect(refused.exitCode).to.equal(1)
    expect(refused.stdout).to.equal('')
    // A command on a site looks the site up first, and Terminus rewords that lookup's failure.
    expect(refused.stderr).to.equal(
      ' [error]  HTTP request GET https://terminus.pantheon.io:443/api/site-names/alpha has failed with error . \n' +
        ' [error]  Could not locate a site your user may access identified by alpha: HTTP request has failed with error "Maximum retry attempts reached". \n',
    )
    // Without a site, the request's own failure.
    const listed = await terminus(sb, ['site:list', '-n'])
    expect(listed.stderr).to.equal(
      ' [error]  HTTP request GET https://terminus.pantheon.io:443/api/users/me/memberships/sites?limit=100 has failed with error . \n' +
        ' [error]  HTTP request has failed with error "Maximum retry attempts reached". \n',
    )
  })

  it('shares the allowance between concurrent processes', async () => {
    sb.setThrottle({calls: 5, windowMs: HOUR})
    const results = await Promise.all(
      Array.from({length: 12}, (_, i) => terminus(sb, ['backup:list', i % 2 ? 'alpha.live' : 'beta.live', '-n'])),
    )
    expect(results.filter((r) => r.exitCode === 0)).to.have.length(5)
    expect(results.filter((r) => /Maximum retry attempts reached/.test(r.stderr))).to.have.length(7)
    const calls = sb.calls()
    expect(calls).to.have.length(12)
    expect(calls.filter((c) => c.throttled)).to.have.length(7)
    expect(calls.every((c) => c.throttled === (c.exitCode === 1))).to.equal(true)
  })

  it('words the refusal as Terminus 1.x/2.x (boxed Guzzle 429) or as the historic hourly cap', async () => {
    sb.setThrottle({calls: 1, windowMs: HOUR, wording: 'guzzle'})
    await terminus(sb, ['site:list', '-n'])
    const boxed = await terminus(sb, ['backup:create', 'beta.live', '-n'])
    expect(boxed.exitCode).to.equal(1)
    expect(boxed.stderr).to.match(/^\nIn RequestException\.php line 113:\n/)
    // Symfony wraps the box at the terminal width: join its lines back.
    const unwrapped = boxed.stderr
      .split('\n')
      .map((line) => line.trim())
      .join('')
    expect(unwrapped).to.match(
      /Client error: `GET https:\/\/terminus\.pantheon\.io:443\/api\/site-names\/beta` resulted in a `429 Too Many Requests` response:Too Many Requests$/,
    )

    sb.setThrottle({calls: 1, windowMs: HOUR, wording: 'slow-your-roll'})
    await terminus(sb, ['site:list', '-n'])
    const capped = await terminus(sb, ['site:list', '-n'])
    expect(capped).to.deep.include({exitCode: 1, stdout: ''})
    expect(capped.stderr).to.equal(
      ' [error]  Request failed: 403 "You have already made 1,000 requests in the past hour. Slow your roll." \n',
    )
    const cappedOnSite = await terminus(sb, ['backup:list', 'beta.live', '-n'])
    expect(cappedOnSite.stderr).to.equal(
      ' [error]  Could not locate a site your user may access identified by beta: You have already made 1,000 requests in the past hour. Slow your roll. \n',
    )
  })

  it('takes PBM_SANDBOX_THROTTLE over the spec, for processes given it', async () => {
    const env = {PBM_SANDBOX_THROTTLE: '1/1h:slow-your-roll'}
    expect((await terminus(sb, ['site:list', '-n'], env)).exitCode).to.equal(0)
    const refused = await terminus(sb, ['site:list', '-n'], env)
    expect(refused.stderr).to.include('Slow your roll.')
    // Without the variable and with no throttle set, nothing is refused.
    expect((await terminus(sb, ['site:list', '-n'])).exitCode).to.equal(0)
  })

  it('never counts local commands or calls that fail before reaching the API', async () => {
    sb.setThrottle({calls: 1, windowMs: HOUR})
    for (let i = 0; i < 3; i++) {
      expect((await terminus(sb, ['auth:whoami', '-n'])).stdout).to.equal('dev@example.com\n')
      expect((await terminus(sb, ['backup:list', 'alpha.live', '--bogus'])).stderr).to.include('option does not exist')
    }

    expect((await terminus(sb, ['backup:list', 'alpha.live', '-n'])).exitCode).to.equal(0)
    expect((await terminus(sb, ['backup:list', 'alpha.live', '-n'])).exitCode).to.equal(1)
  })

  it('logs every command with its target, exit code and whether it was refused', async () => {
    sb.setThrottle({calls: 3, windowMs: HOUR})
    await terminus(sb, ['backup:ls', 'alpha.live', '-n'])
    await terminus(sb, ['backup:get', 'alpha.live', '--element=db', '-n'])
    await terminus(sb, ['backup:get', 'alpha.dev', '--element=db', '-n'])
    await terminus(sb, ['backup:list', 'beta.live', '-n'])
    await terminus(sb, ['--version'])
    const calls = sb.calls()
    expect(
      calls.map(({command, exitCode, target, throttled}) => ({command, exitCode, target, throttled})),
    ).to.deep.equal([
      {command: 'backup:list', exitCode: 0, target: 'alpha.live', throttled: false},
      {command: 'backup:get', exitCode: 0, target: 'alpha.live', throttled: false},
      // Admitted (third of three), then failed on its own: no backups in dev.
      {command: 'backup:get', exitCode: 1, target: 'alpha.dev', throttled: false},
      {command: 'backup:list', exitCode: 1, target: 'beta.live', throttled: true},
      // Never refused (no API call), and logged so that tests can count it.
      {command: '--version', exitCode: 0, target: null, throttled: false},
    ])
    // Which environment variables reached it, by name.
    expect(calls[0].env).to.include('PBM_SANDBOX_DIR').and.include('COLUMNS')
    expect(sb.callCounts()).to.deep.equal({'--version': 1, 'backup:get': 2, 'backup:list': 2})
    sb.resetCalls()
    expect(sb.calls()).to.deep.equal([])
  })

  it('slides the window: a place frees up windowMs after it was taken', async () => {
    let t = 1_000_000
    const now = () => t
    const config = {calls: 2, windowMs: 1000}
    expect(await admit(sb.dir, config, now)).to.equal(true)
    t += 400
    expect(await admit(sb.dir, config, now)).to.equal(true)
    t += 599
    expect(await admit(sb.dir, config, now)).to.equal(false)
    t += 1 // the first place (taken at +0) leaves the window at +1000
    expect(await admit(sb.dir, config, now)).to.equal(true)
    expect(await admit(sb.dir, config, now)).to.equal(false)
    t += 400 // the second (+400) leaves at +1400
    expect(await admit(sb.dir, config, now)).to.equal(true)
  })

  it('parses CALLS/WINDOW[:WORDING] and rejects anything else', () => {
    expect(parseThrottle('5/1s')).to.deep.equal({calls: 5, windowMs: 1000, wording: 'retries'})
    expect(parseThrottle('1000/1h:slow-your-roll')).to.deep.equal({
      calls: 1000,
      windowMs: 3_600_000,
      wording: 'slow-your-roll',
    })
    expect(parseThrottle('200/300000')).to.deep.equal({calls: 200, windowMs: 300_000, wording: 'retries'})
    for (const bad of ['', '5', '0/1s', '5/0', '5/1s:polite', 'x/1s', '5/1d']) {
      expect(() => parseThrottle(bad), bad).to.throw(/sandbox:/)
    }

    expect(() => sb.setThrottle({calls: 0, windowMs: 1})).to.throw(/throttle\.calls/)
  })
})
