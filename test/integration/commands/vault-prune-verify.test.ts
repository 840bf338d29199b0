/**
 * backup:prune and backup:verify of a vault (--restic): the built CLI against the sandbox and real
 * restic, with a vault in a folder and one on moto through restic's S3 backend. What was kept or
 * forgotten is read back with restic itself (`restic snapshots --json`), never from what pbm printed.
 */
import type {Result} from 'execa'

import {GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {once} from 'node:events'
import {readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {daysAgo, json, startWorld, type World} from '../../helpers/cli.js'
import {MOTO_CREDENTIALS, startMoto} from '../../helpers/moto.js'
import {initVault, type TestVault, VAULT_PASSWORD} from '../../helpers/restic.js'

interface SnapshotJson {
  id: string
  short_id: string
  paths: string[]
  tags?: string[]
  time: string
}

interface PruneJson {
  location: string
  dryRun: boolean
  series: Array<{
    site: string
    env: string
    element: string
    keep: Array<{file: string; reasons: string[]; parts?: string[]}>
    remove: Array<{file: string; status: string; parts?: string[]}>
    suspect: string[]
  }>
  summary: {kept: number; removed: number; wouldRemove?: number; failed: number; leftovers: number; suspect: number}
  foreign: {count: number}
  leftovers: Array<{what: string; reason: string; status: string}>
  compact?: {command: string; status: string; freed?: string}
  stopped?: {reason: string}
}

interface VerifyJson {
  objects: Array<{
    site: string
    env: string
    element: string
    file: string
    location: string
    status: string
    note?: string
  }>
  targets: Array<{site: string; env: string; status: string; note?: string}>
  stores: Array<{location: string; command: string; status: string; problems: string[]; damaged: number}>
  summary: {objects: number; ok: number; corrupt: number; problems: number; foreign: number; storeProblems: number}
}

function describeRun(result: Result): string {
  return `exit ${result.exitCode}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`
}

const SECRETS = [VAULT_PASSWORD, 'vault-secret-key']
function expectNoSecrets(results: Result[]): void {
  for (const r of results) {
    for (const secret of SECRETS) {
      expect(String(r.stdout), 'stdout').not.to.include(secret)
      expect(String(r.stderr), 'stderr').not.to.include(secret)
    }
  }
}

/** Every snapshot in the vault, pbm's or not, by ID (restic lists snapshots of one time in either order). */
function allSnapshots(vault: TestVault): SnapshotJson[] {
  return (JSON.parse(vault.restic('snapshots', '--json')) as SnapshotJson[]).sort((a, b) => (a.id < b.id ? -1 : 1))
}

const tagOf = (s: SnapshotJson, name: string) => s.tags?.find((t) => t.startsWith(`${name}=`))?.slice(name.length + 1)

/** `restic backup --stdin` of `input` with these tags, as a dead pbm (or someone else) would have left it. */
function plant(vault: TestVault, file: string, tags: string[], time: string, input = `content of ${file}\n`): string {
  const r = spawnSync(
    'restic',
    [
      '-r',
      vault.repo,
      'backup',
      '--json',
      '--quiet',
      '--stdin',
      '--stdin-filename',
      file,
      '--host',
      'pbm',
      '--time',
      time,
      ...tags.flatMap((t) => ['--tag', t]),
    ],
    {encoding: 'utf8', env: {...process.env, ...vault.env, TZ: 'UTC'}, input},
  )
  if (r.status !== 0) throw new Error(`planting ${file} failed: ${r.stderr}`)
  // restic 0.14 names the saved snapshot by its short ID.
  const short: string = JSON.parse(r.stdout.trim().split('\n').at(-1)!).snapshot_id
  return allSnapshots(vault).find((s) => s.id.startsWith(short))!.id
}

/** A vault folder's files (but restic's transient locks) with their sizes and mtimes: equal means untouched. */
function folderState(root: string): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (!full.includes(`${path.sep}locks${path.sep}`)) {
        const st = statSync(full)
        out.push(`${path.relative(root, full)} ${st.size} ${st.mtimeMs}`)
      }
    }
  }

  walk(root)
  return out.sort()
}

function bytesOf(state: string[]): number {
  return state.reduce((n, line) => n + Number(line.split(' ')[1]), 0)
}

