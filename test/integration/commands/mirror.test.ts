/**
 * End-to-end tests of `pbm backup:mirror`: the built CLI (bin/run.js over dist/) against the sandbox's
 * terminus and a real local S3 server (s3rver). Every check of what landed compares the bucket's bytes
 * with the sandbox's own MD5, never with what pbm printed.
 *
 * Two worlds: a healthy one (4 sites, 2 orgs, 3 backups per site.env) and one full of trouble (frozen,
 * uninitialized, failing workflow, a corrupt archive). Runs share a world and keep apart by key prefix.
 */
import type {Result} from 'execa'

import {expect} from 'chai'

import type {SandboxArchive} from '../../../sandbox/index.js'

import {daysAgo, json, md5, startWorld, type World} from '../../helpers/cli.js'

interface ArchiveJson {
  site: string
  env: string
  element: string
  file: string
  folder: string
  destination: string
  location: string
  bytes?: number
  md5?: string
  status: string
  note?: string
  error?: {code: string; message: string}
}

interface TargetJson {
  site: string
  env: string
  status: string
  note?: string
  error?: {code: string; message: string}
}

interface MirrorJson {
  archives: ArchiveJson[]
  targets: TargetJson[]
  summary: {transferred: number; skipped: number; failed: number; planned: number; bytes: number}
}

/** Runs pbm and checks what holds for every run: no signed URL, no carriage return (never a TTY here). */
async function pbm(world: World, args: string[], env?: Record<string, string | undefined>): Promise<Result> {
  const result = await world.pbm(['backup:mirror', ...args], {env})
  const output = `${result.stdout}\n${result.stderr}`
  expect(output, 'a signed URL in the output').to.not.include('Signature=')
  expect(output, 'a carriage return in non-TTY output').to.not.include('\r')
  return result
}

function describeRun(result: Result): string {
  return `exit ${result.exitCode}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`
}

function keyOf(prefix: string, archive: SandboxArchive): string {
  return `${prefix}${archive.site}/${archive.env}/${archive.file}`
}

/** The sandbox's archives of one site.env, optionally only those of its newest backup folder. */
function archivesOf(world: World, site: string, env: string, which: 'all' | 'newest' = 'newest'): SandboxArchive[] {
  const own = world.sandbox.archives().filter((a) => a.site === site && a.env === env)
  if (which === 'all' || own.length === 0) return own
  const newest = own.reduce((a, b) => (a.date >= b.date ? a : b)).folder
  return own.filter((a) => a.folder === newest)
}

/** The keys under `prefix` are exactly those of `archives`, and each object holds the archive's exact bytes. */
async function expectExactlyMirrored(world: World, prefix: string, archives: SandboxArchive[]): Promise<void> {
  expect(archives.length, 'expected archives').to.be.greaterThan(0)
  const keys = await world.s3.listKeys(world.bucket, prefix)
  expect(keys).to.deep.equal(archives.map((a) => keyOf(prefix, a)).sort())
  await Promise.all(
    archives.map(async (archive) => {
      const stored = await world.s3.getObject(world.bucket, keyOf(prefix, archive))
      expect(stored, archive.file).to.not.equal(undefined)
      expect(stored!.length, `${archive.file} size`).to.equal(archive.size)
      expect(md5(stored!), `${archive.file} md5`).to.equal(archive.md5)
    }),
  )
}

function bytesServed(world: World, archives: SandboxArchive[]): {bytes: number; requests: number} {
  let bytes = 0
  let requests = 0
  for (const a of archives) {
    const stats = world.sandbox.stats(a.file)
    bytes += stats.bytesServed
    requests += stats.requests
  }

  return {bytes, requests}
}

const nonEmptyLines = (text: unknown) =>
  String(text)
    .split('\n')
    .filter((line) => line.trim() !== '')

const three = () => [{date: daysAgo(5)}, {date: daysAgo(3)}, {date: daysAgo(1)}]

