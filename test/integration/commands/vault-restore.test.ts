/**
 * backup:restore from a vault (--restic) and --output from every source: the built CLI against the
 * sandbox, s3rver (the S3 mirror and the stage), real restic (a vault in a folder, one on moto through
 * restic's S3 backend). The sandbox's import records the SHA-256 of the content it received, compared
 * here with the original backup's: a vault's restore is a new gzip, equal in content.
 */
import {expect} from 'chai'
import {execa, type Result} from 'execa'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {gunzipSync} from 'node:zlib'

import type {SandboxArchive} from '../../../sandbox/index.js'

import {daysAgo, json, PBM, startWorld, type World} from '../../helpers/cli.js'
import {motoBucket, startMoto} from '../../helpers/moto.js'
import {exited, initVault, sha256, type TestVault, VAULT_PASSWORD} from '../../helpers/restic.js'

interface RestoreJson {
  restored: Array<{
    element: string
    error?: {code: string; message: string}
    file: string
    location: string
    site: string
    env: string
    target: string
    workflow: string
  }>
  backupFirst: {status: string; target: string}
}

const STAGE_BUCKET = 'pbm-stage'
const VAULT_SECRET = 'vault-secret-key'

function describeRun(result: Result): string {
  return `exit ${result.exitCode}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`
}

function expectNoSecrets(...results: Result[]): void {
  for (const r of results) {
    for (const text of [String(r.stdout), String(r.stderr)]) {
      expect(text).not.to.include(VAULT_PASSWORD)
      expect(text).not.to.include(VAULT_SECRET)
      expect(text).not.to.match(/X-Amz-Signature|X-Amz-Credential/)
    }
  }
}

/** Files in a folder, pbm's side files (completion record, lock) left out. */
function filesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => !/^\.[^/]+\.pbm\.(json|lock)$/.test(n))
    .sort()
}

/** Resolves when `file` exists (written by the slow restic below). */
async function appeared(file: string): Promise<void> {
  while (!existsSync(file)) {
    await new Promise((resolve) => {
      setTimeout(resolve, 20)
    })
  }
}

/**
 * A `restic` whose `dump` gives pbm its first chunk, then holds the rest and writes restic's pid to
 * `mark`: pbm is mid-restore for as long as the test wants. SIGINT is passed on to restic.
 */
function slowDumpRestic(dir: string): {bin: string; mark: string} {
  const mark = path.join(dir, 'dumping.pid')
  const bin = path.join(dir, 'restic-slow-dump.cjs')
  writeFileSync(
    bin,
    `#!${process.execPath}
const {spawn} = require('node:child_process')
const fs = require('node:fs')
const args = process.argv.slice(2)
const dump = args[0] === 'dump'
const child = spawn('restic', args, {stdio: ['ignore', dump ? 'pipe' : 'inherit', 'inherit']})
let ended = false
child.on('exit', (code) => {
  ended = true
  if (!dump) process.exit(code ?? 1)
})
process.on('SIGINT', () => {
  if (ended) process.exit(130)
  child.kill('SIGINT')
  child.on('exit', () => process.exit(130))
})
if (dump) {
  child.stdout.once('data', (chunk) => {
    child.stdout.pause()
    process.stdout.write(chunk)
    fs.writeFileSync(${JSON.stringify(mark)}, String(child.pid))
  })
}
`,
  )
  chmodSync(bin, 0o755)
  return {bin, mark}
}

