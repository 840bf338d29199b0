/**
 * The mirror job on its own: no listr2, no command, no renderer. A recording sink takes its events;
 * the sandbox's terminus and a real local folder do the work. What the events say is checked against
 * what the sandbox holds and what landed on disk, never against the job's own result alone.
 */
import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {createSandbox, type Sandbox} from '../../../sandbox/index.js'
import {createLocalDestination} from '../../../src/destination/index.js'
import {InterruptedError} from '../../../src/errors.js'
import {type EventSink, type JobEvent, targetId} from '../../../src/jobs/events.js'
import {mirror, type MirrorPlan} from '../../../src/jobs/mirror.js'
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

const plan = (over: Partial<MirrorPlan>): MirrorPlan => ({
  all: false,
  concurrency: 2,
  create: false,
  createTimeoutMs: 60_000,
  dryRun: false,
  elements: ['code', 'files', 'database'],
  failFast: false,
  force: false,
  targets: [],
  ...over,
})

describe('jobs: mirror with a recording event sink', () => {
  let sandbox: Sandbox
  let root: string
  let terminus: Terminus

  before(async () => {
    sandbox = await createSandbox({
      sites: [
        {
          envs: [
            {backups: [{date: daysAgo(1)}], name: 'live'},
            {initialized: false, name: 'dev'},
          ],
          name: 'alpha',
        },
        {envs: [{backups: [{date: daysAgo(2), faults: {database: {corruptAt: 100}}}], name: 'live'}], name: 'bravo'},
        {envs: [{backups: [{date: daysAgo(1)}], name: 'live'}], frozen: true, name: 'ice'},
      ],
    })
    terminus = new Terminus({bin: sandbox.terminusPath, env: sandbox.env})
    root = await mkdtemp(path.join(tmpdir(), 'pbm-job-'))
  })

  after(async () => {
    await sandbox?.close()
    await rm(root, {force: true, recursive: true})
  })

  it('tells each site.env and archive from start to end, and what it says is what landed', async () => {
    const events = new Recorder()
    const destinations = [createLocalDestination({root})]
    const targets = ['alpha.live', 'alpha.dev', 'bravo.live', 'ice.live'].map((t) => {
      const [site, env] = t.split('.')
      return {env, site}
    })
    const result = await mirror(plan({targets}), {destinations, events, terminus}, new AbortController().signal)

    // Every target is told once how it ended: skipped (uninitialized), failed (a corrupt archive) or mirrored
    // (a frozen site's listed backups too).
    const ends = new Map<string, string>()
    for (const e of events.events) {
      if (e.type === 'target:skipped') ends.set(targetId(e.target), 'skipped')
      if (e.type === 'target:failed') ends.set(targetId(e.target), 'failed')
      if (e.type === 'target:done') ends.set(targetId(e.target), e.status)
    }

    expect(Object.fromEntries(ends)).to.deep.equal({
      'alpha.dev': 'skipped',
      'alpha.live': 'mirrored',
      'bravo.live': 'failed',
      'ice.live': 'mirrored',
    })

    // Each archive of alpha.live and bravo.live: queued, started, then done or failed, in that order.
    const expected = sandbox.archives().filter((a) => a.env === 'live' && (a.site === 'alpha' || a.site === 'bravo'))
    expect(expected).to.have.length(6)
    for (const archive of expected) {
      const own = events.events
        .filter((e) => 'archive' in e && e.archive.file === archive.file)
        .map((e) => e.type)
        .filter((t) => t !== 'archive:progress')
      const end = archive.site === 'bravo' && archive.element === 'database' ? 'archive:failed' : 'archive:done'
      expect(own, archive.file).to.deep.equal(['archive:queued', 'archive:started', end])
    }

    // What the done events claim is on disk, byte for byte (the sandbox's MD5, not pbm's).
    for (const done of events.of('archive:done')) {
      const archive = sandbox.archive(done.archive.file)
      const bytes = await readFile(path.join(root, archive.site, archive.env, archive.file))
      expect(createHash('md5').update(bytes).digest('hex'), archive.file).to.equal(archive.md5)
      expect(done.rows[0].md5).to.equal(archive.md5)
    }

    const failed = events.of('archive:failed')
    expect(failed.map((f) => f.archive.file)).to.deep.equal(
      expected.filter((a) => a.site === 'bravo' && a.element === 'database').map((a) => a.file),
    )
    expect(failed[0].error.code).to.not.equal('interrupted')

    // The summary event is the result's summary, and it comes last.
    const last = events.events.at(-1)
    expect(last?.type).to.equal('run:summary')
    expect(last).to.deep.include({summary: result.summary})
    expect(result.summary).to.include({failed: 1, transferred: 8})
  })

  it('an aborted run ends every archive it started as interrupted, with no event after the summary', async () => {
    const events = new Recorder()
    const controller = new AbortController()
    const destinations = [createLocalDestination({root: path.join(root, 'aborted')})]
    // Stop the run the moment the first archive starts to move.
    const sink: EventSink = {
      emit(e) {
        events.emit(e)
        if (e.type === 'archive:started' && !controller.signal.aborted) controller.abort(new InterruptedError())
      },
    }
    const result = await mirror(
      plan({concurrency: 1, force: true, targets: [{env: 'live', site: 'alpha'}]}),
      {destinations, events: sink, terminus},
      controller.signal,
    )
    expect(result.summary.transferred).to.be.lessThan(3)
    const ended = [...events.of('archive:done'), ...events.of('archive:failed')]
    expect(ended).to.have.length(3)
    for (const f of events.of('archive:failed')) expect(f.error.code).to.equal('interrupted')
    expect(events.events.at(-1)?.type).to.equal('run:summary')
  })
})
