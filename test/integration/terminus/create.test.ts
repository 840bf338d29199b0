import {expect} from 'chai'

import {groupIntoSets} from '../../../src/catalog/index.js'
import {type Terminus, TerminusError} from '../../../src/terminus/index.js'
import {CallRecorder, createSandbox, failure, type Sandbox, terminusFor} from './helpers.js'

describe('terminus adapter against the sandbox: backup:create', () => {
  let sb: Sandbox
  let terminus: Terminus

  before(async () => {
    sb = await createSandbox({
      createMs: 200,
      sites: [
        {
          name: 'alpha',
          envs: [
            {name: 'live', backups: [{date: '2024-05-01T03:12:44Z'}]},
            {name: 'test'},
            {name: 'dev'},
            {name: 'fresh', initialized: false},
          ],
        },
        {
          name: 'broken',
          createFails: 'Backup failed: disk quota exceeded.',
          envs: [{name: 'live', backups: [{date: '2024-05-01T03:12:44Z'}]}],
        },
      ],
    })
    terminus = terminusFor(sb)
  })

  after(async () => {
    await sb.close()
  })

  it('creates a backup of every element; listing again shows it as the newest set', async () => {
    const before = groupIntoSets(await terminus.listBackups('alpha', 'live'))
    await terminus.createBackup('alpha', 'live')
    const after = groupIntoSets(await terminus.listBackups('alpha', 'live'))
    expect(after).to.have.length(before.length + 1)
    expect(after[0].backups.map((b) => b.element)).to.deep.equal(['code', 'files', 'database'])
    expect(after[0].initiator).to.equal('manual')
    expect(after[0].date.getTime()).to.be.greaterThan(Date.now() - 60_000)
  })

  it('creates a database-only backup, and keeps it for the days asked', async () => {
    await terminus.createBackup('alpha', 'test', {element: 'db', keepForDays: 7})
    const [set] = groupIntoSets(await terminus.listBackups('alpha', 'test'))
    expect(set.backups.map((b) => b.element)).to.deep.equal(['database'])
    const days = (set.expiry!.getTime() - set.date.getTime()) / 86_400_000
    expect(days).to.be.closeTo(7, 0.01)
  })

  it('passes --element, --keep-for and the polling delay to Terminus', async () => {
    const recorder = new CallRecorder(sb)
    try {
      await terminusFor(sb, {bin: recorder.bin}).createBackup('alpha', 'dev', {
        element: 'files',
        keepForDays: 30,
        pollingDelayMs: 250,
      })
      await terminusFor(sb, {bin: recorder.bin}).createBackup('alpha', 'dev')
      const [withOptions, plain] = recorder.calls()
      expect(withOptions.args).to.deep.equal([
        'backup:create',
        '--element=files',
        '--keep-for=30',
        '-n',
        '--no-ansi',
        '--',
        'alpha.dev',
      ])
      expect(withOptions.env.TERMINUS_WORKFLOW_POLLING_DELAY_MS).to.equal('250')
      expect(plain.args).to.deep.equal(['backup:create', '--element=all', '-n', '--no-ansi', '--', 'alpha.dev'])
    } finally {
      recorder.close()
    }
  })

  it('refuses a keep-for that is not a whole number of days', async () => {
    for (const keepForDays of [0, -1, 1.5]) {
      expect(await failure(terminus.createBackup('alpha', 'dev', {keepForDays}))).to.be.instanceOf(TerminusError)
    }
  })

  it('a failed workflow is workflow-failed, with Terminus’s reason', async () => {
    const error = await failure(terminus.createBackup('broken', 'live'))
    expect(error.code).to.equal('workflow-failed')
    expect(error.message).to.contain('Backup failed: disk quota exceeded.')
    const uninitialized = await failure(terminus.createBackup('alpha', 'fresh'))
    expect(uninitialized.code).to.equal('workflow-failed')
    expect(uninitialized.message).to.contain('Workflow failed.')
  })

  describe('Terminus before 3.5 (a failed workflow exits 0 with the success notice)', () => {
    before(() => sb.setTerminusVersion('3.4.0'))

    after(() => sb.setTerminusVersion('3.6.1'))

    it('a create that made nothing is workflow-failed (older backups do not count), saying that Terminus < 3.5 hides why and to upgrade', async () => {
      sb.resetCalls()
      const error = await failure(terminusFor(sb).createBackup('broken', 'live'))
      expect(error.code).to.equal('workflow-failed')
      expect(error.message).to.match(
        /Terminus 3\.4\.0 said it was created, but Pantheon lists no new code, files, database backup/,
      )
      expect(error.message).to.match(/before 3\.5 hides why/)
      expect(error.hint).to.match(/Upgrade Terminus to 3\.5 or newer/)
      // The list told: Terminus itself said "Created".
      expect(sb.calls().map((c) => [c.command, c.exitCode])).to.deep.equal([
        ['--version', 0],
        ['backup:create', 0],
        ['backup:list', 0],
      ])
    })

    it('a create that made its backup is confirmed by the list', async () => {
      const adapter = terminusFor(sb)
      sb.resetCalls()
      await adapter.createBackup('alpha', 'live', {element: 'db'})
      await adapter.createBackup('alpha', 'dev')
      // The version is asked once for the adapter, not per call.
      expect(sb.callCounts()).to.deep.equal({'--version': 1, 'backup:create': 2, 'backup:list': 2})
    })
  })

  describe('Terminus 3.6+ whose telemetry post fails (an [error] line about /api/track)', () => {
    before(() => sb.setTelemetryFails(true))

    after(() => sb.setTelemetryFails(false))

    it('a create that succeeded (exit 0) succeeds, with no extra list', async () => {
      sb.resetCalls()
      await terminus.createBackup('alpha', 'test', {element: 'db'})
      expect(sb.calls().map((c) => c.command)).to.deep.equal(['backup:create'])
    })

    it('a create that failed says the real reason alone', async () => {
      const error = await failure(terminus.createBackup('broken', 'live'))
      expect(error.code).to.equal('workflow-failed')
      expect(error.message).to.equal('Creating a backup of broken.live failed: Backup failed: disk quota exceeded.')
      expect(error.terminusMessage).to.equal('Backup failed: disk quota exceeded.')
    })

    it('a failed lookup is judged without it too (unknown site, not throttled)', async () => {
      const error = await failure(terminus.listBackups('ghost', 'live'))
      expect(error.code).to.equal('unknown-site')
      expect(`${error.message} ${error.terminusMessage}`).to.not.include('api/track')
    })
  })

  it('stops waiting at our timeout, since Terminus has none', async () => {
    sb.setCreateMs(5000)
    try {
      const started = Date.now()
      const error = await failure(terminus.createBackup('alpha', 'dev', {timeoutMs: 400}))
      expect(error.code).to.equal('timeout')
      expect(error.hint).to.contain('may still finish')
      expect(Date.now() - started).to.be.below(3000)
    } finally {
      sb.setCreateMs(200)
    }
  })
})