/** The largest pack under data/: surely one of file contents. */
function largestPack(repo: string): string {
  let best = {file: '', size: -1}
  for (const sub of readdirSync(path.join(repo, 'data'))) {
    for (const name of readdirSync(path.join(repo, 'data', sub))) {
      const file = path.join(repo, 'data', sub, name)
      const {size} = statSync(file)
      if (size > best.size) best = {file, size}
    }
  }

  return best.file
}

const SIZES = {code: 20_000, database: 15_000, files: 60_000}

/** Backups of these days ago, one a night. */
function nights(days: number[], sizes = SIZES): Array<{date: string; sizes: typeof SIZES}> {
  return days.map((d) => ({date: daysAgo(d), sizes}))
}

/** The data snapshot and completion record(s) of an archive, by Pantheon's filename. */
function snapshotsOfFile(snapshots: SnapshotJson[], file: string): string[] {
  return snapshots.filter((s) => s.tags?.includes('pbm') && tagOf(s, 'file') === file).map((s) => s.id)
}

/** The tags pbm gives an alpha.live database snapshot (a dead or running pbm's, planted by hand). */
function pbmTags(file: string, folder: string, started: string): string[] {
  return ['pbm', 'site=alpha', 'env=live', 'element=database', `file=${file}`, `folder=${folder}`, `started=${started}`]
}

function flipBytes(data: Buffer): Buffer {
  const out = Buffer.from(data)
  const at = Math.floor(out.length / 2)
  for (let i = at; i < at + 16 && i < out.length; i++) out[i] ^= 0xff
  return out
}

