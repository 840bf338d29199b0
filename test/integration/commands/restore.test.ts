import {DeleteObjectCommand} from '@aws-sdk/client-s3'
import {expect} from 'chai'
/**
 * `pbm backup:restore` end to end: the built CLI mirrors alpha.live with `backup:mirror` (to s3rver and
 * a local folder), then restores from that mirror into the sandbox's environments, whose
 * import:database / import:files fetch the presigned URL and record the MD5 of what they got.
 *
 * Environments divide the work: alpha.dev takes the S3 round trips, alpha.test the local mirror and
 * its stage, alpha.live the live guardrail; refusals use any of them and assert nothing was imported.
 */
import {execa, type Result, type ResultPromise} from 'execa'
import {mkdir, open} from 'node:fs/promises'
import path from 'node:path'

import type {SandboxArchive} from '../../../sandbox/index.js'

import {stageKey, stageMetadata} from '../../../src/destination/stage.js'
import {daysAgo, json, PBM, startWorld, type World} from '../../helpers/cli.js'

interface RestoreJson {
  restored: Array<{
    element: string
    error?: {code: string; message: string}
    file: string
    location: string
    seconds: number
    site: string
    env: string
    target: string
    workflow: string
  }>
  backupFirst: {element: string; status: string; target: string}
  warnings?: string[]
}

const STAGE_BUCKET = 'pbm-stage'

/** The S3 mirror's newest database: the arguments most refusals share. */
function s3Args(world: World): string[] {
  return ['--latest', '--element', 'db', '--bucket', world.bucket]
}

function describeRun(result: Result): string {
  return `exit ${result.exitCode}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`
}

/** Resolves when pbm's JSON log (--log-format json, on stderr) has the event; fails when pbm ends first. */
function loggedEvent(child: ResultPromise, event: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let seen = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      if (seen.includes(`"event":"${event}"`)) resolve()
    })
    child.then(() => reject(new Error(`pbm ended before ${event}:\n${seen}`)), reject)
  })
}

/** What a restore or prune prints when it deletes a stage that an earlier run left. */
const swept = (key: string) => `deleted the restore stage s3://${STAGE_BUCKET}/${key}`

