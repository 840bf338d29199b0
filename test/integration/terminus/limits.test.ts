import {expect} from 'chai'
import createDebug from 'debug'
import {readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {format} from 'node:util'

import {Terminus, TerminusBudget, type TerminusPause} from '../../../src/terminus/index.js'
import {CallRecorder, createSandbox, failure, type Sandbox, terminusFor, until} from './helpers.js'

const extraRecorders: CallRecorder[] = []
// A lookup that times out having printed nothing is tried once more after a pause: keep it short here.
const quickBudget = () => new TerminusBudget({backoff: {baseMs: 50, maxMs: 50, maxAttempts: 3}})

describe('terminus adapter against the sandbox: timeouts, aborts, limits, environment', () => {
  let sb: Sandbox
  let recorder: CallRecorder

  before(async () => {
    sb = await createSandbox({
      sites: [
        {
          name: 'alpha',
          envs: ['live', 'test', 'dev'].map((name) => ({name, backups: [{date: '2024-05-01T03:12:44Z'}]})),
        },
      ],
    })
  })

  beforeEach(() => {
    recorder = new CallRecorder(sb)
  })

  afterEach(() => {
    recorder.close()
    for (const extra of extraRecorders.splice(0)) extra.close()
    sb.setLatency(0)
    sb.setCreateMs(0)
  })

  after(async () => {
    await sb.close()
  })

  it('stops a call that takes longer than the timeout', async () => {
    // Far longer than the mocha timeout: only the adapter's own timeout can end this call.
    sb.setLatency(120_000)
    const error = await failure(terminusFor(sb, {budget: quickBudget(), timeoutMs: 300}).listBackups('alpha', 'live'))
    expect(error.code).to.equal('timeout')
    expect(error.message).to.contain('backup:list').and.to.contain('300 ms')
  })

  it('a per-call timeout overrides the adapter’s', async () => {
    sb.setLatency(1000)
    const terminus = terminusFor(sb, {budget: quickBudget(), timeoutMs: 60_000})
    expect((await failure(terminus.listSites({timeoutMs: 300}))).code).to.equal('timeout')
  })

  it('a lookup that timed out having printed nothing is tried once more, after a pause of every call', async () => {
    // Silent, as Terminus is while it retries a throttled request.
    sb.setLatency(120_000)
    // exec: the timeout's kill reaches the stand-in itself, not only a shell around it.
    const silent = new CallRecorder(sb, {exec: true})
    extraRecorders.push(silent)
    const pauses: TerminusPause[] = []
    const budget = new TerminusBudget({
      backoff: {baseMs: 50, maxMs: 50, maxAttempts: 3},
      onPause(pause) {
        pauses.push(pause)
        // Pantheon lets up during the pause: the second try answers.
        sb.setLatency(0)
      },
    })
    const backups = await terminusFor(sb, {bin: silent.bin, budget, timeoutMs: 5000}).listBackups('alpha', 'live')
    expect(backups).to.have.length(3)
    expect(silent.calls().map((c) => c.args[0])).to.deep.equal(['backup:list', 'backup:list'])
    expect(pauses.map((p) => p.command)).to.deep.equal(['backup:list'])
  })

  it('a second silent timeout is a timeout (one retry only), and a create is never retried', async () => {
    sb.setLatency(120_000)
    const silent = new CallRecorder(sb, {exec: true})
    extraRecorders.push(silent)
    const budget = quickBudget()
    const t = terminusFor(sb, {bin: silent.bin, budget, timeoutMs: 300})
    expect((await failure(t.listBackups('alpha', 'live'))).code).to.equal('timeout')
    expect(silent.calls().map((c) => c.args[0])).to.deep.equal(['backup:list', 'backup:list'])
    // backup:create is silent by nature while it waits for the workflow: a timeout there is final.
    expect((await failure(t.createBackup('alpha', 'dev', {timeoutMs: 300}))).code).to.equal('timeout')
    expect(silent.calls().filter((c) => c.args[0] === 'backup:create')).to.have.length(1)
  })

  it('stops a running call when its signal aborts, with the signal’s reason', async () => {
    sb.setLatency(120_000)
    const controller = new AbortController()
    let error: Error
    const execRecorder = new CallRecorder(sb, {exec: true})
    try {
      const call = failure(
        terminusFor(sb, {bin: execRecorder.bin}).listBackups('alpha', 'live', {signal: controller.signal}),
      )
      // Abort once Terminus is running (seen from outside the adapter), not after a guessed delay.
      await until(() => execRecorder.calls().length === 1)
      controller.abort(new Error('user pressed Ctrl-C'))
      error = await call
    } finally {
      execRecorder.close()
    }

    expect(error.message).to.equal('user pressed Ctrl-C')
  })

  it('drops a queued call when its signal aborts, without running it', async () => {
    sb.setLatency(600)
    const terminus = terminusFor(sb, {bin: recorder.bin, concurrency: 1})
    const controller = new AbortController()
    const running = terminus.listSites()
    const queued = terminus.listBackups('alpha', 'live', {signal: controller.signal})
    controller.abort()
    expect((await failure(queued)).name).to.equal('AbortError')
    await running
    expect(recorder.calls().map((c) => c.args[0])).to.deep.equal(['site:list'])
  })

  it('refuses to start with an already aborted signal', async () => {
    const error = await failure(terminusFor(sb, {bin: recorder.bin}).listSites({signal: AbortSignal.abort()}))
    expect(error.name).to.equal('AbortError')
    expect(recorder.calls()).to.deep.equal([])
  })

  it('never runs more calls at once than its concurrency', async () => {
    sb.setLatency(300)
    const terminus = terminusFor(sb, {bin: recorder.bin, concurrency: 2})
    await Promise.all(Array.from({length: 6}, (_, i) => terminus.listBackups('alpha', ['live', 'test', 'dev'][i % 3])))
    expect(recorder.calls()).to.have.length(6)
    expect(recorder.maxOverlap()).to.equal(2)
  })

  it('limits backup:create apart, so long creates do not hold up lookups', async () => {
    // The creates are held (not slowed by a clock) until the lookup has ended: the order is by events.
    const held = new CallRecorder(sb, {holdCreates: true})
    try {
      const terminus = terminusFor(sb, {bin: held.bin, concurrency: 1, createConcurrency: 2})
      const creates = ['live', 'test', 'dev'].map((env) => terminus.createBackup('alpha', env))
      await until(() => held.calls().filter((c) => c.args[0] === 'backup:create').length === 2)
      // With one shared slot this lookup would wait behind the held creates forever.
      await terminus.listBackups('alpha', 'live')
      const calls = held.calls()
      const lookup = calls.find((c) => c.args[0] === 'backup:list')!
      expect(lookup.end).to.be.a('number')
      expect(calls.filter((c) => c.args[0] === 'backup:create')).to.have.length(2)
      expect(calls.filter((c) => c.args[0] === 'backup:create' && c.end !== undefined)).to.deep.equal([])
      held.release()
      await Promise.all(creates)
      const all = held.calls()
      expect(all.filter((c) => c.args[0] === 'backup:create')).to.have.length(3)
      expect(held.maxOverlap((c) => c.args[0] === 'backup:create')).to.equal(2)
    } finally {
      held.release()
      held.close()
    }
  })

  it('runs Terminus in an empty directory of its own, or the one given', async () => {
    await terminusFor(sb, {bin: recorder.bin}).listSites()
    const custom = tmpdir()
    await terminusFor(sb, {bin: recorder.bin, cwd: custom}).listSites()
    const [own, given] = recorder.calls()
    expect(own.cwd).not.to.equal(process.cwd())
    expect(path.dirname(own.cwd)).to.equal(path.resolve(tmpdir()))
    expect(readdirSync(own.cwd)).to.deep.equal([])
    expect(given.cwd).to.equal(custom)
  })

  it('passes TERMINUS_USER and other variables through', async () => {
    const previous = process.env.TERMINUS_USER
    process.env.TERMINUS_USER = 'from-env@example.com'
    try {
      await terminusFor(sb, {bin: recorder.bin}).listSites()
      await terminusFor(sb, {bin: recorder.bin, env: {TERMINUS_USER: 'option@example.com'}}).listSites()
    } finally {
      if (previous === undefined) delete process.env.TERMINUS_USER
      else process.env.TERMINUS_USER = previous
    }

    expect(recorder.calls().map((c) => c.env.TERMINUS_USER)).to.deep.equal([
      'from-env@example.com',
      'option@example.com',
    ])
  })

  it('gives Terminus no AWS_* variables (credentials are for the S3 client only)', async () => {
    const saved = {id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY}
    process.env.AWS_ACCESS_KEY_ID = 'AKIAEXAMPLE'
    process.env.AWS_SECRET_ACCESS_KEY = 'secret-for-s3-only'
    try {
      await terminusFor(sb, {bin: recorder.bin}).listSites()
    } finally {
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    }

    // The recorder does see AWS_* variables when they are passed on purpose.
    await terminusFor(sb, {bin: recorder.bin, env: {AWS_PROBE: '1'}}).listSites()
    expect(recorder.calls().map((c) => c.env.AWS)).to.deep.equal(['-', 'AWS_PROBE'])
  })

  it('gives Terminus only an allow-list of our environment; TERMINUS_HTTP_MAX_RETRIES is dropped with one warning', async () => {
    const set: Record<string, string> = {
      HTTPS_PROXY: 'http://proxy.example:3128',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      PBM_PING: 'https://hc-ping.example/secret-uuid',
      PBM_SANDBOX_THROTTLE: '1/1h',
      PHPRC: '/etc/php-terminus',
      RESTIC_PASSWORD: 'vault-secret',
      TERMINUS_HTTP_MAX_RETRIES: '3',
      TERMINUS_USER: 'me@example.com',
      XDG_CONFIG_HOME: '/home/me/.config',
      https_proxy: 'http://proxy.example:3128',
    }
    const saved = Object.fromEntries(Object.keys(set).map((name) => [name, process.env[name]]))
    Object.assign(process.env, set)
    const warnings: string[] = []
    try {
      // The sandbox's own terminus needs no variable: nothing is added for it here.
      const t = new Terminus({bin: sb.terminusPath, onWarning: (m) => warnings.push(m)})
      sb.resetCalls()
      await t.listSites()
      await t.listSites()
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    }

    const [first] = sb.calls()
    expect(first.env).to.include.members([
      'HTTPS_PROXY',
      'LANG',
      'LC_ALL',
      'PATH',
      'PHPRC',
      'TERMINUS_USER',
      'XDG_CONFIG_HOME',
      'https_proxy',
    ])
    for (const name of ['PBM_PING', 'PBM_SANDBOX_THROTTLE', 'RESTIC_PASSWORD', 'TERMINUS_HTTP_MAX_RETRIES']) {
      expect(first.env, name).to.not.include(name)
    }

    expect(first.env.filter((name) => /^(AWS|PBM|RESTIC)_/.test(name))).to.deep.equal([])
    // Once per adapter (one run), saying why.
    expect(warnings).to.have.length(1)
    expect(warnings[0]).to.match(/TERMINUS_HTTP_MAX_RETRIES .*not pass it to Terminus.*forever/)
  })

  it('logs each call under pbm:terminus with its exit code and duration, never a signed URL', async () => {
    const lines: string[] = []
    const originalLog = createDebug.log
    const previouslyEnabled = createDebug.disable()
    createDebug.enable('pbm:terminus')
    createDebug.log = (...args: unknown[]) => {
      lines.push(format(...args))
    }

    let url: string
    try {
      const terminus = terminusFor(sb)
      url = await terminus.backupUrl('alpha', 'live', {element: 'db'})
      await failure(terminus.listBackups('alpha', 'nope'))
    } finally {
      createDebug.log = originalLog
      createDebug.disable()
      if (previouslyEnabled) createDebug.enable(previouslyEnabled)
    }

    expect(lines).to.have.length(2)
    expect(lines[0]).to.match(
      /pbm:terminus terminus backup:get --element=database -n --no-ansi -- alpha\.live -> 0 in \d+ ms/,
    )
    expect(lines[1]).to.match(/backup:list .* -> 1 in \d+ ms/)
    const query = new URL(url).search
    expect(query).to.contain('Signature')
    for (const line of lines) expect(line).not.to.contain(query)
  })
})
