/**
 * backup:mirror and backup:pick into a vault (--restic): the built CLI against the sandbox and real
 * restic, with a vault in a folder and one on moto through restic's S3 backend. What landed is read
 * back with restic itself (`restic dump`) and compared with the sandbox's archive, inflated.
 */
import type {Result} from 'execa'

import {expect} from 'chai'
import {execa} from 'execa'
import {chmodSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {gunzipSync} from 'node:zlib'

import {daysAgo, json, PBM, startWorld, type World} from '../../helpers/cli.js'
import {startMoto} from '../../helpers/moto.js'
import {exited, initVault, sha256, type TestVault, VAULT_PASSWORD} from '../../helpers/restic.js'

interface RowJson {
  file: string
  destination: string
  location: string
  status: string
  note?: string
  error?: {code: string; message: string}
}

/** A `restic` that logs each call's command and runs the real one (exec, so signals reach it). */
function recordingRestic(dir: string): {bin: string; calls: () => string[]} {
  const log = path.join(dir, 'restic-calls.log')
  writeFileSync(log, '')
  const bin = path.join(dir, 'restic-recorder')
  writeFileSync(bin, `#!/bin/sh\necho "$1" >> ${JSON.stringify(log)}\nexec restic "$@"\n`)
  chmodSync(bin, 0o755)
  return {bin, calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean)}
}

/** The processes whose environment names this repository: the restics pbm started for it. */
function resticsOf(repo: string): number[] {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0')
      return environ.includes(`RESTIC_REPOSITORY=${repo}`) ? [Number(entry)] : []
    } catch {
      return [] // gone meanwhile, or not ours to read
    }
  })
}

function describeRun(result: Result): string {
  return `exit ${result.exitCode}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`
}

function expectNoSecrets(...texts: string[]): void {
  for (const text of texts) {
    expect(text).not.to.include(VAULT_PASSWORD)
    expect(text).not.to.include('vault-secret-key')
  }
}

