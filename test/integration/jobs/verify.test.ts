/**
 * The verify job on its own, with a recording sink: the sandbox's terminus and a real local folder.
 * What the events and verdicts say is checked against the bytes on disk, which the tests damage.
 */
import {expect} from 'chai'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {createSandbox, type Sandbox} from '../../../sandbox/index.js'
import {InterruptedError} from '../../../src/errors.js'
import {openDestinations, openVerifyStores} from '../../../src/jobs/destinations.js'
import {type EventSink, type JobEvent, NO_EVENTS} from '../../../src/jobs/events.js'
import {mirror} from '../../../src/jobs/mirror.js'
import {verify, verifyExitCode, type VerifyPlan} from '../../../src/jobs/verify.js'
import {Terminus} from '../../../src/terminus/index.js'
import {daysAgo} from '../../helpers/cli.js'

class Recorder implements EventSink {
  readonly events: JobEvent[] = []

  emit(event: JobEvent): void {
    this.events.push(event)
  }

  of<T extends JobEvent['type']>(type: T): Array<Extract<JobEvent, {type: T}>> {
    return this.events.filter((e): e is Extract<JobEvent, {type: T}> => e.type === type)
  }
}

const plan = (over: Partial<VerifyPlan> = {}): VerifyPlan => ({
  concurrency: 2,
  deep: false,
  elements: ['code', 'files', 'database'],
  offline: false,
  repair: false,
  ...over,
})

describe('jobs: verify with a recording event sink', function () {
  this.timeout(120_000)
  let sandbox: Sandbox
  let root: string
  let terminus: Terminus
  const stores = () => openVerifyStores({local: {path: root}}, {})

  before(async () => {
    sandbox = await createSandbox({
      latencyMs: 0,
      sites: [
        {
          envs: [{backups: [{date: daysAgo(1), sizes: {database: 24 * 1024 * 1024}}], name: 'live'}],
          name: 'alpha',
        },
      ],
    })
    root = await mkdtemp(path.join(tmpdir(), 'pbm-verify-job-'))
    terminus = new Terminus({bin: sandbox.terminusPath, env: {...process.env, ...sandbox.env}})
    const done = await mirror(
      {
        all: false,
        concurrency: 3,
        create: false,
        createTimeoutMs: 60_000,
        dryRun: false,
        elements: ['code', 'files', 'database'],
        failFast: false,
        force: false,
        targets: [{env: 'live', site: 'alpha'}],
      },
      {destinations: openDestinations({local: {path: root}}, {}), events: NO_EVENTS, terminus},
      new AbortController().signal,
    )
    expect(done.summary.transferred).to.equal(3)
  })

  after(async () => {
    await sandbox?.close()
    await rm(root, {force: true, recursive: true})
  })

  it('--deep: its steps in order, the check step names the objects read, each is started, progresses and is checked', async () => {
    const events = new Recorder()
    const result = await verify(plan({deep: true}), {events, stores: stores(), terminus}, new AbortController().signal)
    const files = sandbox.archives().map((a) => path.join(root, 'alpha', 'live', a.file))
    expect(events.of('run:started')[0].steps!.map((s) => s.step)).to.deep.equal(['list', 'pantheon', 'check'])
    const steps = events.events.filter((e) => e.type === 'step:started' || e.type === 'step:done')
    expect(steps.map((e) => `${e.type} ${(e as {step: string}).step}`)).to.deep.equal([
      'step:started list',
      'step:done list',
      'step:started pantheon',
      'step:done pantheon',
      'step:started check',
      'step:done check',
    ])
    expect(events.of('step:done').map((e) => e.note)).to.deep.equal([
      '3 archives of 1 site.env',
      '1 site.env listed',
      '3 ok (3 read back)',
    ])
    expect(
      events
        .of('step:started')
        .find((e) => e.step === 'check')!
        .objects!.map((o) => o.location)
        .sort(),
    ).to.deep.equal(files.sort())
    expect(
      events
        .of('object:started')
        .map((e) => e.object.location)
        .sort(),
    ).to.deep.equal(files.sort())
    expect(events.of('object:checked').every((e) => e.deep)).to.equal(true)
    const db = sandbox.archives().find((a) => a.element === 'database')!
    const progress = events.of('object:progress').filter((e) => e.object.file === db.file)
    expect(progress.at(-1)!.progress).to.include({bytes: db.size, total: db.size})
    expect(result.summary.bytesRead).to.equal(sandbox.archives().reduce((sum, a) => sum + a.size, 0))
    expect(events.of('target:checked').map((e) => e.status)).to.deep.equal(['ok'])
  })

  it('a damaged archive Pantheon no longer lists is corrupt and reported as not repaired', async () => {
    const file = 'alpha_live_2020-01-01T00-00-00_UTC_database.sql.gz'
    const first = sandbox.archives().find((a) => a.element === 'database')!
    const good = await readFile(path.join(root, 'alpha', 'live', first.file))
    await mkdir(path.join(root, 'alpha', 'live'), {recursive: true})
    await writeFile(path.join(root, 'alpha', 'live', file), good.subarray(0, 5000))
    const {signal} = new AbortController()
    const result = await verify(
      plan({deep: true, repair: true}),
      {events: NO_EVENTS, stores: stores(), terminus},
      signal,
    )
    const row = result.objects.find((o) => o.file === file)!
    expect(row.status).to.equal('corrupt')
    expect(row.note).to.match(/truncated|corrupt/)
    expect(row.note).to.match(/not repaired: Pantheon no longer has it$/)
    expect(verifyExitCode(result.summary, signal)).to.equal(3)
    await rm(path.join(root, 'alpha', 'live', file))
  })

  it('Ctrl-C during a deep read stops the job with InterruptedError', async () => {
    const controller = new AbortController()
    const events: EventSink = {
      emit(e) {
        // The first read has begun: what Ctrl-C interrupts, deterministically (no race with a fast disk).
        if (e.type === 'object:started') controller.abort(new InterruptedError())
      },
    }
    let caught: unknown
    try {
      await verify(plan({deep: true}), {events, stores: stores(), terminus}, controller.signal)
    } catch (error) {
      caught = error
    }

    expect(caught).to.be.instanceOf(InterruptedError)
  })
})