describe('pbm backup:restore (built CLI, sandbox, s3rver)', function () {
  this.timeout(120_000)
  let world: World
  let mirrorDir: string
  /** alpha.live's newest archives. */
  let newest: Record<'database' | 'files', SandboxArchive>
  let older: Record<'database' | 'files', SandboxArchive>

  /** Runs pbm backup:restore; no output of any run may carry a signature. */
  async function restore(args: string[]): Promise<Result> {
    const result = await world.pbm(['backup:restore', ...args])
    const output = `${result.stdout}\n${result.stderr}`
    expect(output, `a signature was printed by pbm backup:restore ${args.join(' ')}`).to.not.match(
      /X-Amz-Signature|Signature=|X-Amz-Credential/,
    )
    return result
  }

  const imports = (env: string) => world.sandbox.imports('alpha', env)
  const creates = (env: string) =>
    world.sandbox.calls().filter((c) => c.command === 'backup:create' && c.target === `alpha.${env}`).length
  const staged = async () => (await world.s3.listKeys(STAGE_BUCKET)).length
  /** pbm backup:restore in the background, with its JSON log on stderr (`detached`: its own process group). */
  const spawnRestore = (args: string[], options: {detached?: boolean} = {}) =>
    execa(process.execPath, [PBM, 'backup:restore', ...args, '--log-format', 'json'], {
      cwd: world.tmp,
      detached: options.detached ?? false,
      env: world.env,
      reject: false,
    })
  /** Keys in the stage bucket now that were not there before. */
  const newStages = async (before: Set<string>) =>
    (await world.s3.listKeys(STAGE_BUCKET)).filter((key) => !before.has(key))

  /** What the passing of its URL's lifetime does to a stage: its recorded expiry is in the past. */
  async function expire(key: string): Promise<void> {
    const head = await world.s3.headObject(STAGE_BUCKET, key)
    expect(head?.metadata, 'pbm marks its stage').to.include({'pbm-stage': '1'})
    const body = await world.s3.getObject(STAGE_BUCKET, key)
    await world.s3.putObject(STAGE_BUCKET, key, body!, stageMetadata(new Date(Date.now() - 3_600_000)))
  }

  /**
   * A restore killed (SIGKILL, with its Terminus: one process group, as an OOM kill of a container)
   * right after pbm's event that the stage is written. Returns the stage it left.
   */
  async function crashAfterStaging(): Promise<string> {
    const before = new Set(await world.s3.listKeys(STAGE_BUCKET))
    // Pantheon would fetch only after a minute: nothing is imported before the kill.
    world.sandbox.setImportMs(60_000)
    try {
      const child = spawnRestore(stagedDbRestore(), {detached: true})
      await loggedEvent(child, 'restore:staged')
      process.kill(-child.pid!, 'SIGKILL')
      const result = await child
      expect(result.signal, describeRun(result)).to.equal('SIGKILL')
    } finally {
      world.sandbox.setImportMs(0)
    }

    const left = await newStages(before)
    expect(left, 'the stage a crashed restore leaves').to.have.length(1)
    return left[0]
  }

  /** alpha.live's newest database from the local mirror into alpha.test, through the stage. */
  const stagedDbRestore = () => [
    'alpha.test',
    '--from',
    'alpha.live',
    '--latest',
    '--element',
    'db',
    '--to',
    mirrorDir,
    '--stage',
    `s3://${STAGE_BUCKET}/tmp`,
    '--no-backup-first',
    '--yes',
  ]

  before(async () => {
    world = await startWorld({
      sites: [
        {
          envs: [{backups: [{date: daysAgo(4)}, {date: daysAgo(1)}], name: 'live'}, {name: 'dev'}, {name: 'test'}],
          name: 'alpha',
        },
      ],
    })
    await world.s3.createBucket(STAGE_BUCKET)
    mirrorDir = path.join(world.tmp, 'mirror')
    const mirrored = await world.pbm([
      'backup:mirror',
      'alpha.live',
      '--all',
      '--bucket',
      world.bucket,
      '--to',
      mirrorDir,
      '--yes',
    ])
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
    const live = world.sandbox
      .archives()
      .filter((a) => a.site === 'alpha' && a.env === 'live')
      .sort((a, b) => b.date - a.date)
    const pickOf = (i: number) => ({
      database: live.filter((a) => a.element === 'database')[i],
      files: live.filter((a) => a.element === 'files')[i],
    })
    newest = pickOf(0)
    older = pickOf(1)
  })

  after(async () => {
    await world?.close()
  })

  it('restores the newest mirrored database of alpha.live into alpha.dev: the sandbox imports the same MD5, after a backup of dev', async () => {
    const before = imports('dev').length
    const result = await restore([
      'alpha.dev',
      '--from',
      'alpha.live',
      '--latest',
      '--element',
      'db',
      '--bucket',
      world.bucket,
      '--yes',
      '--json',
    ])
    expect(result.exitCode, describeRun(result)).to.equal(0)
    const doc = json<RestoreJson>(result)
    expect(doc.restored).to.have.length(1)
    expect(doc.restored[0]).to.include({
      element: 'database',
      file: newest.database.file,
      env: 'live',
      location: `s3://${world.bucket}/alpha/live/${newest.database.file}`,
      site: 'alpha',
      target: 'alpha.dev',
      workflow: 'succeeded',
    })
    expect(doc.backupFirst).to.include({element: 'database', status: 'created', target: 'alpha.dev'})
    expect(creates('dev')).to.equal(1)
    const done = imports('dev').slice(before)
    expect(done).to.have.length(1)
    expect(done[0]).to.include({element: 'database', md5: newest.database.md5, size: newest.database.size})
    expect(done[0].source).to.not.include('?')
  })

  it('restores files and database of an older set by --at, read back in full (--deep), without a backup first', async () => {
    const before = imports('dev').length
    const createsBefore = creates('dev')
    const result = await restore([
      'alpha.dev',
      '--from',
      'alpha.live',
      '--at',
      daysAgo(3).slice(0, 10),
      '--element',
      'files',
      '--element',
      'db',
      '--bucket',
      world.bucket,
      '--deep',
      '--no-backup-first',
      '--yes',
    ])
    expect(result.exitCode, describeRun(result)).to.equal(0)
    expect(String(result.stdout)).to.include('read back in full')
    expect(String(result.stdout)).to.include('No backup of alpha.dev was made first.')
    const done = imports('dev').slice(before)
    expect(done.map((i) => [i.element, i.md5])).to.deep.equal([
      ['files', older.files.md5],
      ['database', older.database.md5],
    ])
    expect(creates('dev')).to.equal(createsBefore)
  })

  it('restores a target from its own backups by default (live, with --allow-live)', async () => {
    const before = imports('live').length
    const result = await restore([
      'alpha.live',
      '--latest',
      '--element',
      'files',
      '--bucket',
      world.bucket,
      '--allow-live',
      '--no-backup-first',
      '--yes',
      '--json',
    ])
    expect(result.exitCode, describeRun(result)).to.equal(0)
    expect(json<RestoreJson>(result).restored[0]).to.include({env: 'live', site: 'alpha', target: 'alpha.live'})
    expect(
      imports('live')
        .slice(before)
        .map((i) => i.md5),
    ).to.deep.equal([newest.files.md5])
  })

  it('restores from a local mirror through --stage, and deletes the stage after the import', async () => {
    const before = imports('test').length
    const result = await restore([...stagedDbRestore(), '--json'])
    expect(result.exitCode, describeRun(result)).to.equal(0)
    expect(json<RestoreJson>(result).restored[0].location).to.match(new RegExp(`^s3://${STAGE_BUCKET}/tmp/pbm-stage-`))
    expect(
      imports('test')
        .slice(before)
        .map((i) => i.md5),
    ).to.deep.equal([newest.database.md5])
    expect(await staged()).to.equal(0)
  })

  it('deletes the stage after a failed import too, and exits 1', async () => {
    world.sandbox.setImportFails('alpha', 'test', 'The import workflow failed.')
    try {
      const before = imports('test').length
      const result = await restore([...stagedDbRestore(), '--json'])
      expect(result.exitCode, describeRun(result)).to.equal(1)
      const row = json<RestoreJson>(result).restored[0]
      expect(row.workflow).to.equal('failed')
      expect(row.error?.message).to.include('The import workflow failed.')
      expect(imports('test').length).to.equal(before)
      expect(await staged()).to.equal(0)
    } finally {
      world.sandbox.setImportFails('alpha', 'test', null)
    }
  })

  it('Ctrl-C while Pantheon imports: exit 130, the import stopped, the stage deleted', async () => {
    // An import that would take a minute: the interrupt lands while Terminus waits for it.
    world.sandbox.setImportMs(60_000)
    try {
      const before = imports('test').length
      const child = spawnRestore(stagedDbRestore())
      // The moment: pbm's own event that the import has started (a line of its JSON log).
      await loggedEvent(child, 'restore:importing')
      // pbm spawns Terminus right after that event; the import's process is the state to interrupt (the
      // sandbox's terminus runs apart and has no event of its own: look in the process table).
      const importing = () => execa('pgrep', ['-f', 'terminus import:database .* alpha[.]test '], {reject: false})
      for (let i = 0; (await importing()).stdout.trim() === ''; i++) {
        expect(i, 'the terminus import:database process never started').to.be.below(200)
      }

      child.kill('SIGINT')
      const result = await child
      expect(result.exitCode, describeRun(result)).to.equal(130)
      expect(await staged()).to.equal(0)
      expect(imports('test').length).to.equal(before)
      // Terminus' import was stopped with pbm, not left running.
      expect((await importing()).stdout.trim(), 'a terminus import:database process is still running').to.equal('')
    } finally {
      world.sandbox.setImportMs(0)
    }
  })

  it('exits 1 when Pantheon’s import workflow fails, and says why', async () => {
    world.sandbox.setImportFails('alpha', 'dev', 'Import failed on the server.')
    try {
      const result = await restore([
        'alpha.dev',
        '--from',
        'alpha.live',
        '--latest',
        '--element',
        'db',
        '--bucket',
        world.bucket,
        '--no-backup-first',
        '--yes',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(1)
      expect(String(result.stderr)).to.include('Import failed on the server.')
    } finally {
      world.sandbox.setImportFails('alpha', 'dev', null)
    }
  })

  describe('guardrails (nothing is imported, staged or backed up)', () => {
    let counts: {creates: number; dev: number; live: number; test: number}

    beforeEach(() => {
      counts = {
        creates: world.sandbox.callCounts()['backup:create'] ?? 0,
        dev: imports('dev').length,
        live: imports('live').length,
        test: imports('test').length,
      }
    })

    afterEach(async () => {
      expect(imports('dev').length, 'imports into dev').to.equal(counts.dev)
      expect(imports('test').length, 'imports into test').to.equal(counts.test)
      expect(imports('live').length, 'imports into live').to.equal(counts.live)
      expect(world.sandbox.callCounts()['backup:create'] ?? 0, 'backup:create calls').to.equal(counts.creates)
      expect(await staged(), 'staged objects').to.equal(0)
    })

    it('a live target without --allow-live: exit 2', async () => {
      const result = await restore(['alpha.live', ...s3Args(world), '--yes'])
      expect(result.exitCode, describeRun(result)).to.equal(2)
      expect(String(result.stderr)).to.include('--allow-live')
    })

    it('--element code: exit 2, code lives in Git', async () => {
      const result = await restore([
        'alpha.dev',
        '--from',
        'alpha.live',
        '--latest',
        '--element',
        'code',
        '--bucket',
        world.bucket,
        '--yes',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(2)
      expect(String(result.stderr)).to.include('Git')
    })

    it('no --yes without a terminal: exit 2 naming --yes', async () => {
      const result = await restore(['alpha.dev', '--from', 'alpha.live', ...s3Args(world)])
      expect(result.exitCode, describeRun(result)).to.equal(2)
      expect(String(result.stderr)).to.include('--yes')
    })

    it('no backup chosen without a terminal: exit 2 naming --latest', async () => {
      const result = await restore([
        'alpha.dev',
        '--from',
        'alpha.live',
        '--element',
        'db',
        '--bucket',
        world.bucket,
        '--yes',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(2)
      expect(String(result.stderr)).to.include('--latest')
    })

    it('a local mirror without --stage: exit 2 naming --stage', async () => {
      const result = await restore([
        'alpha.dev',
        '--from',
        'alpha.live',
        '--latest',
        '--element',
        'db',
        '--to',
        mirrorDir,
        '--yes',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(2)
      expect(String(result.stderr)).to.include('--stage')
    })

    it('--dry-run prints the steps with the URL redacted and changes nothing', async () => {
      const result = await restore([
        'alpha.dev',
        '--from',
        'alpha.live',
        ...s3Args(world),
        '--presign-expiry',
        '2h',
        '--dry-run',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(0)
      const out = String(result.stdout)
      expect(out).to.include('terminus backup:create alpha.dev --element=database')
      expect(out).to.include('terminus import:database alpha.dev <presigned URL>')
      expect(out).to.include('2h')
      expect(out).to.include('planned')
    })

    it('--presign-expiry (or PBM_PRESIGN_EXPIRY) above 7 days, under 5 minutes, or not a duration: exit 2', async () => {
      const args = ['alpha.dev', '--from', 'alpha.live', ...s3Args(world), '--yes']
      for (const lifetime of ['8d', '604801', '4m', '299', '0', '30 minutes']) {
        const result = await restore([...args, '--presign-expiry', lifetime])
        expect(result.exitCode, `${lifetime}: ${describeRun(result)}`).to.equal(2)
        expect(String(result.stderr)).to.include('--presign-expiry')
      }

      const fromEnv = await world.pbm(['backup:restore', ...args], {env: {PBM_PRESIGN_EXPIRY: '8d'}})
      expect(fromEnv.exitCode, describeRun(fromEnv)).to.equal(2)
    })

    it('the URL lives 30 minutes unless asked otherwise (PBM_PRESIGN_EXPIRY too)', async () => {
      const args = ['alpha.dev', '--from', 'alpha.live', ...s3Args(world), '--dry-run']
      expect(String((await restore(args)).stdout)).to.include('URL valid 30m 00s')
      const fromEnv = await world.pbm(['backup:restore', ...args], {env: {PBM_PRESIGN_EXPIRY: '2h'}})
      expect(fromEnv.exitCode, describeRun(fromEnv)).to.equal(0)
      expect(String(fromEnv.stdout)).to.include('URL valid 2h 00m')
    })

    it('an archive above Pantheon’s URL-import limit: refused before any change, with the manual route', async () => {
      // A sparse 501 MiB "database" in a local mirror of alpha.test: only its listed size matters here.
      const file = `alpha_test_${daysAgo(0).slice(0, 10)}T01-00-00_UTC_database.sql.gz`
      const dir = path.join(world.tmp, 'big', 'alpha', 'test')
      await mkdir(dir, {recursive: true})
      const handle = await open(path.join(dir, file), 'w')
      await handle.truncate(501 * 1024 * 1024)
      await handle.close()
      const result = await restore([
        'alpha.test',
        '--latest',
        '--element',
        'db',
        '--to',
        path.join(world.tmp, 'big'),
        '--stage',
        `s3://${STAGE_BUCKET}/tmp`,
        '--yes',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(1)
      const err = String(result.stderr)
      expect(err).to.include('500MB')
      expect(err).to.include('terminus connection:info alpha.test --field=mysql_command')
    })
  })

  describe('stages that a crash leaves behind', () => {
    it('the next restore keeps a crashed stage while its URL is valid, and deletes it once expired', async () => {
      const importsBefore = imports('test').length
      const crashed = await crashAfterStaging()
      expect(imports('test').length, 'nothing imported by the crashed run').to.equal(importsBefore)

      const fresh = await restore(stagedDbRestore())
      expect(fresh.exitCode, describeRun(fresh)).to.equal(0)
      expect(String(fresh.stdout)).to.not.include(swept(crashed))
      expect(await world.s3.listKeys(STAGE_BUCKET), 'a stage whose URL is still valid').to.deep.equal([crashed])

      await expire(crashed)
      const next = await restore(stagedDbRestore())
      expect(next.exitCode, describeRun(next)).to.equal(0)
      expect(String(next.stdout)).to.include(swept(crashed))
      expect(await world.s3.listKeys(STAGE_BUCKET)).to.deep.equal([])
    })

    it('backup:prune of the bucket deletes an expired stage, never a running restore’s stage or an object not provably a stage', async () => {
      // Named like a stage but without pbm's marker; marked, but not named like a stage: seen by every sweep below.
      const unmarked = stageKey('tmp/', newest.database.file)
      await world.s3.putObject(STAGE_BUCKET, unmarked, 'not a stage')
      const misnamed = 'tmp/notes.txt'
      await world.s3.putObject(STAGE_BUCKET, misnamed, 'mine', stageMetadata(new Date(Date.now() - 3_600_000)))

      // A restore that is importing (Pantheon takes a minute) through its own stage.
      world.sandbox.setImportMs(60_000)
      const before = new Set(await world.s3.listKeys(STAGE_BUCKET))
      const running = spawnRestore(stagedDbRestore())
      try {
        await loggedEvent(running, 'restore:importing')
        const [ownStage] = await newStages(before)
        expect(ownStage).to.be.a('string')
        // Then another restore crashes, and its URL's lifetime passes.
        const crashed = await crashAfterStaging()
        await expire(crashed)

        const pruned = await world.pbm(['backup:prune', '--bucket', STAGE_BUCKET, '--keep-last', '1', '--yes'])
        expect(pruned.exitCode, describeRun(pruned)).to.equal(0)
        expect(String(pruned.stdout)).to.include(swept(crashed))
        expect(await world.s3.listKeys(STAGE_BUCKET)).to.deep.equal([misnamed, ownStage, unmarked].sort())
      } finally {
        running.kill('SIGINT')
        await running
        world.sandbox.setImportMs(0)
      }

      const client = await world.s3.client()
      for (const Key of [misnamed, unmarked]) await client.send(new DeleteObjectCommand({Bucket: STAGE_BUCKET, Key}))
      expect(await world.s3.listKeys(STAGE_BUCKET), 'the interrupted restore deleted its stage').to.deep.equal([])
    })
  })
})
