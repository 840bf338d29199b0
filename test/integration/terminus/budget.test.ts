import {expect} from 'chai'

import {TerminusBudget, type TerminusPause} from '../../../src/terminus/index.js'
import {createSandbox, failure, type Sandbox, terminusFor} from './helpers.js'

const HOUR = 3_600_000
const SITES = ['alpha', 'beta', 'gamma', 'delta']
const ENVS = ['dev', 'test', 'live', 'multidev1']

describe('terminus adapter budget against a throttling sandbox', () => {
  let sb: Sandbox

  before(async () => {
    sb = await createSandbox({
      sites: SITES.map((name) => ({
        name,
        envs: ENVS.map((env) => ({name: env, backups: [{date: '2024-05-01T03:12:44Z'}]})),
      })),
    })
  })

  afterEach(() => {
    sb.setThrottle(null)
    sb.resetCalls()
  })

  after(async () => {
    await sb.close()
  })

  const targets = SITES.flatMap((site) => ENVS.map((env) => [site, env] as const))

  it('completes a run of many calls against N per window without a failure, each call admitted once', async () => {
    // 2 calls per 1.5 s, 6 spawned at once: the sandbox throttles from the start and all along.
    sb.setThrottle({calls: 2, windowMs: 1500})
    const budget = new TerminusBudget({backoff: {baseMs: 1000, maxMs: 4000, maxAttempts: 10}})
    const concurrency = 6
    const t = terminusFor(sb, {budget, concurrency})
    const some = targets.slice(0, 8)
    const lists = await Promise.all(some.map(([site, env]) => t.listBackups(site, env)))
    expect(lists.map((l) => l.length)).to.deep.equal(some.map(() => 3))

    const calls = sb.calls()
    const admitted = calls.filter((c) => !c.throttled)
    const refused = calls.filter((c) => c.throttled)
    expect(admitted.map((c) => c.target).sort()).to.deep.equal(some.map(([s, e]) => `${s}.${e}`).sort())
    expect(refused.length).to.be.greaterThan(0)
    expect(budget.stats.throttled).to.equal(refused.length)
    // Bounded whatever the timing: a refused call either decides a pause or was already running when
    // one was decided, so each pause accounts for at most `concurrency` refused calls.
    expect(refused.length).to.be.at.most(concurrency * budget.stats.pauses)
  })

  it('holds every call during a pause and resumes when Pantheon lets up', async () => {
    // Four places and no sliding: the 5th and 6th of six simultaneous calls are refused, until the
    // throttle is lifted when the first pause begins.
    sb.setThrottle({calls: 4, windowMs: HOUR})
    const pauses: TerminusPause[] = []
    const budget = new TerminusBudget({
      backoff: {baseMs: 400, maxMs: 400, maxAttempts: 3},
      onPause(pause) {
        pauses.push(pause)
        sb.setThrottle(null)
      },
    })
    const t = terminusFor(sb, {budget, concurrency: 6})
    const some = targets.slice(0, 12)
    await Promise.all(some.map(([site, env]) => t.listBackups(site, env)))
    const calls = sb.calls()
    expect(calls.filter((c) => !c.throttled)).to.have.length(12)
    // One pause: the other refused calls (if any) were in flight when it was decided, so at most the
    // concurrency of them (how many depends on how fast refusals come back, not on the budget).
    expect(pauses).to.have.length(1)
    expect(calls.filter((c) => c.throttled).length).to.be.within(1, 6)
    // No call started during the pause: of the calls that ended after the first refusal, all but the
    // (at most 5) others already running then ended after the pause (the log is in order of ending).
    const afterRefusal = calls.slice(calls.findIndex((c) => c.throttled) + 1).filter((c) => !c.throttled)
    expect(afterRefusal.length).to.be.at.least(12 - 5)
    for (const c of afterRefusal.slice(5)) expect(c.time).to.be.at.least(pauses[0].until)
  })

  it('stays under the limit with --terminus-rate below it, creates included', async () => {
    // 3 per 600 ms allowed; 150/min spaces calls 400 ms apart, so 4 calls span 1.2 s.
    sb.setThrottle({calls: 3, windowMs: 600})
    const pauses: TerminusPause[] = []
    const budget = new TerminusBudget({callsPerMinute: 150, onPause: (p) => pauses.push(p)})
    const t = terminusFor(sb, {budget, concurrency: 4})
    await Promise.all([
      ...targets.slice(0, 7).map(([site, env]) => t.listBackups(site, env)),
      t.createBackup('alpha', 'live', {element: 'db'}),
      t.createBackup('beta', 'live', {element: 'db'}),
    ])
    const calls = sb.calls()
    expect(calls).to.have.length(10)
    expect(calls.filter((c) => c.throttled)).to.deep.equal([])
    // The version, asked once for both creates (outside the budget: it reaches no API).
    expect(sb.callCounts()).to.deep.equal({'--version': 1, 'backup:list': 7, 'backup:create': 2})
    expect(pauses).to.deep.equal([])
  })

  it('gives up after maxAttempts with a throttled error when Pantheon never lets up', async () => {
    sb.setThrottle({calls: 1, windowMs: HOUR})
    const budget = new TerminusBudget({backoff: {baseMs: 20, maxMs: 40, maxAttempts: 3}})
    const t = terminusFor(sb, {budget})
    await t.listBackups('alpha', 'live')
    const error = await failure(t.backupUrl('alpha', 'live', {element: 'db'}))
    expect(error).to.include({code: 'throttled'})
    expect(error.hint).to.match(/--terminus-rate/)
    expect(error.terminusMessage).to.include('Maximum retry attempts reached')
    expect(sb.calls().map((c) => [c.command, c.throttled])).to.deep.equal([
      ['backup:list', false],
      ['backup:get', true],
      ['backup:get', true],
      ['backup:get', true],
    ])
  })

  for (const wording of ['retries', 'guzzle', 'slow-your-roll'] as const) {
    it(`recognizes the ${wording} wording as throttling`, async () => {
      sb.setThrottle({calls: 1, windowMs: HOUR, wording})
      const t = terminusFor(sb, {budget: new TerminusBudget({backoff: {baseMs: 1, maxMs: 1, maxAttempts: 1}})})
      await t.listEnvironments('alpha')
      expect(await failure(t.listEnvironments('alpha'))).to.include({code: 'throttled'})
    })
  }

  it('stops a pause at once when the run is aborted', async () => {
    sb.setThrottle({calls: 1, windowMs: HOUR})
    const controller = new AbortController()
    // A pause far longer than the test's own timeout: only the abort can end it in time.
    const budget = new TerminusBudget({
      backoff: {baseMs: 200_000, maxMs: 200_000, maxAttempts: 5},
      onPause: () => controller.abort(new Error('stopped by the user')),
    })
    const t = terminusFor(sb, {budget})
    await t.listBackups('alpha', 'live')
    const error = await failure(t.listBackups('alpha', 'dev', {signal: controller.signal}))
    expect(error.message).to.equal('stopped by the user')
    expect(sb.calls().map((c) => c.throttled)).to.deep.equal([false, true])
  })
})