describe('pbm backup:restore from a vault, and --output (built CLI, sandbox, real restic)', function () {
  this.timeout(180_000)
  let world: World
  let vault: TestVault
  let mirrorDir: string
  let newest: Record<'database' | 'files', SandboxArchive>
  let older: Record<'database' | 'files', SandboxArchive>

  const original = (a: SandboxArchive) => Buffer.concat([...world.sandbox.bytes(a.file)])
  const content = (a: SandboxArchive) => gunzipSync(original(a))
  const imports = (env: string) => world.sandbox.imports('alpha', env)
  const stages = () => world.s3.listKeys(STAGE_BUCKET)
  const stageArgs = ['--stage', `s3://${STAGE_BUCKET}/tmp/`]
  const pbm = (args: string[], env: Record<string, string> = {}) =>
    world.pbm(['backup:restore', ...args], {env: {...vault.env, ...env}})

  before(async () => {
    world = await startWorld({
      latencyMs: 0,
      sites: [
        {
          envs: [
            {
              backups: [
                {date: daysAgo(3), sizes: {code: 20_000, database: 30_000, files: 300_000}},
                {date: daysAgo(1), sizes: {code: 20_000, database: 30_000, files: 300_000}},
              ],
              name: 'live',
            },
            {name: 'dev'},
            {name: 'test'},
          ],
          name: 'alpha',
        },
      ],
    })
    await world.s3.createBucket(STAGE_BUCKET)
    vault = initVault()
    mirrorDir = path.join(world.tmp, 'mirror')
    const mirrored = await world.pbm(
      ['backup:mirror', 'alpha.live', '--all', '--bucket', world.bucket, '--to', mirrorDir, '--restic', vault.repo],
      {env: vault.env},
    )
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

  after(async () => world?.close())

  it('restores files and database from the vault into the sandbox: staged, imported with content equal to the original backup, stage removed, no secret in any output or JSON log', async () => {
    const before = imports('dev').length
    const args = ['alpha.dev', '--from', 'alpha.live', '--latest', '-e', 'files', '-e', 'db', '--restic', vault.repo]
    const result = await pbm([...args, ...stageArgs, '--no-backup-first', '--yes', '--json', '--log-format', 'json'])
    expect(result.exitCode, describeRun(result)).to.equal(0)
    const doc = json<RestoreJson>(result)
    expect(doc.restored.map((r) => [r.element, r.file, r.workflow, `${r.site}.${r.env}`, r.target])).to.deep.equal([
      ['files', newest.files.file, 'succeeded', 'alpha.live', 'alpha.dev'],
      ['database', newest.database.file, 'succeeded', 'alpha.live', 'alpha.dev'],
    ])
    const done = imports('dev').slice(before)
    expect(done.map((i) => [i.element, i.contentSha256])).to.deep.equal([
      ['files', sha256(content(newest.files))],
      ['database', sha256(content(newest.database))],
    ])
    // Through the stage, like a local mirror's archive, and the stage is gone.
    expect(done.every((i) => i.source.includes(`/${STAGE_BUCKET}/tmp/pbm-stage-`))).to.equal(true)
    expect(await stages()).to.deep.equal([])
    expect(String(result.stderr)).to.include('"event":"restore:staged"')
    expectNoSecrets(result)
  })

  it('lists and chooses exactly as from the other mirrors: --at picks the older set, shown at the time of its filenames', async () => {
    const args = ['alpha.test', '--from', 'alpha.live', '--at', daysAgo(2), '-e', 'files', '-e', 'db']
    const fromVault = await pbm([...args, '--restic', vault.repo, ...stageArgs, '--dry-run'])
    const fromBucket = await pbm([...args, '--bucket', world.bucket, '--dry-run'])
    expect(fromVault.exitCode, describeRun(fromVault)).to.equal(0)
    expect(fromBucket.exitCode, describeRun(fromBucket)).to.equal(0)
    // The same plan but for where the archives come from and the stage's upload steps.
    const plan = (r: Result) =>
      String(r.stdout)
        .split('\n')
        .filter((l) => !/upload |\(s3:|\(\/|::/.test(l))
        .map((l) => l.replace(/^\s+\d+\. /, '').replace(/, md5 [\da-f]{32}/, ''))
    expect(plan(fromVault)).to.deep.equal(plan(fromBucket))
    expect(String(fromVault.stdout)).to.include(older.files.file).and.to.include(older.database.file)
    expect(String(fromVault.stdout)).to.include(`${vault.repo}::alpha/live/${older.database.file}`)
  })

  it('--output from the vault: into a folder under the Pantheon filenames, gzip of equal content, 0600, no .partial; again: unchanged; a different file is refused without --force, replaced with it; no Terminus call', async () => {
    const out = path.join(world.tmp, 'out-vault')
    const calls = world.sandbox.calls().length
    const args = ['--from', 'alpha.live', '--latest', '-e', 'files', '-e', 'db', '--restic', vault.repo]
    const first = await pbm([...args, '--output', `${out}/`, '--json'])
    expect(first.exitCode, describeRun(first)).to.equal(0)
    expect(json<RestoreJson>(first).restored.map((r) => [r.workflow, r.target])).to.deep.equal([
      ['saved', path.join(out, newest.files.file)],
      ['saved', path.join(out, newest.database.file)],
    ])
    expect(filesIn(out)).to.deep.equal([newest.database.file, newest.files.file].sort())
    for (const a of [newest.files, newest.database]) {
      const file = path.join(out, a.file)
      expect(gunzipSync(readFileSync(file)).equals(content(a)), `${a.file}: content`).to.equal(true)
      expect(statSync(file).mode & 0o777).to.equal(0o600)
    }

    const again = await pbm([...args, '--output', out, '--json'])
    expect(again.exitCode, describeRun(again)).to.equal(0)
    expect(json<RestoreJson>(again).restored.map((r) => r.workflow)).to.deep.equal(['unchanged', 'unchanged'])

    const db = path.join(out, newest.database.file)
    writeFileSync(db, 'not this archive')
    const refused = await pbm([...args, '--output', out])
    expect(refused.exitCode, describeRun(refused)).to.equal(1)
    expect(String(refused.stderr)).to.include('exists and is not this archive')
    expect(readFileSync(db, 'utf8')).to.equal('not this archive')
    expect(filesIn(out)).to.deep.equal([newest.database.file, newest.files.file].sort())

    const forced = await pbm([...args, '--output', out, '--force'])
    expect(forced.exitCode, describeRun(forced)).to.equal(0)
    expect(gunzipSync(readFileSync(db)).equals(content(newest.database))).to.equal(true)
    expect(world.sandbox.calls().length, 'no Terminus call').to.equal(calls)
    expectNoSecrets(first, again, refused, forced)
  })

  it('--output from a folder mirror (to a file) and from S3 (into a folder): the archive itself, 0600, no .partial; a different file is refused without --force', async () => {
    const fromFolder = path.join(world.tmp, 'out-folder', 'db.sql.gz')
    const local = await pbm([
      '--from',
      'alpha.live',
      '--file',
      older.database.file,
      '--to',
      mirrorDir,
      '-o',
      fromFolder,
    ])
    expect(local.exitCode, describeRun(local)).to.equal(0)
    expect(readFileSync(fromFolder).equals(original(older.database))).to.equal(true)
    expect(statSync(fromFolder).mode & 0o777).to.equal(0o600)
    expect(filesIn(path.dirname(fromFolder))).to.deep.equal(['db.sql.gz'])

    const out = path.join(world.tmp, 'out-s3')
    mkdirSync(out)
    const files = path.join(out, newest.files.file)
    writeFileSync(files, 'a file of the same name')
    const args = ['alpha.live', '--latest', '-e', 'files', '--bucket', world.bucket, '--output', out]
    const refused = await pbm(args)
    expect(refused.exitCode, describeRun(refused)).to.equal(1)
    expect(String(refused.stderr)).to.include('exists and is not this archive')
    expect(readFileSync(files, 'utf8')).to.equal('a file of the same name')
    const forced = await pbm([...args, '--force'])
    expect(forced.exitCode, describeRun(forced)).to.equal(0)
    expect(readFileSync(files).equals(original(newest.files))).to.equal(true)
    expect(statSync(files).mode & 0o777).to.equal(0o600)
    expect(filesIn(out)).to.deep.equal([newest.files.file])
  })

  it('a completion record whose sha256 is not the content refuses: nothing imported, no stage, no file', async () => {
    const tampered = initVault()
    const db = newest.database
    const mirrored = await world.pbm(['backup:pick', 'alpha.live', '--latest', '-e', 'db', '--restic', tampered.repo], {
      env: tampered.env,
    })
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
    const record = tampered.snapshots().find((s) => s.tags.includes('pbm-record'))!
    const wrong = sha256(Buffer.from('other content'))
    tampered.restic('forget', record.id)
    const tags = record.tags.map((t) => (t.startsWith('sha256=') ? `sha256=${wrong}` : t))
    const recordFile = path.join(world.tmp, 'record.json')
    writeFileSync(recordFile, '{}')
    tampered.restic('backup', '--host', 'pbm', ...tags.flatMap((t) => ['--tag', t]), recordFile)

    const before = imports('test').length
    const args = ['--from', 'alpha.live', '--latest', '-e', 'db', '--restic', tampered.repo]
    const result = await pbm(
      ['alpha.test', ...args, ...stageArgs, '--no-backup-first', '--yes', '--json'],
      tampered.env,
    )
    expect(result.exitCode, describeRun(result)).to.equal(1)
    const row = json<RestoreJson>(result).restored[0]
    expect(row.workflow).to.equal('failed')
    expect(row.error?.code).to.equal('content-mismatch')
    expect(row.error?.message).to.include(db.file).and.to.include(wrong)
    expect(imports('test').length).to.equal(before)
    expect(await stages()).to.deep.equal([])

    const out = path.join(world.tmp, 'out-tampered')
    const saved = await pbm([...args, '--output', out], tampered.env)
    expect(saved.exitCode, describeRun(saved)).to.equal(1)
    expect(String(saved.stderr)).to.include('is not the content pbm recorded')
    expect(readdirSync(out)).to.deep.equal([])
  })

  for (const how of ['import', 'output'] as const) {
    it(`Ctrl-C mid-dump (${how}): restic stopped, exit 130, no stage, no file, no temporary copy`, async () => {
      const dir = path.join(world.tmp, `ctrl-c-${how}`)
      const tmp = path.join(dir, 'tmp')
      mkdirSync(tmp, {recursive: true})
      const slow = slowDumpRestic(dir)
      const out = path.join(dir, 'out')
      const where = how === 'import' ? ['alpha.dev', ...stageArgs, '--no-backup-first', '--yes'] : ['--output', out]
      const before = imports('dev').length
      const child = execa(
        process.execPath,
        [PBM, 'backup:restore', ...where, '--from', 'alpha.live', '--latest', '-e', 'files'],
        {
          cwd: world.tmp,
          env: {
            ...world.env,
            ...vault.env,
            CI: 'true',
            PBM_RESTIC_BIN: slow.bin,
            PBM_RESTIC_REPO: vault.repo,
            TMPDIR: tmp,
          },
          reject: false,
        },
      )
      await appeared(slow.mark)
      child.kill('SIGINT')
      const result = await child
      expect(result.exitCode, describeRun(result)).to.equal(130)
      await exited(Number(readFileSync(slow.mark, 'utf8')))
      expect(vault.restic('list', 'locks').trim(), 'restic left no lock').to.equal('')
      expect(await stages()).to.deep.equal([])
      expect(imports('dev').length).to.equal(before)
      expect(
        readdirSync(tmp).filter((n) => n.startsWith('pbm-')),
        'the temporary copy is gone',
      ).to.deep.equal([])
      expect(existsSync(out) ? readdirSync(out) : []).to.deep.equal([])
      expectNoSecrets(result)
    })
  }

  it('a vault on S3 (moto, restic s3: backend): restored through a stage on the same store and to --output, content equal; no credential or password in any output', async () => {
    const moto = await startMoto()
    try {
      const creds = {AWS_ACCESS_KEY_ID: 'vault-access-key', AWS_SECRET_ACCESS_KEY: VAULT_SECRET}
      const onS3 = initVault(`s3:${moto.endpoint}/vault-bucket`, creds)
      ;(await motoBucket(moto, 'moto-stage')).destroy()
      const db = newest.database
      const mirrored = await world.pbm(['backup:pick', 'alpha.live', '--latest', '-e', 'db', '--restic', onS3.repo], {
        env: onS3.env,
      })
      expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
      const args = ['--from', 'alpha.live', '--latest', '-e', 'db', '--restic', onS3.repo, '--log-format', 'json']
      const before = imports('test').length
      const restored = await pbm(
        [
          'alpha.test',
          ...args,
          '--stage',
          's3://moto-stage',
          '--endpoint',
          moto.endpoint,
          '--no-backup-first',
          '--yes',
        ],
        onS3.env,
      )
      expect(restored.exitCode, describeRun(restored)).to.equal(0)
      expect(
        imports('test')
          .slice(before)
          .map((i) => i.contentSha256),
      ).to.deep.equal([sha256(content(db))])
      const file = path.join(world.tmp, 'out-moto', db.file)
      const saved = await pbm([...args, '--output', file], onS3.env)
      expect(saved.exitCode, describeRun(saved)).to.equal(0)
      expect(gunzipSync(readFileSync(file)).equals(content(db))).to.equal(true)
      expectNoSecrets(mirrored, restored, saved)
    } finally {
      await moto.close()
    }
  })
})