describe('pbm backup:mirror (built CLI, sandbox + s3rver)', function () {
  this.timeout(120_000)

  describe('a healthy agency: 4 sites, dev and live, 3 backups each', () => {
    let world: World
    const sites = ['alpha', 'bravo', 'charlie']
    const envs = ['dev', 'live']
    const newestOf = (names: string[], envNames = envs) =>
      names.flatMap((site) => envNames.flatMap((env) => archivesOf(world, site, env)))

    before(async () => {
      world = await startWorld({
        latencyMs: 0,
        orgs: [{name: 'agency'}, {name: 'other'}],
        sites: [
          {
            envs: [
              {backups: three(), name: 'dev'},
              {backups: three(), name: 'live'},
            ],
            name: 'alpha',
            org: 'agency',
            tags: ['nightly'],
          },
          {
            envs: [
              {backups: three(), name: 'dev'},
              {backups: three(), name: 'live'},
            ],
            name: 'bravo',
            org: 'agency',
            tags: ['weekly'],
          },
          {
            envs: [
              {backups: three(), name: 'dev'},
              {backups: three(), name: 'live'},
            ],
            name: 'charlie',
            org: 'agency',
            tags: ['eu', 'nightly'],
          },
          {envs: [{backups: three(), name: 'live'}], name: 'zulu', org: 'other', tags: ['nightly']},
        ],
      })
    })

    after(async () => world?.close())

    it('mirrors 3 sites × dev, live × 3 elements (--site) with exact bytes, one line per archive, then skips them all', async () => {
      const expected = newestOf(sites)
      expect(expected).to.have.length(18)
      const first = await pbm(world, [
        '--site',
        'alpha',
        '--site',
        'bravo',
        '--site',
        'charlie',
        '--bucket',
        world.bucket,
        '--prefix',
        'main/',
      ])
      expect(first.exitCode, describeRun(first)).to.equal(0)
      await expectExactlyMirrored(world, 'main/', expected)
      // Line-based output: each archive has its own line saying it was verified.
      const lines = String(first.stdout).split('\n')
      for (const archive of expected) {
        expect(
          lines.some((line) => line.includes(archive.file) && line.includes('verified')),
          `a line for ${archive.file}`,
        ).to.equal(true)
      }

      expect(String(first.stdout)).to.match(/18 transferred, 0 skipped, 0 failed/)

      world.sandbox.resetStats()
      const second = await pbm(world, [
        '--site',
        'alpha',
        '--site',
        'bravo',
        '--site',
        'charlie',
        '--bucket',
        world.bucket,
        '--prefix',
        'main/',
        '--json',
      ])
      expect(second.exitCode, describeRun(second)).to.equal(0)
      const out = json<MirrorJson>(second)
      expect(out.archives).to.have.length(18)
      expect(out.archives.map((a) => a.status)).to.deep.equal(Array.from({length: 18}, () => 'skipped'))
      expect(out.archives.map((a) => a.file).sort()).to.deep.equal(expected.map((a) => a.file).sort())
      expect(out.summary).to.include({failed: 0, skipped: 18, transferred: 0})
      expect(bytesServed(world, world.sandbox.archives()).bytes, 'archive bytes served on the second run').to.equal(0)
      await expectExactlyMirrored(world, 'main/', expected)
    })

    it('takes positional SITE.ENV arguments', async () => {
      const result = await pbm(world, [
        'alpha.dev',
        'bravo.live',
        'charlie.dev',
        '--bucket',
        world.bucket,
        '--prefix',
        'pos/',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(0)
      await expectExactlyMirrored(world, 'pos/', [
        ...archivesOf(world, 'alpha', 'dev'),
        ...archivesOf(world, 'bravo', 'live'),
        ...archivesOf(world, 'charlie', 'dev'),
      ])
    })

    it('reads PBM_SITES, PBM_ENVS and PBM_BUCKET (s3://bucket/prefix) from the environment', async () => {
      const result = await pbm(world, [], {
        PBM_BUCKET: `s3://${world.bucket}/from-env/`,
        PBM_ENVS: 'live',
        PBM_SITES: 'alpha bravo,charlie',
      })
      expect(result.exitCode, describeRun(result)).to.equal(0)
      await expectExactlyMirrored(world, 'from-env/', newestOf(sites, ['live']))
    })

    it('--all mirrors every listed backup, --since limits it, --element db only databases', async () => {
      const all = await pbm(world, ['alpha.dev', '--all', '--bucket', world.bucket, '--prefix', 'all/'])
      expect(all.exitCode, describeRun(all)).to.equal(0)
      const every = archivesOf(world, 'alpha', 'dev', 'all')
      expect(every).to.have.length(9)
      await expectExactlyMirrored(world, 'all/', every)

      const since = daysAgo(4).slice(0, 10)
      const limited = await pbm(world, [
        'alpha.dev',
        '--all',
        '--since',
        since,
        '--bucket',
        world.bucket,
        '--prefix',
        'since/',
      ])
      expect(limited.exitCode, describeRun(limited)).to.equal(0)
      const recent = every.filter((a) => a.date * 1000 >= Date.parse(since))
      expect(recent).to.have.length(6)
      await expectExactlyMirrored(world, 'since/', recent)

      const db = await pbm(world, [
        '--site',
        'alpha',
        '--site',
        'bravo',
        '--element',
        'db',
        '--bucket',
        world.bucket,
        '--prefix',
        'db/',
      ])
      expect(db.exitCode, describeRun(db)).to.equal(0)
      const databases = newestOf(['alpha', 'bravo']).filter((a) => a.element === 'database')
      expect(databases).to.have.length(4)
      await expectExactlyMirrored(world, 'db/', databases)
    })

    it('--org ORG --tag TAG mirrors the tagged sites of that organization only', async () => {
      const result = await pbm(world, [
        '--org',
        'agency',
        '--tag',
        'nightly',
        '--env',
        'live',
        '--bucket',
        world.bucket,
        '--prefix',
        'org/',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(0)
      // bravo is tagged weekly; zulu is tagged nightly but belongs to another organization.
      await expectExactlyMirrored(world, 'org/', newestOf(['alpha', 'charlie'], ['live']))
    })

    it('--dry-run plans every archive and transfers nothing', async () => {
      world.sandbox.resetStats()
      const result = await pbm(world, [
        '--site',
        'alpha',
        '--site',
        'zulu',
        '--env',
        'live',
        '--bucket',
        world.bucket,
        '--prefix',
        'dry/',
        '--dry-run',
        '--json',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(0)
      const out = json<MirrorJson>(result)
      const expected = [...archivesOf(world, 'alpha', 'live'), ...archivesOf(world, 'zulu', 'live')]
      expect(out.archives.map((a) => a.file).sort()).to.deep.equal(expected.map((a) => a.file).sort())
      for (const a of out.archives) {
        expect(a.status, a.file).to.equal('planned')
        expect(a.location).to.equal(`s3://${world.bucket}/dry/${a.site}/${a.env}/${a.file}`)
      }

      expect(out.summary).to.include({planned: 6, transferred: 0})
      expect(await world.s3.listKeys(world.bucket, 'dry/')).to.deep.equal([])
      expect(bytesServed(world, world.sandbox.archives()).requests, 'archive requests in a dry run').to.equal(0)
    })

    it('--quiet prints only the summary', async () => {
      const result = await pbm(world, ['zulu.live', '--bucket', world.bucket, '--prefix', 'quiet/', '--quiet'])
      expect(result.exitCode, describeRun(result)).to.equal(0)
      expect(nonEmptyLines(result.stdout), describeRun(result)).to.have.length(1)
      expect(String(result.stdout)).to.match(/^\s*3 transferred, 0 skipped, 0 failed/)
      expect(String(result.stderr).trim()).to.equal('')
      await expectExactlyMirrored(world, 'quiet/', archivesOf(world, 'zulu', 'live'))
    })

    it('usage errors: no site without a TTY, no destination (exit 2)', async () => {
      const noSite = await pbm(world, ['--bucket', world.bucket])
      expect(noSite.exitCode, describeRun(noSite)).to.equal(2)
      expect(String(noSite.stderr)).to.include('--site')

      const noDestination = await pbm(world, ['--site', 'alpha'])
      expect(noDestination.exitCode, describeRun(noDestination)).to.equal(2)
      expect(String(noDestination.stderr)).to.match(/--bucket/)
      expect(String(noDestination.stderr)).to.match(/--to/)
    })
  })

  describe('a troubled agency: failures never stop the others', () => {
    let world: World
    const CORRUPT = 200

    before(async () => {
      const one = () => [{date: daysAgo(2)}]
      world = await startWorld({
        createMs: 200,
        latencyMs: 0,
        sites: [
          {
            envs: [
              {backups: one(), name: 'dev'},
              {backups: one(), name: 'live'},
            ],
            name: 'ok1',
          },
          {
            envs: [
              {backups: one(), name: 'dev'},
              {backups: one(), name: 'live'},
            ],
            name: 'ok2',
          },
          {
            envs: [
              {backups: one(), name: 'dev'},
              {backups: one(), name: 'live'},
            ],
            frozen: true,
            name: 'ice',
          },
          {
            envs: [
              {initialized: false, name: 'dev'},
              {backups: one(), name: 'live'},
            ],
            name: 'half',
          },
          {
            createFails: 'Workflow failed.',
            envs: [
              {backups: one(), name: 'dev'},
              {backups: one(), name: 'live'},
            ],
            name: 'broken',
          },
          {
            envs: [
              {backups: one(), name: 'dev'},
              {backups: [{date: daysAgo(2), faults: {files: {corruptAt: CORRUPT, times: 1000}}}], name: 'live'},
            ],
            name: 'bad',
          },
        ],
      })
    })

    after(async () => world?.close())

    it('unknown site, frozen site, uninitialized env, corrupt archive: the rest lands, exit 1 with each reason (--json)', async () => {
      const result = await pbm(world, [
        '--site',
        'ok1',
        '--site',
        'ice',
        '--site',
        'half',
        '--site',
        'bad',
        '--site',
        'ghost',
        '--bucket',
        world.bucket,
        '--prefix',
        'fail/',
        '--json',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(1)
      const out = json<MirrorJson>(result)
      const corrupt = archivesOf(world, 'bad', 'live').find((a) => a.element === 'files')!
      const good = [
        ...archivesOf(world, 'ok1', 'dev'),
        ...archivesOf(world, 'ok1', 'live'),
        // A frozen site's backups, which Pantheon still lists, are mirrored like any other.
        ...archivesOf(world, 'ice', 'dev'),
        ...archivesOf(world, 'ice', 'live'),
        ...archivesOf(world, 'half', 'live'),
        ...archivesOf(world, 'bad', 'dev'),
        ...archivesOf(world, 'bad', 'live').filter((a) => a.file !== corrupt.file),
      ]
      expect(good).to.have.length(20)
      await expectExactlyMirrored(world, 'fail/', good)

      // Per-archive results, like backup:pick: checked against the sandbox, not against each other.
      for (const archive of good) {
        const row = out.archives.find((a) => a.file === archive.file)
        expect(row, archive.file).to.not.equal(undefined)
        expect(row).to.include({
          bytes: archive.size,
          destination: 's3',
          element: archive.element,
          env: archive.env,
          location: `s3://${world.bucket}/${keyOf('fail/', archive)}`,
          md5: archive.md5,
          site: archive.site,
          status: 'transferred',
        })
        expect(row!.error).to.equal(null)
      }

      const failedRow = out.archives.find((a) => a.file === corrupt.file)
      expect(failedRow, 'the corrupt archive’s row').to.include({
        destination: 's3',
        element: 'files',
        env: 'live',
        site: 'bad',
        status: 'failed',
      })
      expect(failedRow!.error?.message, 'the reason').to.be.a('string').and.not.equal('')
      expect(out.archives.filter((a) => a.status === 'failed')).to.have.length(1)

      const target = (site: string, env: string) => out.targets.find((t) => t.site === site && t.env === env)
      for (const env of ['dev', 'live']) {
        expect(target('ice', env), `ice.${env}`).to.include({status: 'mirrored'})
        expect(target('ghost', env), `ghost.${env}`).to.include({status: 'failed'})
        expect(target('ghost', env)!.error?.message).to.match(/ghost/)
        expect(target('ok1', env), `ok1.${env}`).to.include({status: 'mirrored'})
      }

      expect(target('half', 'dev')).to.include({status: 'skipped'})
      expect(target('half', 'dev')!.note).to.match(/initialized/)
      expect(target('half', 'live')).to.include({status: 'mirrored'})
      expect(target('bad', 'live')).to.include({status: 'failed'})
      expect(out.summary).to.include({failed: 3, transferred: 20})
    })

    it('the same without --json: reasons in the summary, on stderr', async () => {
      const result = await pbm(world, [
        '--site',
        'ghost',
        '--site',
        'bad',
        '--env',
        'live',
        '--bucket',
        world.bucket,
        '--prefix',
        'text/',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(1)
      const corrupt = archivesOf(world, 'bad', 'live').find((a) => a.element === 'files')!
      expect(String(result.stderr)).to.match(/ghost\.live: .*ghost/)
      expect(`${result.stdout}\n${result.stderr}`).to.match(/bad\.live files .*: \S+/)
      expect(String(result.stdout)).to.match(/2 transferred, 0 skipped, 2 failed/)
      await expectExactlyMirrored(
        world,
        'text/',
        archivesOf(world, 'bad', 'live').filter((a) => a.file !== corrupt.file),
      )
    })

    it('--quiet prints only the summary on stdout and the errors on stderr', async () => {
      const result = await pbm(world, [
        '--site',
        'ghost',
        '--site',
        'bad',
        '--env',
        'live',
        '--bucket',
        world.bucket,
        '--prefix',
        'quiet/',
        '--quiet',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(1)
      expect(nonEmptyLines(result.stdout), describeRun(result)).to.have.length(1)
      expect(String(result.stdout)).to.match(/2 transferred, 0 skipped, 2 failed/)
      const errors = nonEmptyLines(result.stderr)
      expect(
        errors.some((line) => /ghost\.live/.test(line)),
        describeRun(result),
      ).to.equal(true)
      expect(
        errors.some((line) => /bad\.live files/.test(line)),
        describeRun(result),
      ).to.equal(true)
    })

    it('a frozen site: what Pantheon lists is mirrored; when it lists nothing, skipped with a note (exit 0)', async () => {
      const result = await pbm(world, [
        '--site',
        'ok2',
        '--site',
        'ice',
        '--bucket',
        world.bucket,
        '--prefix',
        'frozen/',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(0)
      await expectExactlyMirrored(world, 'frozen/', [
        ...archivesOf(world, 'ok2', 'dev'),
        ...archivesOf(world, 'ok2', 'live'),
        ...archivesOf(world, 'ice', 'dev'),
        ...archivesOf(world, 'ice', 'live'),
      ])
      // An environment whose list fails (here: one the site does not have) is a note, not a failure.
      const missing = await pbm(world, ['ice.test', '--bucket', world.bucket, '--prefix', 'frozen-missing/'])
      expect(missing.exitCode, describeRun(missing)).to.equal(0)
      expect(String(missing.stdout)).to.match(
        /ice\.test: skipped, the site is frozen, and Pantheon lists no backups of it/,
      )
    })

    it('--create makes new backups and mirrors those; a failed workflow fails its site only', async () => {
      const before = new Set(world.sandbox.archives().map((a) => a.file))
      const result = await pbm(world, [
        '--site',
        'ok2',
        '--site',
        'broken',
        '--create',
        '--bucket',
        world.bucket,
        '--prefix',
        'create/',
        '--json',
      ])
      expect(result.exitCode, describeRun(result)).to.equal(1)
      const made = world.sandbox.archives().filter((a) => !before.has(a.file))
      expect(made.map((a) => `${a.site}.${a.env}`).sort()).to.deep.equal([
        'ok2.dev',
        'ok2.dev',
        'ok2.dev',
        'ok2.live',
        'ok2.live',
        'ok2.live',
      ])
      // Only what the create made: the older backups of ok2 are not in the bucket.
      await expectExactlyMirrored(world, 'create/', made)
      const out = json<MirrorJson>(result)
      for (const env of ['dev', 'live']) {
        const broken = out.targets.find((t) => t.site === 'broken' && t.env === env)
        expect(broken, `broken.${env}`).to.include({status: 'failed'})
        expect(broken!.error?.message).to.include('Workflow failed.')
      }

      expect(out.summary).to.include({failed: 2, transferred: 6})
    })

    it('--fail-fast stops early: fewer archives transferred than without it, exit 1', async () => {
      const args = [
        '--site',
        'ghost',
        '--site',
        'ok1',
        '--site',
        'ok2',
        '--site',
        'half',
        '--concurrency',
        '1',
        '--bucket',
        world.bucket,
      ]
      const full = await pbm(world, [...args, '--prefix', 'all-of-it/'])
      expect(full.exitCode, describeRun(full)).to.equal(1)
      const everything = ['ok1.dev', 'ok1.live', 'ok2.dev', 'ok2.live', 'half.live'].flatMap((t) =>
        archivesOf(world, ...(t.split('.') as [string, string])),
      )
      await expectExactlyMirrored(world, 'all-of-it/', everything)

      const fast = await pbm(world, [...args, '--prefix', 'fast/', '--fail-fast'])
      expect(fast.exitCode, describeRun(fast)).to.equal(1)
      expect(String(fast.stdout)).to.include('--fail-fast')
      const landed = await world.s3.listKeys(world.bucket, 'fast/')
      expect(landed.length, describeRun(fast)).to.be.lessThan(everything.length)
    })
  })
})