describe('backup:prune and backup:verify of a vault (--restic; built CLI, sandbox, real restic)', function () {
  this.timeout(300_000)
  let world: World

  before(async () => {
    world = await startWorld({
      latencyMs: 0,
      sites: [
        {envs: [{backups: nights([1, 2, 3, 4, 5]), name: 'live'}], name: 'alpha'},
        {envs: [{backups: nights([1, 2]), name: 'live'}], name: 'bravo'},
        // One backup dated three days ahead of the clock: not trusted as the newest.
        {
          envs: [{backups: nights([-3, 1, 2], {code: 5000, database: 5000, files: 5000}), name: 'live'}],
          name: 'charlie',
        },
      ],
    })
  })

  after(async () => world?.close())

  const pbm = (args: string[], vault: TestVault) => world.pbm(args, {env: vault.env})

  /** Pantheon's files of a site.env, newest first. */
  const filesOf = (site: string) =>
    world.sandbox
      .archives()
      .filter((a) => a.site === site)
      .sort((a, b) => (a.folder < b.folder ? 1 : -1))

  it("a vault in a folder: prune keeps exactly the plan (restic forget of each removed archive's data and record, leftovers with reasons, restic prune); --dry-run and --max-delete change nothing; pbm never touches snapshots it did not write", async () => {
    const vault = initVault()
    const runs: Result[] = []
    const mirrored = await pbm(
      ['backup:mirror', 'alpha.live', 'bravo.live', '--all', '--restic', vault.repo, '--json'],
      vault,
    )
    runs.push(mirrored)
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)

    // What a killed pbm leaves, what a running one has not recorded yet, and what is not pbm's.
    const alpha = filesOf('alpha')
    const newestDb = alpha.find((a) => a.element === 'database')!
    const deadFile = 'alpha_live_2020-01-01T03-00-00_UTC_database.sql.gz'
    const dead = plant(
      vault,
      '/alpha/live/database.sql',
      pbmTags(deadFile, '1577847600_backup', daysAgo(2)),
      '2020-01-01 03:00:00',
    )
    const runningFile = 'alpha_live_2020-01-02T03-00-00_UTC_database.sql.gz'
    const running = plant(
      vault,
      '/alpha/live/database.sql',
      pbmTags(runningFile, '1577934000_backup', new Date().toISOString()),
      '2020-01-02 03:00:00',
    )
    // The newest database stored again after a run died before its record: that copy is a leftover.
    const superseded = plant(
      vault,
      '/alpha/live/database.sql',
      pbmTags(newestDb.file, newestDb.folder, new Date().toISOString()),
      '2020-01-03 03:00:00',
    )
    // Looks like pbm's in every tag but `pbm`: not pbm's, never touched.
    const lookalikeFile = 'alpha_live_2020-01-04T03-00-00_UTC_database.sql.gz'
    const lookalike = plant(
      vault,
      '/alpha/live/database.sql',
      pbmTags(lookalikeFile, '1578106800_backup', daysAgo(30)).filter((t) => t !== 'pbm'),
      '2020-01-04 03:00:00',
    )
    const someoneElse = plant(vault, '/etc/hosts', ['nightly'], '2020-01-05 03:00:00')

    const before = allSnapshots(vault)
    const beforeFolder = folderState(vault.repo)
    const policy = ['--keep-last', '2']

    // --dry-run: the plan, the forgets and the prune shown; nothing changes.
    const dry = await pbm(['backup:prune', '--restic', vault.repo, ...policy, '--dry-run', '--json'], vault)
    runs.push(dry)
    expect(dry.exitCode, describeRun(dry)).to.equal(0)
    const plan = json<PruneJson>(dry)
    expect(plan.dryRun).to.equal(true)
    const planned = plan.series.flatMap((s) => s.remove.map((r) => r.file))
    // Per alpha element, the 3 oldest of 5 nights; bravo keeps its 2.
    const expectedRemove = ['code', 'files', 'database'].flatMap((el) =>
      alpha
        .filter((a) => a.element === el)
        .slice(2)
        .map((a) => a.file),
    )
    expect([...planned].sort()).to.deep.equal([...expectedRemove].sort())
    for (const s of plan.series) {
      for (const r of s.remove) {
        // Each removal is its data snapshot and its record, by ID.
        expect(r.parts, r.file).to.have.length(2)
        expect(
          snapshotsOfFile(before, r.file)
            .map((id) => id.slice(0, 8))
            .sort(),
        ).to.deep.equal([...r.parts!].sort())
      }
    }

    expect(plan.leftovers.map((l) => l.what).sort()).to.deep.equal(
      [dead, superseded]
        .map(
          (id) =>
            `${vault.repo}::snapshot ${id.slice(0, 8)} /alpha/live/database.sql (${id === dead ? deadFile : newestDb.file})`,
        )
        .sort(),
    )
    expect(plan.leftovers.find((l) => l.what.includes(dead.slice(0, 8)))!.reason).to.match(
      /no completion record, and its run began \d+ h ago/,
    )
    expect(plan.leftovers.find((l) => l.what.includes(superseded.slice(0, 8)))!.reason).to.match(
      /was stored again, with its record/,
    )
    expect(plan.leftovers.every((l) => l.status === 'planned')).to.equal(true)
    expect(plan.compact).to.deep.equal({command: 'restic prune', status: 'planned'})
    expect(plan.foreign.count).to.equal(2)
    expect(allSnapshots(vault)).to.deep.equal(before)
    expect(folderState(vault.repo)).to.deep.equal(beforeFolder)
    const dryText = await pbm(['backup:prune', '--restic', vault.repo, ...policy, '--dry-run'], vault)
    runs.push(dryText)
    expect(String(dryText.stdout)).to.match(/\(dry run: not removed\) \(snapshots [\da-f]{8}, [\da-f]{8}\)/)
    expect(String(dryText.stdout)).to.include('restic prune: would run after the removals (dry run: not run)')
    expect(String(dryText.stdout)).to.include(`leftover ${vault.repo}::snapshot ${dead.slice(0, 8)}`)

    // --max-delete below the plan: nothing forgotten, exit 1.
    const capped = await pbm(
      ['backup:prune', '--restic', vault.repo, ...policy, '--max-delete', '3', '--yes', '--json'],
      vault,
    )
    runs.push(capped)
    expect(capped.exitCode, describeRun(capped)).to.equal(1)
    expect(json<PruneJson>(capped).stopped?.reason).to.equal('max-delete')
    expect(allSnapshots(vault)).to.deep.equal(before)
    expect(folderState(vault.repo)).to.deep.equal(beforeFolder)

    // The real prune: exactly the planned snapshots and the leftovers go; restic prune frees their data.
    const pruned = await pbm(['backup:prune', '--restic', vault.repo, ...policy, '--yes', '--json'], vault)
    runs.push(pruned)
    expect(pruned.exitCode, describeRun(pruned)).to.equal(0)
    const done = json<PruneJson>(pruned)
    expect(done.summary.removed).to.equal(expectedRemove.length)
    expect(done.summary.leftovers).to.equal(2)
    expect(done.leftovers.every((l) => l.status === 'removed')).to.equal(true)
    expect(done.compact?.status).to.equal('done')
    expect(done.compact?.freed).to.match(/^[\d.]+ [KMG]?i?B$/)
    const gone = new Set([dead, superseded, ...expectedRemove.flatMap((f) => snapshotsOfFile(before, f))])
    expect(gone.size).to.equal(expectedRemove.length * 2 + 2)
    const after = allSnapshots(vault)
    expect(after.map((s) => s.id).sort()).to.deep.equal(
      before
        .map((s) => s.id)
        .filter((id) => !gone.has(id))
        .sort(),
    )
    // Guards: a running pbm's unrecorded snapshot, a look-alike without the pbm tag, someone else's.
    for (const kept of [running, lookalike, someoneElse]) expect(after.map((s) => s.id)).to.include(kept)
    expect(bytesOf(folderState(vault.repo))).to.be.below(bytesOf(beforeFolder))
    vault.restic('check')

    // The next prune has nothing to forget.
    const again = await pbm(['backup:prune', '--restic', vault.repo, ...policy, '--yes', '--json'], vault)
    runs.push(again)
    expect(again.exitCode, describeRun(again)).to.equal(0)
    expect(json<PruneJson>(again).summary.removed).to.equal(0)
    expect(
      allSnapshots(vault)
        .map((s) => s.id)
        .sort(),
    ).to.deep.equal(after.map((s) => s.id).sort())
    expectNoSecrets(runs)
  })

  it('a backup dated in the future is kept as suspect and never stands in for the newest (the same guard as S3 and folders)', async () => {
    const vault = initVault()
    const mirrored = await pbm(['backup:mirror', 'charlie.live', '--all', '--restic', vault.repo], vault)
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
    const before = allSnapshots(vault)
    const pruned = await pbm(
      ['backup:prune', 'charlie.live', '--restic', vault.repo, '--keep-last', '1', '--yes', '--json'],
      vault,
    )
    expect(pruned.exitCode, describeRun(pruned)).to.equal(0)
    const result = json<PruneJson>(pruned)
    const charlie = filesOf('charlie')
    const [future, newest, oldest] = [0, 1, 2].map((i) => charlie.filter((a) => a.element === 'database')[i].file)
    const db = result.series.find((s) => s.element === 'database')!
    expect(db.suspect).to.deep.equal([future])
    expect(db.keep.map((k) => k.file)).to.deep.equal([future, newest])
    expect(db.remove.map((r) => r.file)).to.deep.equal([oldest])
    const left = new Set(allSnapshots(vault).map((s) => s.id))
    for (const file of [future, newest])
      for (const id of snapshotsOfFile(before, file)) expect(left.has(id)).to.equal(true)
    for (const id of snapshotsOfFile(before, oldest)) expect(left.has(id)).to.equal(false)
  })

  it('mirror --restic --prune --verify: the same plan after the mirror, then restic prune; the stored archives checked', async () => {
    const vault = initVault()
    const all = await pbm(['backup:mirror', 'bravo.live', '--all', '--restic', vault.repo], vault)
    expect(all.exitCode, describeRun(all)).to.equal(0)
    const run = await pbm(
      ['backup:mirror', 'bravo.live', '--restic', vault.repo, '--prune', '--keep-last', '1', '--verify', '--json'],
      vault,
    )
    expect(run.exitCode, describeRun(run)).to.equal(0)
    const result = json<{prune: PruneJson[]; verify: VerifyJson}>(run)
    // The newest set, skipped as already in the vault, checked after the prune.
    expect(result.verify.summary.objects).to.equal(3)
    expect(result.verify.summary.problems).to.equal(0)
    expect(result.prune).to.have.length(1)
    expect(result.prune[0].location).to.equal(vault.repo)
    expect(result.prune[0].summary.removed).to.equal(3)
    expect(result.prune[0].compact?.status).to.equal('done')
    const newest = filesOf('bravo')
      .slice(0, 3)
      .map((a) => a.file)
    const left = allSnapshots(vault)
    expect([...new Set(left.map((s) => tagOf(s, 'file')))].sort()).to.deep.equal([...newest].sort())
    expect(left).to.have.length(6)
  })

  it('while another restic holds the vault (a mirror writing into it), prune forgets nothing and verify cannot check: exit 1 both, the lock named', async () => {
    const vault = initVault()
    const mirrored = await pbm(['backup:mirror', 'bravo.live', '--all', '--restic', vault.repo], vault)
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
    const before = allSnapshots(vault)
    // A backup in flight holds restic's shared lock until its input ends.
    const writer = spawn('restic', ['-r', vault.repo, 'backup', '--stdin', '--stdin-filename', '/x'], {
      env: {...process.env, ...vault.env},
      stdio: ['pipe', 'ignore', 'ignore'],
    })
    try {
      writer.stdin.write('partial content')
      while (readdirSync(path.join(vault.repo, 'locks')).length === 0) {
        await new Promise((resolve) => {
          setTimeout(resolve, 50)
        })
      }

      const pruned = await pbm(['backup:prune', '--restic', vault.repo, '--keep-last', '1', '--yes', '--json'], vault)
      expect(pruned.exitCode, describeRun(pruned)).to.equal(1)
      const result = json<PruneJson>(pruned)
      expect(result.summary.failed).to.equal(3)
      expect(result.summary.removed).to.equal(0)
      expect(result.compact?.status).to.equal('failed')
      expect(result.series.flatMap((s) => s.remove).every((r) => r.status === 'failed')).to.equal(true)
      expect(allSnapshots(vault)).to.deep.equal(before)
      const verified = await pbm(['backup:verify', 'bravo.live', '--restic', vault.repo, '--json'], vault)
      expect(verified.exitCode, describeRun(verified)).to.equal(1)
      expect(json<VerifyJson>(verified).stores[0].status).to.equal('error')
      expect(String(verified.stderr) + String(verified.stdout)).to.include('is locked')
    } finally {
      // SIGINT: restic quits without a snapshot and removes its lock.
      const gone = once(writer, 'exit')
      writer.kill('SIGINT')
      await gone
    }

    expect(allSnapshots(vault)).to.deep.equal(before)
  })

  it('verify --restic: coverage from the snapshots, restic check; --deep finds a damaged pack (exit 3, the archives it holds named), --sample K/N reads one slice of the packs', async () => {
    const vault = initVault()
    const runs: Result[] = []
    const mirrored = await pbm(['backup:mirror', 'alpha.live', 'bravo.live', '--restic', vault.repo], vault)
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
    plant(vault, '/etc/hosts', ['nightly'], '2020-01-05 03:00:00')

    const quick = await pbm(['backup:verify', 'alpha.live', 'bravo.live', '--restic', vault.repo, '--json'], vault)
    runs.push(quick)
    expect(quick.exitCode, describeRun(quick)).to.equal(0)
    const ok = json<VerifyJson>(quick)
    expect(ok.targets.map((t) => `${t.site}.${t.env} ${t.status}`)).to.deep.equal(['alpha.live ok', 'bravo.live ok'])
    expect(ok.objects).to.have.length(6)
    expect(ok.objects.every((o) => o.status === 'ok' && o.location.startsWith(`${vault.repo}::`))).to.equal(true)
    expect(ok.stores).to.deep.equal([
      {command: 'restic check', damaged: 0, location: vault.repo, problems: [], status: 'ok'},
    ])
    expect(ok.summary.foreign).to.equal(1)

    const deep = await pbm(['backup:verify', '--restic', vault.repo, '--deep', '--json'], vault)
    runs.push(deep)
    expect(deep.exitCode, describeRun(deep)).to.equal(0)
    expect(json<VerifyJson>(deep).stores[0].command).to.equal('restic check --read-data-subset 1/1')

    // A snapshot forgotten by hand: its site.env is incomplete against Pantheon's newest set.
    const bravoDb = filesOf('bravo').find((a) => a.element === 'database')!
    const bravoIds = snapshotsOfFile(allSnapshots(vault), bravoDb.file)
    vault.restic('forget', ...bravoIds)
    const incomplete = await pbm(['backup:verify', 'bravo.live', '--restic', vault.repo, '--json'], vault)
    runs.push(incomplete)
    expect(incomplete.exitCode, describeRun(incomplete)).to.equal(3)
    expect(json<VerifyJson>(incomplete).targets[0].status).to.equal('incomplete')

    // Damage one pack of file contents.
    const pack = largestPack(vault.repo)
    writeFileSync(pack, flipBytes(readFileSync(pack)))
    const packId = path.basename(pack)
    const damaged = await pbm(['backup:verify', '--restic', vault.repo, '--deep', '--json'], vault)
    runs.push(damaged)
    expect(damaged.exitCode, describeRun(damaged)).to.equal(3)
    const found = json<VerifyJson>(damaged)
    const corrupt = found.objects.filter((o) => o.status === 'corrupt')
    expect(corrupt.length).to.be.greaterThan(0)
    for (const o of corrupt) expect(o.note).to.include(`pack ${packId.slice(0, 8)}`)
    expect(found.stores[0].status).to.equal('damaged')
    const text = await pbm(['backup:verify', '--restic', vault.repo, '--deep'], vault)
    runs.push(text)
    expect(text.exitCode).to.equal(3)
    expect(String(text.stdout)).to.match(/^corrupt /m)
    expect(String(text.stdout)).to.include(`pack ${packId.slice(0, 8)}`)

    // --sample K/N reads slice K of N of the packs: of three slices, exactly one holds the damaged pack
    // (found as alpha's archives, or as damage to archives this run did not select: exit 3 either way).
    const slices = []
    for (const k of [1, 2, 3]) {
      const r = await pbm(
        ['backup:verify', 'alpha.live', '--restic', vault.repo, '--deep', '--sample', `${k}/3`, '--json'],
        vault,
      )
      runs.push(r)
      expect([0, 3], describeRun(r)).to.include(r.exitCode)
      expect(json<VerifyJson>(r).stores[0].command).to.equal(`restic check --read-data-subset ${k}/3`)
      slices.push(r.exitCode)
    }

    expect(slices.filter((code) => code === 3)).to.have.length(1)
    expectNoSecrets(runs)
  })

  it('a vault on S3 (moto, restic s3: backend): prune keeps exactly the plan, verify ok, a damaged pack found by --deep; no credential in any output', async () => {
    const moto = await startMoto()
    try {
      const creds = {AWS_ACCESS_KEY_ID: 'vault-access-key', AWS_SECRET_ACCESS_KEY: 'vault-secret-key'}
      const vault = initVault(`s3:${moto.endpoint}/vault-bucket`, creds)
      const runs: Result[] = []
      const mirrored = await pbm(
        ['backup:mirror', 'bravo.live', '--all', '--restic', vault.repo, '--log-format', 'json'],
        vault,
      )
      runs.push(mirrored)
      expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
      const before = allSnapshots(vault)
      expect(before).to.have.length(12)

      const pruned = await pbm(['backup:prune', '--restic', vault.repo, '--keep-last', '1', '--yes', '--json'], vault)
      runs.push(pruned)
      expect(pruned.exitCode, describeRun(pruned)).to.equal(0)
      const removed = json<PruneJson>(pruned).series.flatMap((s) => s.remove.map((r) => r.file))
      const oldest = filesOf('bravo')
        .slice(3)
        .map((a) => a.file)
      expect([...removed].sort()).to.deep.equal([...oldest].sort())
      const gone = new Set(oldest.flatMap((f) => snapshotsOfFile(before, f)))
      expect(
        allSnapshots(vault)
          .map((s) => s.id)
          .sort(),
      ).to.deep.equal(
        before
          .map((s) => s.id)
          .filter((id) => !gone.has(id))
          .sort(),
      )

      const verified = await pbm(['backup:verify', 'bravo.live', '--restic', vault.repo, '--deep', '--json'], vault)
      runs.push(verified)
      expect(verified.exitCode, describeRun(verified)).to.equal(0)

      // Damage the largest pack in the bucket.
      const s3 = new S3Client({
        credentials: MOTO_CREDENTIALS,
        endpoint: moto.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
      })
      const listed = await s3.send(new ListObjectsV2Command({Bucket: 'vault-bucket', Prefix: 'data/'}))
      const largest = [...(listed.Contents ?? [])].sort((a, b) => (b.Size ?? 0) - (a.Size ?? 0))[0]
      const got = await s3.send(new GetObjectCommand({Bucket: 'vault-bucket', Key: largest.Key}))
      const body = Buffer.from(await got.Body!.transformToByteArray())
      await s3.send(new PutObjectCommand({Body: flipBytes(body), Bucket: 'vault-bucket', Key: largest.Key}))
      const damaged = await pbm(['backup:verify', 'bravo.live', '--restic', vault.repo, '--deep', '--json'], vault)
      runs.push(damaged)
      expect(damaged.exitCode, describeRun(damaged)).to.equal(3)
      const corrupt = json<VerifyJson>(damaged).objects.filter((o) => o.status === 'corrupt')
      expect(corrupt.length).to.be.greaterThan(0)
      expect(corrupt[0].note).to.include(`pack ${path.basename(largest.Key!).slice(0, 8)}`)
      expectNoSecrets(runs)
    } finally {
      await moto.close()
    }
  })
})
