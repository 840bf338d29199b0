import {expect} from 'chai'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

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
        {name: 'broken', createFails: 'Backup failed: disk quota exceeded.', envs: [{name: 'live'}]},
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

  it('a workflow failure that old Terminus reported with exit 0 is still workflow-failed', async () => {
    // Before Terminus 3.5, `-n` runs exited 0 when the workflow failed, having logged the error.
    const dir = mkdtempSync(path.join(tmpdir(), 'pbm-old-terminus-'))
    try {
      const bin = path.join(dir, 'terminus')
      writeFileSync(bin, "#!/bin/sh\nprintf ' [error]  Workflow failed. \\n' >&2\nexit 0\n")
      chmodSync(bin, 0o755)
      const error = await failure(terminusFor(sb, {bin}).createBackup('alpha', 'live'))
      expect(error.code).to.equal('workflow-failed')
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
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