describe('pbm into a vault (--restic; built CLI, sandbox, real restic)', function () {
  this.timeout(180_000)
  let world: World

  before(async () => {
    world = await startWorld({
      latencyMs: 0,
      sites: [
        {
          envs: [
            {
              backups: [
                {date: daysAgo(2), sizes: {code: 40_000, database: 30_000, files: 300_000}},
                {date: daysAgo(1), sizes: {code: 40_000, database: 30_000, files: 300_000}},
              ],
              name: 'live',
            },
          ],
          name: 'alpha',
        },
        {
          envs: [
            {backups: [{date: daysAgo(1), sizes: {code: 20_000, database: 20_000, files: 200_000}}], name: 'live'},
          ],
          name: 'bravo',
        },
      ],
    })
  })

  after(async () => world?.close())

  beforeEach(() => world.sandbox.clearFaults())

  const newest = (site: string) => {
    const all = world.sandbox.archives().filter((a) => a.site === site)
    const folder = all
      .map((a) => a.folder)
      .sort()
      .at(-1)
    return all.filter((a) => a.folder === folder)
  }

  const content = (file: string) => gunzipSync(Buffer.concat([...world.sandbox.bytes(file)]))

  type VaultSnapshot = ReturnType<TestVault['snapshots']>[number]
  const isRecord = (s: VaultSnapshot) => s.tags.includes('pbm-record')
  const tag = (s: VaultSnapshot, name: string) => s.tags.find((t) => t.startsWith(`${name}=`))?.slice(name.length + 1)

  /** The completion record of a data snapshot, if any: a `pbm-record` snapshot naming it in `of=`, same file. */
  const recordOf = (vault: TestVault, data: VaultSnapshot) =>
    vault
      .snapshots()
      .find((r) => isRecord(r) && data.id.startsWith(tag(r, 'of') ?? '-') && tag(r, 'file') === tag(data, 'file'))

  /**
   * Every data snapshot holds what the archive inflates to, at its path, time and tags, and has its
   * completion record, whose sha256 is that of the content restic gives back.
   */
  function expectSnapshotsOf(vault: TestVault, archives: ReturnType<typeof newest>): void {
    const snapshots = vault.snapshots().filter((s) => !isRecord(s))
    expect(vault.snapshots().filter((s) => isRecord(s))).to.have.length(snapshots.length)
    expect(snapshots.map((s) => s.tags.find((t) => t.startsWith('file='))).sort()).to.deep.equal(
      archives.map((a) => `file=${a.file}`).sort(),
    )
    for (const a of archives) {
      const s = snapshots.find((x) => x.tags.includes(`file=${a.file}`))!
      const inside = `/${a.site}/${a.env}/${a.element}.${a.element === 'database' ? 'sql' : 'tar'}`
      expect(s.paths).to.deep.equal([inside])
      expect(s.tags).to.include.members([
        'pbm',
        `site=${a.site}`,
        `env=${a.env}`,
        `element=${a.element}`,
        `folder=${a.folder}`,
        `size=${a.size}`,
        `md5=${a.md5}`,
      ])
      // The backup's one time, as every screen shows it: the one in its filename.
      const [, day, hh, mm, ss] = /_(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)_UTC_/.exec(a.file)!
      expect(new Date(s.time).toISOString()).to.equal(`${day}T${hh}:${mm}:${ss}.000Z`)
      const dumped = vault.dump(s.id, inside)
      expect(dumped.equals(content(a.file)), `${a.file} in the vault`).to.equal(true)
      const record = recordOf(vault, s)
      expect(record, `the completion record of ${a.file}`).not.to.equal(undefined)
      expect(record!.time).to.equal(s.time)
      expect(tag(record!, 'sha256')).to.equal(sha256(dumped))
    }
  }

  it('mirror --restic: one snapshot per verified archive (decompressed content, path, time, tags); a re-run lists once and skips all', async () => {
    const vault = initVault()
    const recorder = recordingRestic(world.tmp)
    const args = ['backup:mirror', 'alpha.live', 'bravo.live', '--restic', vault.repo, '--restic-bin', recorder.bin]
    const first = await world.pbm([...args, '--json'], {env: vault.env})
    expect(first.exitCode, describeRun(first)).to.equal(0)
    const rows = json<{archives: RowJson[]}>(first).archives
    expect(rows).to.have.length(6)
    expect(rows.every((r) => r.destination === 'restic' && r.status === 'transferred')).to.equal(true)
    expectSnapshotsOf(vault, [...newest('alpha'), ...newest('bravo')])
    expect(recorder.calls().filter((c) => c === 'snapshots')).to.have.length(1)
    // Per archive, its content and its completion record.
    expect(recorder.calls().filter((c) => c === 'backup')).to.have.length(12)

    const before = recorder.calls().length
    const again = await world.pbm([...args, '--log-format', 'json'], {env: vault.env})
    expect(again.exitCode, describeRun(again)).to.equal(0)
    expect(String(again.stdout)).to.match(/6 skipped/)
    // One listing of the vault for the whole run, no backup.
    expect(recorder.calls().slice(before)).to.deep.equal(['version', 'cat', 'snapshots'])
    expect(vault.snapshots()).to.have.length(12)
    expectNoSecrets(String(first.stdout), String(first.stderr), String(again.stdout), String(again.stderr))
  })

  it('pick --restic beside --to: the folder gets the archive, the vault its content', async () => {
    const vault = initVault()
    const db = newest('bravo').find((a) => a.element === 'database')!
    const dir = path.join(world.tmp, 'pick-both')
    const result = await world.pbm(
      ['backup:pick', 'bravo.live', '--latest', '--element', 'db', '--to', dir, '--restic', vault.repo, '--json'],
      {env: vault.env},
    )
    expect(result.exitCode, describeRun(result)).to.equal(0)
    expect(json<{archives: RowJson[]}>(result).archives.map((r) => [r.destination, r.status])).to.deep.equal([
      ['local', 'transferred'],
      ['restic', 'transferred'],
    ])
    expect(
      readFileSync(path.join(dir, 'bravo', 'live', db.file)).equals(Buffer.concat([...world.sandbox.bytes(db.file)])),
    ).to.be.true
    expectSnapshotsOf(vault, [db])
  })

  for (const [how, at] of [
    // In the gzip header's MTIME: the content inflates whole and correct, only the MD5 tells.
    ['its MD5 alone', (_size: number) => 5],
    // Near the end: the inflater has passed most of the content to restic when the damage shows.
    ['its deflate data', (size: number) => size - 12],
  ] as const) {
    it(`an archive corrupt in ${how} leaves no snapshot (restic's input ends only after verification); the others land`, async () => {
      const vault = initVault()
      const files = newest('alpha').find((a) => a.element === 'files')!
      world.sandbox.setFault(files.file, {corruptAt: at(files.size)})
      const result = await world.pbm(['backup:mirror', 'alpha.live', '--restic', vault.repo, '--json'], {
        env: vault.env,
      })
      expect(result.exitCode, describeRun(result)).to.equal(1)
      const failed = json<{archives: RowJson[]}>(result).archives.filter((r) => r.status === 'failed')
      expect(failed.map((r) => r.file)).to.deep.equal([files.file])
      expect(
        vault
          .snapshots()
          .filter((s) => !isRecord(s))
          .map((s) => s.tags.find((t) => t.startsWith('file='))),
      ).to.have.members(
        newest('alpha')
          .filter((a) => a.file !== files.file)
          .map((a) => `file=${a.file}`),
      )
      expect(vault.restic('list', 'locks').trim()).to.equal('')
    })
  }

  it('Ctrl-C leaves no snapshot and no lock, and exits 130', async () => {
    const vault = initVault()
    for (const a of world.sandbox.archives()) world.sandbox.setFault(a.file, {rateBytesPerSec: 100_000})
    const child = execa(process.execPath, [PBM, 'backup:mirror', 'alpha.live', '--restic', vault.repo], {
      cwd: world.tmp,
      env: {...world.env, ...vault.env, CI: 'true'},
      reject: false,
    })
    const served = world.sandbox.archives().reduce((sum, a) => sum + world.sandbox.stats(a.file).bytesServed, 0)
    await world.sandbox.waitServed(null, served + 100_000)
    child.kill('SIGINT')
    const result = await child
    expect(result.exitCode, describeRun(result)).to.equal(130)
    expect(vault.snapshots()).to.deep.equal([])
    expect(vault.restic('list', 'locks').trim()).to.equal('')
    expectNoSecrets(String(result.stdout), String(result.stderr))
  })

  it('pbm killed (SIGKILL) mid-archive leaves at most an unrecorded data snapshot; the next run transfers that archive again, with its record', async () => {
    const vault = initVault()
    const files = newest('alpha').find((a) => a.element === 'files')!
    world.sandbox.setFault(files.file, {rateBytesPerSec: 100_000})
    const child = execa(process.execPath, [PBM, 'backup:mirror', 'alpha.live', '--restic', vault.repo], {
      cwd: world.tmp,
      env: {...world.env, ...vault.env, CI: 'true'},
      reject: false,
    })
    await world.sandbox.waitServed(files.file, world.sandbox.stats(files.file).bytesServed + 100_000)
    // The restic processes pbm runs now: killing pbm ends their input, as the OOM killer would.
    expect(resticsOf(vault.repo).length, 'restic runs for the archive in flight').to.be.greaterThan(0)
    child.kill('SIGKILL')
    await child
    // They exit on their own once they have saved what they got (found again after the kill: pbm may
    // have started another one, for a record, after the first look).
    const restics = resticsOf(vault.repo)
    for (const pid of restics) await exited(pid)

    const data = vault.snapshots().filter((s) => !isRecord(s))
    const orphans = data.filter((s) => !recordOf(vault, s))
    // restic saved what its input held when it ended, without a record: the files archive truncated
    // (and any other archive still in flight, before or during its commit).
    const orphaned = orphans.map((s) => tag(s, 'file')!)
    expect(orphaned).to.include(files.file)
    expect(new Set(orphaned).size, 'at most one orphan per archive').to.equal(orphaned.length)
    const truncated = orphans.find((s) => tag(s, 'file') === files.file)!
    expect(vault.dump(truncated.id, '/alpha/live/files.tar').length).to.be.lessThan(content(files.file).length)
    for (const r of vault.snapshots().filter((s) => isRecord(s))) {
      expect(
        data.some((s) => s.id.startsWith(tag(r, 'of')!)),
        'a record names a data snapshot',
      ).to.equal(true)
    }

    world.sandbox.clearFaults()
    const again = await world.pbm(['backup:mirror', 'alpha.live', '--restic', vault.repo, '--json'], {env: vault.env})
    expect(again.exitCode, describeRun(again)).to.equal(0)
    for (const row of json<{archives: RowJson[]}>(again).archives) {
      const expected = orphaned.includes(row.file) ? 'transferred' : 'skipped'
      expect(row.status, `${row.file}: an orphan does not count as in the vault`).to.equal(expected)
    }

    for (const a of newest('alpha')) {
      const inside = `/alpha/live/${a.element}.${a.element === 'database' ? 'sql' : 'tar'}`
      const recorded = vault
        .snapshots()
        .filter((s) => !isRecord(s) && tag(s, 'file') === a.file)
        .filter((s) => recordOf(vault, s))
      expect(recorded, a.file).to.have.length(1)
      const dumped = vault.dump(recorded[0].id, inside)
      expect(tag(recordOf(vault, recorded[0])!, 'sha256')).to.equal(sha256(dumped))
      expect(dumped.equals(content(a.file))).to.equal(true)
    }

    // restic may die of a broken pipe when it prints its summary to the killed pbm, leaving its lock:
    // a stale one (its process is gone), which restic ignores and `restic unlock` removes.
    vault.restic('unlock')
    expect(vault.restic('list', 'locks').trim()).to.equal('')
  })

  it('refuses before any transfer: no repository (naming restic init), no password, a restic too old', async () => {
    const vault = initVault()
    const missing = path.join(world.tmp, 'no-such-vault')
    const noRepo = await world.pbm(['backup:mirror', 'alpha.live', '--restic', missing], {env: vault.env})
    expect(noRepo.exitCode, describeRun(noRepo)).to.equal(1)
    expect(String(noRepo.stderr)).to.include(`restic init -r ${missing}`)
    const noPassword = await world.pbm(['backup:mirror', 'alpha.live', '--restic', vault.repo])
    expect(noPassword.exitCode, describeRun(noPassword)).to.equal(2)
    expect(String(noPassword.stderr)).to.include('RESTIC_PASSWORD_FILE')
    const old = path.join(world.tmp, 'old-restic')
    writeFileSync(old, '#!/bin/sh\necho "restic 0.12.1 compiled with go1.15 on linux/amd64"\n')
    chmodSync(old, 0o755)
    const tooOld = await world.pbm(['backup:mirror', 'alpha.live', '--restic', vault.repo, '--restic-bin', old], {
      env: vault.env,
    })
    expect(tooOld.exitCode, describeRun(tooOld)).to.equal(1)
    expect(String(tooOld.stderr)).to.include('restic 0.12.1 is too old')
    expect(vault.snapshots()).to.deep.equal([])
  })

  it('a vault on S3 (moto, restic s3: backend): mirror, re-run skips, no credential or password in any output', async () => {
    const moto = await startMoto()
    try {
      const creds = {AWS_ACCESS_KEY_ID: 'vault-access-key', AWS_SECRET_ACCESS_KEY: 'vault-secret-key'}
      const vault = initVault(`s3:${moto.endpoint}/vault-bucket`, creds)
      const args = ['backup:mirror', 'bravo.live', '--restic', vault.repo]
      const first = await world.pbm([...args, '--log-format', 'json'], {env: vault.env})
      expect(first.exitCode, describeRun(first)).to.equal(0)
      expectSnapshotsOf(vault, newest('bravo'))
      const again = await world.pbm([...args, '--json'], {env: vault.env})
      expect(again.exitCode, describeRun(again)).to.equal(0)
      expect(json<{archives: RowJson[]}>(again).archives.map((r) => r.status)).to.deep.equal([
        'skipped',
        'skipped',
        'skipped',
      ])
      expectNoSecrets(String(first.stdout), String(first.stderr), String(again.stdout), String(again.stderr))
    } finally {
      await moto.close()
    }
  })
})
