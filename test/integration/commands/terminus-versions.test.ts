/**
 * The built CLI against the sandbox impersonating real Terminus versions (../../../sandbox/lib/versions.js):
 * 3.4 reports a failed create or import as a success; 3.6+ may add a failed telemetry post's [error]
 * line to any call; a throttled call is silent for Terminus' own retries, then worded as a failed site
 * lookup; a frozen site still lists its backups.
 */
import type {Result} from 'execa'

import {expect} from 'chai'
import path from 'node:path'

import {daysAgo, json, listFiles, startWorld, type World} from '../../helpers/cli.js'

interface Failure {
  code: string
  message: string
}

interface MirrorJson {
  archives: Array<{env: string; file: string; site: string; status: string}>
  summary: {failed: number; transferred: number}
  targets: Array<{env: string; error?: Failure; note?: string; site: string; status: string}>
}

function describeRun(result: Result): string {
  return `exit ${result.exitCode}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`
}

const STAGE_BUCKET = 'pbm-stage'

describe('pbm against Terminus 3.4, 3.6 and 4.x as they really behave (built CLI, sandbox)', function () {
  this.timeout(120_000)
  let world: World

  before(async () => {
    world = await startWorld({
      // Terminus' own ~106 s of silent retries, at 1/1000: 106 ms.
      latencyScale: 0.001,
      sites: [
        {envs: [{backups: [{date: daysAgo(2)}], name: 'live'}, {name: 'dev'}], name: 'alpha'},
        {
          createFails: 'Backup failed: disk quota exceeded.',
          envs: [{backups: [{date: daysAgo(2)}], name: 'live'}],
          name: 'broken',
        },
        {
          envs: [{name: 'dev'}, {backups: [{date: daysAgo(1)}], name: 'live'}],
          frozen: true,
          name: 'ice',
        },
      ],
    })
    await world.s3.createBucket(STAGE_BUCKET)
  })

  after(async () => world?.close())

  afterEach(() => {
    world.sandbox.setTerminusVersion('3.6.1')
    world.sandbox.setTelemetryFails(false)
    world.sandbox.setThrottle(null)
  })

  const mirror = (prefix: string, args: string[], env: Record<string, string> = {}) =>
    world.pbm(['backup:mirror', ...args, '--bucket', world.bucket, '--prefix', prefix, '--json'], {env})
  const mirroredKeys = async (prefix: string) =>
    (await world.s3.listKeys(world.bucket)).filter((key) => key.startsWith(prefix)).sort()

  describe('Terminus 3.4 (a failed workflow exits 0 with the success notice)', () => {
    beforeEach(() => world.sandbox.setTerminusVersion('3.4.0'))

    it('a failed --create fails its target: the older backup is not mirrored as tonight’s', async () => {
      world.sandbox.resetCalls()
      const run = await mirror('old-create/', ['broken.live', 'alpha.live', '--create', '--element', 'db'])
      expect(run.exitCode, describeRun(run)).to.equal(1)
      const out = json<MirrorJson>(run)
      const broken = out.targets.find((t) => t.site === 'broken')!
      expect(broken.status).to.equal('failed')
      expect(broken.error?.code).to.equal('workflow-failed')
      expect(broken.error?.message).to.match(/Terminus 3\.4\.0 said it was created.*before 3\.5 hides why/)
      expect(await mirroredKeys('old-create/broken/')).to.deep.equal([])
      // alpha's create worked: the list confirms it, and only its new database is mirrored.
      expect(out.targets.find((t) => t.site === 'alpha')?.status).to.equal('mirrored')
      const newest = world.sandbox
        .archives()
        .filter((a) => a.site === 'alpha' && a.env === 'live' && a.element === 'database')
        .sort((a, b) => b.date - a.date)[0]
      expect(await mirroredKeys('old-create/alpha/')).to.deep.equal([`old-create/alpha/live/${newest.file}`])
      // Asked once for the run, not per create.
      expect(world.sandbox.callCounts()['--version']).to.equal(1)
    })

    it('backup:restore refuses: nothing staged, nothing imported, exit 1, the reason and the upgrade named', async () => {
      world.sandbox.setTerminusVersion('3.6.1')
      const mirrorDir = path.join(world.tmp, 'restore-mirror')
      const mirrored = await world.pbm(['backup:mirror', 'alpha.live', '--to', mirrorDir, '--yes'])
      expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
      expect(await listFiles(mirrorDir)).to.have.length(3)
      world.sandbox.setTerminusVersion('3.4.0')
      world.sandbox.resetCalls()
      const run = await world.pbm([
        'backup:restore',
        'alpha.dev',
        '--from',
        'alpha.live',
        '--latest',
        '--element',
        'db',
        '--to',
        mirrorDir,
        '--stage',
        `s3://${STAGE_BUCKET}/tmp`,
        '--yes',
      ])
      expect(run.exitCode, describeRun(run)).to.equal(1)
      // oclif wraps the message: read it as one line.
      const said = String(run.stderr).replaceAll(/\s*›\s*|\s+/g, ' ')
      expect(said).to.match(/Terminus 3\.4\.0.*before 3\.5, Terminus reports a failed import as a success/)
      expect(said).to.match(/Upgrade Terminus to 3\.5 or newer/)
      expect(world.sandbox.imports('alpha', 'dev')).to.deep.equal([])
      expect(await world.s3.listKeys(STAGE_BUCKET)).to.deep.equal([])
      // Nothing but the version was asked: no backup of dev first, no import.
      expect(world.sandbox.calls().map((c) => c.command)).to.deep.equal(['--version'])
    })
  })

  describe('Terminus 3.6 whose telemetry post fails (an [error] line about /api/track on every call)', () => {
    beforeEach(() => world.sandbox.setTelemetryFails(true))

    it('a successful --create is a success, and the new backup is mirrored', async () => {
      const run = await mirror('telemetry-ok/', ['alpha.live', '--create', '--element', 'db'])
      expect(run.exitCode, describeRun(run)).to.equal(0)
      expect(json<MirrorJson>(run).summary).to.include({failed: 0, transferred: 1})
      expect(String(run.stderr)).to.not.include('api/track')
    })

    it('a failed --create fails with the real reason alone', async () => {
      const run = await mirror('telemetry-failed/', ['broken.live', '--create', '--element', 'db'])
      expect(run.exitCode, describeRun(run)).to.equal(1)
      const [target] = json<MirrorJson>(run).targets
      expect(target.error?.code).to.equal('workflow-failed')
      // The reason, then pbm's advice: nothing of the telemetry line in between.
      expect(target.error?.message).to.match(
        /^Creating a backup of broken\.live failed: Backup failed: disk quota exceeded\. See the site dashboard/,
      )
      expect(`${run.stdout}${run.stderr}`).to.not.include('api/track')
    })

    it('the same on 4.x', async () => {
      world.sandbox.setTerminusVersion('4.0.0')
      const run = await mirror('telemetry-4x/', ['alpha.live', '--create', '--element', 'db'])
      expect(run.exitCode, describeRun(run)).to.equal(0)
    })
  })

  for (const wording of ['retries', 'slow-your-roll'] as const) {
    it(`a throttled lookup (${wording}: "Could not locate a site ... ${wording === 'retries' ? 'Maximum retry attempts reached' : 'Slow your roll'}") is throttled and pauses the budget, not unknown-site`, async () => {
      // One call an hour: site:list passes, every backup:list is refused until pbm gives up.
      world.sandbox.setThrottle({calls: 1, windowMs: 3_600_000, wording})
      world.sandbox.resetCalls()
      const run = await world.pbm(
        [
          'backup:mirror',
          'alpha.live',
          '--bucket',
          world.bucket,
          '--prefix',
          'throttled/',
          '--json',
          '--log-format',
          'json',
        ],
        {env: {PBM_TERMINUS_BACKOFF_MS: '20'}},
      )
      expect(run.exitCode, describeRun(run)).to.equal(1)
      const [target] = json<MirrorJson>(run).targets
      expect(target.error?.code, describeRun(run)).to.equal('throttled')
      const log = String(run.stderr)
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as {event: string})
      expect(log.filter((r) => r.event === 'terminus:paused').length).to.be.greaterThan(0)
      const refused = world.sandbox.calls().filter((c) => c.command === 'backup:list')
      expect(refused.length, 'tried again after each pause').to.equal(6)
      expect(refused.every((c) => c.throttled)).to.equal(true)
    })
  }

  it('Terminus gets neither TERMINUS_HTTP_MAX_RETRIES nor PBM_* (warned once, saying why)', async () => {
    world.sandbox.resetCalls()
    const run = await world.pbm(['backup:mirror', 'alpha.live', '--bucket', world.bucket, '--prefix', 'env/'], {
      env: {
        PBM_PING: 'http://127.0.0.1:9/ping',
        RESTIC_PASSWORD: 'secret',
        TERMINUS_HTTP_MAX_RETRIES: '3',
        TERMINUS_USER: 'dev@example.com',
      },
    })
    expect(run.exitCode, describeRun(run)).to.equal(0)
    const calls = world.sandbox.calls()
    expect(calls.length).to.be.greaterThan(1)
    for (const call of calls) {
      expect(call.env, call.command).to.include('TERMINUS_USER')
      expect(call.env.filter((name) => /^(PBM_|AWS_|RESTIC_)|^TERMINUS_HTTP_MAX_RETRIES$/.test(name))).to.deep.equal([])
    }

    const warnings = String(run.stdout)
      .split('\n')
      .filter((line) => line.includes('TERMINUS_HTTP_MAX_RETRIES'))
    expect(warnings, describeRun(run)).to.have.length(1)
    expect(warnings[0]).to.match(/^! .*does not pass it to Terminus.*forever/)
  })

  it('a frozen site: its listed backups are mirrored, with no --create (and the reason said)', async () => {
    world.sandbox.resetCalls()
    const run = await world.pbm([
      'backup:mirror',
      'ice.live',
      '--create',
      '--bucket',
      world.bucket,
      '--prefix',
      'frozen/',
    ])
    expect(run.exitCode, describeRun(run)).to.equal(0)
    expect(String(run.stdout)).to.match(/ice\.live.*frozen: Pantheon makes no new backup/)
    const expected = world.sandbox
      .archives()
      .filter((a) => a.site === 'ice' && a.env === 'live')
      .map((a) => `frozen/ice/live/${a.file}`)
      .sort()
    expect(expected).to.have.length(3)
    expect(await mirroredKeys('frozen/')).to.deep.equal(expected)
    expect(world.sandbox.callCounts()['backup:create'] ?? 0).to.equal(0)
  })
})
