/**
 * `pbm backup:pick` end to end: the built CLI against the sandbox's terminus and archive server and a
 * real local S3 server. Every stored byte is compared by MD5 with the sandbox's own hash.
 *
 * One world for the file. The sites divide the work so tests stay independent:
 * - alpha.live: four backup sets (two on the same day), used by the flag-path tests, one at a time;
 * - alpha.dev: initialized, no backups;
 * - bravo.live: never downloaded by any test (dry runs, refusals, preflight failures), so every test
 *   that uses it can assert that the archive server saw no request at all;
 * - faulty.live: db-only sets whose archives carry faults (corrupt, dropped connection).
 * Runs that change no shared state run concurrently in one `before` (the suite runs on 2 cores).
 */
import type {Result} from 'execa'

import {expect} from 'chai'
import {mkdir, readFile, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {SandboxArchive, SandboxElement} from '../../../sandbox/index.js'

import {daysAgo, json, listFiles, md5, startWorld, type World} from '../../helpers/cli.js'
import {type RecordingProxy, startRecordingProxy} from '../../helpers/s3.js'

interface ArchiveJson {
  bytes?: number
  destination: string
  element: string
  env: string
  error?: {code: string; message: string}
  file: string
  location: string
  md5?: string
  note?: string
  site: string
  status: string
}
interface PickJson {
  archives: ArchiveJson[]
  summary: {bytes: number; failed: number; planned: number; skipped: number; transferred: number}
}
interface ErrorJson {
  error: {code: string; exitCode: number; hint?: string; message: string}
}

const ELEMENTS: SandboxElement[] = ['code', 'files', 'database']
const DRY_BUCKET = 'pbm-dry-run'

/** The message of a human-mode error: oclif's ` ›   ` margins and line wrapping removed. */
function errorText(result: Result): string {
  return String(result.stderr)
    .replaceAll(/^ ›\s*/gm, '')
    .replaceAll(/\s+/g, ' ')
    .trim()
}

function expectNoStackTrace(result: Result): void {
  expect(String(result.stderr), 'stack trace in stderr').to.not.match(/^ {4}at /m)
  expect(String(result.stdout), 'stack trace in stdout').to.not.match(/^ {4}at /m)
}

async function pool<T>(tasks: Array<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const results: T[] = Array.from({length: tasks.length})
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++

      results[i] = await tasks[i]()
    }
  }

  await Promise.all(Array.from({length: concurrency}, worker))
  return results
}

describe('pbm backup:pick (built CLI, sandbox, s3rver)', function () {
  this.timeout(120_000)
  let world: World
  let bucket: string
  let runs = 0
  /** alpha.live's sets, oldest first: [0] 6 days ago, [1] 3 days ago 01:00, [2] 3 days ago 15:00, [3] yesterday. */
  let sets: Array<Record<SandboxElement, SandboxArchive>>
  const threeDaysAgo = daysAgo(3).slice(0, 10)

  /** Runs pbm; no output of any run may carry a signed URL. */
  async function pbm(args: string[], options?: Parameters<World['pbm']>[1]): Promise<Result> {
    const result = await world.pbm(args, options)
    runs++
    expect(`${result.stdout}\n${result.stderr}`, `a signed URL was printed by pbm ${args.join(' ')}`).to.not.include(
      'Signature=',
    )
    return result
  }

  async function storedMd5(key: string, bucketName = bucket): Promise<string | undefined> {
    const body = await world.s3.getObject(bucketName, key)
    return body === undefined ? undefined : md5(body)
  }

  const requests = (file: string) => world.sandbox.stats(file).requests
  const bravo = () => world.sandbox.archives().filter((a) => a.site === 'bravo')
  const dryDir = () => path.join(world.tmp, 'dry')
  const wrongExt = () => path.join(world.tmp, 'wrong-ext', 'bravo.tar.gz')
  /** An alpha.live filename with one letter off. */
  const typo = () => sets[0].database.file.replace('_database', '_databse')
  /** Usage errors and refusals on bravo happen before any download: the archive server saw nothing. */
  const expectBravoUntouched = () => {
    for (const archive of bravo()) expect(requests(archive.file), archive.file).to.equal(0)
  }

  const faulty = () =>
    world.sandbox
      .archives()
      .filter((a) => a.site === 'faulty')
      .sort((a, b) => a.date - b.date)

  before(async () => {
    const sizes = {code: 20_000, database: 60_000, files: 40_000}
    world = await startWorld({
      sites: [
        {
          envs: [
            {
              backups: [
                {date: daysAgo(6)},
                {date: daysAgo(3, 1)},
                {date: daysAgo(3, 15), initiator: 'automated', sizes},
                {date: daysAgo(1), sizes},
              ],
              name: 'live',
            },
            {backups: [], name: 'dev'},
          ],
          name: 'alpha',
        },
        {envs: [{backups: [{date: daysAgo(2)}], name: 'live'}], name: 'bravo'},
        {envs: [{backups: [{date: daysAgo(10), keepForDays: 3}], name: 'live'}], name: 'stale'},
        {
          envs: [
            {
              backups: [
                {date: daysAgo(2), elements: ['database'], sizes: {database: 200_000}},
                {date: daysAgo(1), elements: ['database'], sizes: {database: 300_000}},
              ],
              name: 'live',
            },
          ],
          name: 'faulty',
        },
      ],
    })
    bucket = world.bucket
    await world.s3.createBucket(DRY_BUCKET)
    const alpha = world.sandbox.archives().filter((a) => a.site === 'alpha' && a.env === 'live')
    const folders = [...new Set(alpha.map((a) => a.folder))].sort()
    sets = folders.map(
      (folder) =>
        Object.fromEntries(
          ELEMENTS.map((el) => [el, alpha.find((a) => a.folder === folder && a.element === el)!]),
        ) as Record<SandboxElement, SandboxArchive>,
    )
    expect(sets).to.have.length(4)
  })

  after(async () => {
    await world?.close()
  })

  describe('choosing the backup', () => {
    it('--latest --json: the newest set, every element, to S3 under <site>/<env>/<file>, byte for byte', async () => {
      const result = await pbm(['backup:pick', 'alpha.live', '--latest', '--bucket', bucket, '--json'])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const out = json<PickJson>(result)
      const newest = sets[3]
      expect(out.archives.map((a) => a.file).sort()).to.deep.equal(ELEMENTS.map((el) => newest[el].file).sort())
      for (const archive of out.archives) {
        const source = world.sandbox.archive(archive.file)
        const key = `alpha/live/${source.file}`
        expect(archive).to.include({
          bytes: source.size,
          destination: 's3',
          element: source.element,
          env: 'live',
          location: `s3://${bucket}/${key}`,
          md5: source.md5,
          site: 'alpha',
          status: 'transferred',
        })

        expect(await storedMd5(key), key).to.equal(source.md5)
      }

      const total = ELEMENTS.reduce((sum, el) => sum + newest[el].size, 0)
      expect(out.summary).to.include({bytes: total, failed: 0, planned: 0, skipped: 0, transferred: 3})
      expect(await world.s3.listKeys(bucket, 'alpha/')).to.deep.equal(
        ELEMENTS.map((el) => `alpha/live/${newest[el].file}`).sort(),
      )
    })

    it('--file NAME transfers that older archive only, not the rest of its set', async () => {
      const oldest = sets[0]
      const before = {code: requests(oldest.code.file), files: requests(oldest.files.file)}
      const result = await pbm([
        'backup:pick',
        'alpha.live',
        '--file',
        oldest.database.file,
        '--bucket',
        bucket,
        '--prefix',
        'by-name',
      ])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const key = `by-name/alpha/live/${oldest.database.file}`
      expect(await world.s3.listKeys(bucket, 'by-name/')).to.deep.equal([key])
      expect(await storedMd5(key)).to.equal(oldest.database.md5)
      expect({code: requests(oldest.code.file), files: requests(oldest.files.file)}).to.deep.equal(before)
      // The human report names where it landed.
      expect(String(result.stdout)).to.include(`s3://${bucket}/${key}`)
    })

    it('--file CATALOG_ID, as terminus backup:list keys it', async () => {
      const archive = sets[0].code
      expect(archive.id).to.match(/^\d+_backup_code$/)
      const result = await pbm([
        'backup:pick',
        'alpha.live',
        '--file',
        archive.id,
        '--bucket',
        bucket,
        '--prefix',
        'by-id',
      ])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const key = `by-id/alpha/live/${archive.file}`
      expect(await world.s3.listKeys(bucket, 'by-id/')).to.deep.equal([key])
      expect(await storedMd5(key)).to.equal(archive.md5)
    })

    it('--file repeated, names and IDs mixed, from different sets', async () => {
      const first = sets[1].database
      const second = sets[0].files
      const result = await pbm([
        'backup:pick',
        'alpha.live',
        '--file',
        first.file,
        '--file',
        second.id,
        '--bucket',
        bucket,
        '--prefix',
        'repeated',
      ])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const keys = [first, second].map((a) => `repeated/alpha/live/${a.file}`)
      expect(await world.s3.listKeys(bucket, 'repeated/')).to.deep.equal([...keys].sort())
      expect(await storedMd5(keys[0])).to.equal(first.md5)
      expect(await storedMd5(keys[1])).to.equal(second.md5)
    })

    it('--at DATE: the newest set finished on or before the end of that day (UTC)', async () => {
      const result = await pbm([
        'backup:pick',
        'alpha.live',
        '--at',
        threeDaysAgo,
        '--bucket',
        bucket,
        '--prefix',
        'at-date',
        '--json',
      ])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const expected = sets[2]
      expect(
        json<PickJson>(result)
          .archives.map((a) => a.file)
          .sort(),
      ).to.deep.equal(ELEMENTS.map((el) => expected[el].file).sort())
      for (const el of ELEMENTS) {
        expect(await storedMd5(`at-date/alpha/live/${expected[el].file}`), el).to.equal(expected[el].md5)
      }
    })

    it('--at DATE-TIME: the newest set finished at or before that instant', async () => {
      const result = await pbm([
        'backup:pick',
        'alpha.live',
        '--at',
        `${threeDaysAgo}T12:00:00Z`,
        '--bucket',
        bucket,
        '--prefix',
        'at-time',
        '--json',
      ])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const expected = sets[1]
      const keys = ELEMENTS.map((el) => `at-time/alpha/live/${expected[el].file}`).sort()
      expect(await world.s3.listKeys(bucket, 'at-time/')).to.deep.equal(keys)
      for (const el of ELEMENTS) {
        expect(await storedMd5(`at-time/alpha/live/${expected[el].file}`), el).to.equal(expected[el].md5)
      }
    })

    for (const name of ['db', 'database']) {
      it(`--element ${name} narrows the set to its database archive`, async () => {
        const prefix = `element-${name}`
        const result = await pbm([
          'backup:pick',
          'alpha.live',
          '--latest',
          '--element',
          name,
          '--bucket',
          bucket,
          '--prefix',
          prefix,
        ])
        expect(result.exitCode, String(result.stderr)).to.equal(0)
        const archive = sets[3].database
        expect(await world.s3.listKeys(bucket, `${prefix}/`)).to.deep.equal([`${prefix}/alpha/live/${archive.file}`])
        expect(await storedMd5(`${prefix}/alpha/live/${archive.file}`)).to.equal(archive.md5)
      })
    }
  })

  describe('destinations', () => {
    it('--to DIR: <dir>/<site>/<env>/<file>, verified, no .partial left', async () => {
      const dir = path.join(world.tmp, 'to-dir')
      const result = await pbm(['backup:pick', 'alpha.live', '--at', threeDaysAgo, '--to', dir])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const expected = sets[2]
      expect(await listFiles(dir)).to.deep.equal(ELEMENTS.map((el) => `alpha/live/${expected[el].file}`).sort())
      for (const el of ELEMENTS) {
        expect(md5(await readFile(path.join(dir, 'alpha', 'live', expected[el].file))), el).to.equal(expected[el].md5)
      }
    })

    it('--to DIR in a process without WebAssembly (node --jitless, the smaller pod of docs/MEMORY.md)', async () => {
      // Node 22 kills such a process at start-up if anything ESM-imports node:http (src/util/http.ts).
      const dir = path.join(world.tmp, 'jitless')
      const result = await pbm(['backup:pick', 'alpha.live', '--latest', '--element', 'db', '--to', dir], {
        node: ['--jitless'],
      })
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const archive = sets[3].database
      expect(await listFiles(dir)).to.deep.equal([`alpha/live/${archive.file}`])
      expect(md5(await readFile(path.join(dir, 'alpha', 'live', archive.file)))).to.equal(archive.md5)
    })

    it('--to FILE.sql.gz: one database archive saved under that exact name', async () => {
      const dir = path.join(world.tmp, 'to-file')
      await mkdir(dir)
      const target = path.join(dir, 'alpha-live.sql.gz')
      const archive = sets[1].database
      const result = await pbm(['backup:pick', 'alpha.live', '--file', archive.file, '--to', target])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      expect(await listFiles(dir)).to.deep.equal(['alpha-live.sql.gz'])
      expect(md5(await readFile(target))).to.equal(archive.md5)
    })

    it('--bucket s3://bucket/prefix puts keys under that prefix', async () => {
      const archive = sets[3].code
      const result = await pbm([
        'backup:pick',
        'alpha.live',
        '--latest',
        '-e',
        'code',
        '--bucket',
        `s3://${bucket}/from-url/deeper`,
      ])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const key = `from-url/deeper/alpha/live/${archive.file}`
      expect(await world.s3.listKeys(bucket, 'from-url/')).to.deep.equal([key])
      expect(await storedMd5(key)).to.equal(archive.md5)
    })

    it('--prefix with a bare bucket name', async () => {
      const archive = sets[3].files
      const result = await pbm([
        'backup:pick',
        'alpha.live',
        '--latest',
        '-e',
        'files',
        '--bucket',
        bucket,
        '--prefix',
        'flag-prefix/',
      ])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const key = `flag-prefix/alpha/live/${archive.file}`
      expect(await world.s3.listKeys(bucket, 'flag-prefix/')).to.deep.equal([key])
      expect(await storedMd5(key)).to.equal(archive.md5)
    })

    it('S3 and a local folder at once, from one download', async () => {
      const dir = path.join(world.tmp, 'both')
      const archive = sets[3].database
      const before = requests(archive.file)
      const result = await pbm([
        'backup:pick',
        'alpha.live',
        '--latest',
        '-e',
        'db',
        '--bucket',
        bucket,
        '--prefix',
        'both',
        '--to',
        dir,
        '--json',
      ])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const key = `both/alpha/live/${archive.file}`
      const local = path.join(dir, 'alpha', 'live', archive.file)
      expect(
        json<PickJson>(result)
          .archives.map((a) => [a.destination, a.location, a.status])
          .sort(),
      ).to.deep.equal([
        ['local', local, 'transferred'],
        ['s3', `s3://${bucket}/${key}`, 'transferred'],
      ])
      expect(await storedMd5(key)).to.equal(archive.md5)
      expect(md5(await readFile(local))).to.equal(archive.md5)
      expect(await listFiles(dir)).to.deep.equal([`alpha/live/${archive.file}`])
      expect(requests(archive.file) - before, 'archive requests').to.equal(1)
    })
  })

  describe('idempotency', () => {
    it('a re-run skips what is already there, without downloading it again', async () => {
      // S3 objects carry pbm's completion metadata; a local file is compared by size, from a 1-byte probe.
      const dir = path.join(world.tmp, 'rerun')
      const args = [
        'backup:pick',
        'alpha.live',
        '--latest',
        '--bucket',
        bucket,
        '--prefix',
        'rerun',
        '--to',
        dir,
        '--json',
      ]
      const first = await pbm(args)
      expect(first.exitCode, String(first.stderr)).to.equal(0)
      expect(json<PickJson>(first).summary.transferred).to.equal(6)
      const newest = sets[3]
      const served = () => ELEMENTS.map((el) => world.sandbox.stats(newest[el].file).bytesServed)
      const before = served()

      const second = await pbm(args)
      expect(second.exitCode, String(second.stderr)).to.equal(0)
      const out = json<PickJson>(second)
      expect(out.archives).to.have.length(6)
      expect(out.archives.map((a) => a.status)).to.deep.equal(Array.from({length: 6}, () => 'skipped'))
      expect(out.summary).to.include({skipped: 6, transferred: 0})
      const after = served()
      for (const [i, el] of ELEMENTS.entries())
        expect(after[i] - before[i], `${el} bytes served again`).to.be.at.most(1)
      for (const el of ELEMENTS) {
        expect(await storedMd5(`rerun/alpha/live/${newest[el].file}`)).to.equal(newest[el].md5)
      }

      // The human report of a re-run says so too, one line per archive and destination.
      const third = await pbm(args.filter((a) => a !== '--json'))
      expect(third.exitCode, String(third.stderr)).to.equal(0)
      const lines = String(third.stdout).split('\n')
      for (const el of ELEMENTS) {
        for (const where of [
          `s3://${bucket}/rerun/alpha/live/${newest[el].file}`,
          path.join(dir, 'alpha', 'live', newest[el].file),
        ]) {
          expect(
            lines.filter((l) => l.startsWith('skipped') && l.includes(where)),
            where,
          ).to.have.length(1)
        }
      }

      expect(lines.filter((l) => l.startsWith('transferred'))).to.deep.equal([])
    })

    it('refuses to overwrite different content (exit 1, left unchanged), replaces it with --force', async () => {
      const archive = sets[3].code
      const key = `conflict/alpha/live/${archive.file}`
      const dir = path.join(world.tmp, 'conflict')
      const local = path.join(dir, 'alpha', 'live', archive.file)
      const planted = 'not the backup you are looking for'
      await world.s3.putObject(bucket, key, planted)
      await mkdir(path.dirname(local), {recursive: true})
      await writeFile(local, planted)
      const args = [
        'backup:pick',
        'alpha.live',
        '--file',
        archive.file,
        '--bucket',
        bucket,
        '--prefix',
        'conflict',
        '--to',
        dir,
      ]

      const refused = await pbm(args)
      expect(refused.exitCode, String(refused.stdout)).to.equal(1)
      expectNoStackTrace(refused)
      expect(String(refused.stdout) + String(refused.stderr)).to.match(/already exists|different/)
      expect(await storedMd5(key)).to.equal(md5(planted))
      expect(await readFile(local, 'utf8')).to.equal(planted)

      const refusedJson = await pbm([...args, '--json'])
      expect(refusedJson.exitCode).to.equal(1)
      const statuses = json<PickJson>(refusedJson).archives.map((a) => [a.destination, a.status, a.error?.code])
      expect(statuses.sort()).to.deep.equal([
        ['local', 'failed', 'exists-different'],
        ['s3', 'failed', 'exists-different'],
      ])

      const forced = await pbm([...args, '--force'])
      expect(forced.exitCode, String(forced.stderr)).to.equal(0)
      expect(await storedMd5(key)).to.equal(archive.md5)
      expect(md5(await readFile(local))).to.equal(archive.md5)
      expect(await listFiles(dir)).to.deep.equal([`alpha/live/${archive.file}`])
    })
  })

  describe('runs that change no shared state (run concurrently)', () => {
    const results = new Map<string, Result>()
    const cases: Record<string, () => {args: string[]; env?: Record<string, string | undefined>}> = {
      atGarbage: () => ({args: ['backup:pick', 'alpha.live', '--at', 'last tuesday', '--bucket', bucket]}),
      badTarget: () => ({args: ['backup:pick', 'alpha', '--latest', '--bucket', bucket]}),
      badTargetJson: () => ({args: ['backup:pick', 'alpha', '--latest', '--bucket', bucket, '--json']}),
      expired: () => ({args: ['backup:pick', 'stale.live', '--latest', '--bucket', bucket]}),
      dryRun: () => ({
        args: ['backup:pick', 'bravo.live', '--latest', '--bucket', DRY_BUCKET, '--to', dryDir(), '--dry-run'],
      }),
      dryRunJson: () => ({
        args: [
          'backup:pick',
          'bravo.live',
          '--latest',
          '--bucket',
          DRY_BUCKET,
          '--to',
          dryDir(),
          '--dry-run',
          '--json',
        ],
      }),
      missingBucket: () => ({
        args: ['backup:pick', 'bravo.live', '--latest', '--bucket', 'no-such-bucket', '--prefix', 'nothing'],
      }),
      missingBucketJson: () => ({
        args: ['backup:pick', 'bravo.live', '--latest', '--bucket', 'no-such-bucket', '--json'],
      }),
      noBackups: () => ({args: ['backup:pick', 'alpha.dev', '--latest', '--bucket', bucket]}),
      noBackupsJson: () => ({args: ['backup:pick', 'alpha.dev', '--latest', '--bucket', bucket, '--json']}),
      noChoice: () => ({args: ['backup:pick', 'alpha.live', '--bucket', bucket]}),
      noChoiceJson: () => ({args: ['backup:pick', 'alpha.live', '--bucket', bucket, '--json']}),
      noDestination: () => ({args: ['backup:pick', 'alpha.live', '--latest']}),
      noTarget: () => ({args: ['backup:pick', '--latest', '--bucket', bucket]}),
      terminusMissing: () => ({
        args: ['backup:pick', 'alpha.live', '--latest', '--bucket', bucket],
        env: {PBM_TERMINUS: '/nonexistent'},
      }),
      unknownEnv: () => ({args: ['backup:pick', 'alpha.nope', '--latest', '--bucket', bucket]}),
      unknownFile: () => ({args: ['backup:pick', 'alpha.live', '--file', typo(), '--bucket', bucket]}),
      unknownFileJson: () => ({args: ['backup:pick', 'alpha.live', '--file', typo(), '--bucket', bucket, '--json']}),
      unknownSite: () => ({args: ['backup:pick', 'nosuchsite.live', '--latest', '--bucket', bucket]}),
      unknownSiteJson: () => ({args: ['backup:pick', 'nosuchsite.live', '--latest', '--bucket', bucket, '--json']}),
      wrongExtension: () => ({args: ['backup:pick', 'bravo.live', '--latest', '--element', 'db', '--to', wrongExt()]}),
      wrongExtensionJson: () => ({
        args: ['backup:pick', 'bravo.live', '--latest', '--element', 'db', '--to', wrongExt(), '--json'],
      }),
    }
    const get = (name: keyof typeof cases): Result => {
      const result = results.get(name)
      if (!result) throw new Error(`no run for ${name}`)
      return result
    }

    before(async () => {
      const names = Object.keys(cases) as Array<keyof typeof cases>
      const done = await pool(
        names.map((name) => () => {
          const {args, env} = cases[name]()
          return pbm(args, {env})
        }),
        4,
      )
      for (const [i, name] of names.entries()) results.set(name, done[i])
    })

    it('unknown site: exit 1, names the site and how to list sites', () => {
      const result = get('unknownSite')
      expect(result.exitCode).to.equal(1)
      expectNoStackTrace(result)
      expect(errorText(result)).to.include('nosuchsite').and.include('terminus site:list')
      const out = json<ErrorJson>(get('unknownSiteJson'))
      expect(get('unknownSiteJson').exitCode).to.equal(1)
      expect(out.error.exitCode).to.equal(1)
      expect(out.error.message).to.include('nosuchsite')
      expect(out.error.code).to.be.a('string').and.not.equal('usage')
    })

    it('unknown environment: exit 1, names it and how to list environments', () => {
      const result = get('unknownEnv')
      expect(result.exitCode).to.equal(1)
      expectNoStackTrace(result)
      expect(errorText(result)).to.include('"nope"').and.include('terminus env:list alpha')
    })

    it('SITE.ENV without a dot: usage error, exit 2, also under --json', () => {
      const result = get('badTarget')
      expect(result.exitCode).to.equal(2)
      expectNoStackTrace(result)
      expect(errorText(result)).to.include('<site_name>.<environment>')
      const jsonRun = get('badTargetJson')
      expect(jsonRun.exitCode).to.equal(2)
      expectNoStackTrace(jsonRun)
      const out = json<ErrorJson>(jsonRun)
      expect(out.error).to.include({code: 'usage', exitCode: 2})
      expect(out.error.message).to.include('<site_name>.<environment>')
    })

    it('no backups: exit 1, with the terminus backup:create hint', () => {
      const result = get('noBackups')
      expect(result.exitCode).to.equal(1)
      expectNoStackTrace(result)
      expect(errorText(result)).to.include('alpha.dev has no backups').and.include('terminus backup:create alpha.dev')
      const out = json<ErrorJson>(get('noBackupsJson'))
      expect(get('noBackupsJson').exitCode).to.equal(1)
      expect(out.error.code).to.equal('no-backups')
      expect(out.error.hint).to.include('terminus backup:create alpha.dev')
    })

    it('an expired backup: exit 1, says so and suggests a newer one, nothing downloaded', () => {
      const result = get('expired')
      expect(result.exitCode).to.equal(1)
      expectNoStackTrace(result)
      const old = world.sandbox.archives().filter((a) => a.site === 'stale')
      expect(old).to.have.length(3)
      expect(errorText(result)).to.include('expired').and.include('--latest')
      expect(
        old.some((a) => errorText(result).includes(a.file)),
        'names the archive',
      ).to.equal(true)
      for (const archive of old) expect(requests(archive.file), archive.file).to.equal(0)
    })

    it('unknown file: exit 1, names the nearest filenames', () => {
      const result = get('unknownFile')
      expect(result.exitCode).to.equal(1)
      expectNoStackTrace(result)
      const text = errorText(result)
      expect(text).to.include(typo())
      expect(text).to.include(sets[0].database.file)
      const out = json<ErrorJson>(get('unknownFileJson'))
      expect(get('unknownFileJson').exitCode).to.equal(1)
      expect(out.error.code).to.equal('unknown-file')
      expect(out.error.hint).to.include(sets[0].database.file)
    })

    it('no backup choice without a TTY: exit 2, names --latest, --at and --file', () => {
      for (const result of [get('noChoice'), get('noChoiceJson')]) {
        expect(result.exitCode).to.equal(2)
        expectNoStackTrace(result)
      }

      expect(errorText(get('noChoice')))
        .to.include('--latest')
        .and.include('--at')
        .and.include('--file')
      const out = json<ErrorJson>(get('noChoiceJson'))
      expect(out.error).to.include({code: 'usage', exitCode: 2})
      expect(`${out.error.message} ${out.error.hint}`).to.include('--latest').and.include('--at').and.include('--file')
    })

    it('no destination: exit 2, names --bucket and --to', () => {
      const result = get('noDestination')
      expect(result.exitCode).to.equal(2)
      expectNoStackTrace(result)
      expect(errorText(result)).to.include('--bucket').and.include('--to')
    })

    it('no SITE.ENV without a TTY: exit 2', () => {
      const result = get('noTarget')
      expect(result.exitCode).to.equal(2)
      expectNoStackTrace(result)
      expect(errorText(result)).to.include('SITE.ENV')
    })

    it('--at that is not a date: exit 2', () => {
      const result = get('atGarbage')
      expect(result.exitCode).to.equal(2)
      expectNoStackTrace(result)
      expect(errorText(result)).to.include('last tuesday').and.include('YYYY-MM-DD')
    })

    it('Terminus not installed: exit 1, says where to get it', () => {
      const result = get('terminusMissing')
      expect(result.exitCode).to.equal(1)
      expectNoStackTrace(result)
      expect(errorText(result))
        .to.include('Terminus was not found')
        .and.include('/nonexistent')
        .and.include('--terminus')
    })

    it('--to x.tar.gz for a database archive: refused before any download, naming .sql.gz (exit 2)', async () => {
      const result = get('wrongExtension')
      expect(result.exitCode).to.equal(2)
      expectNoStackTrace(result)
      expect(errorText(result)).to.include('.sql.gz')
      const jsonRun = get('wrongExtensionJson')
      expect(jsonRun.exitCode).to.equal(2)
      expect(json<ErrorJson>(jsonRun).error.message).to.include('.sql.gz')
      expect(await listFiles(path.dirname(wrongExt()))).to.deep.equal([])
      expectBravoUntouched()
    })

    it('a bucket that does not exist: preflight fails, exit 1, nothing downloaded', () => {
      const result = get('missingBucket')
      expect(result.exitCode).to.equal(1)
      expectNoStackTrace(result)
      expect(errorText(result)).to.include('no-such-bucket').and.include('does not exist')
      const jsonRun = get('missingBucketJson')
      expect(jsonRun.exitCode).to.equal(1)
      expect(json<ErrorJson>(jsonRun).error.message).to.include('no-such-bucket')
      expectBravoUntouched()
    })

    it('--dry-run lists the plan and transfers nothing', async () => {
      const files = bravo().map((a) => a.file)
      const result = get('dryRun')
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const planned = String(result.stdout)
        .split('\n')
        .filter((line) => line.startsWith('planned'))
      expect(planned).to.have.length(6)
      for (const file of files) {
        expect(
          planned.filter((line) => line.includes(`s3://${DRY_BUCKET}/bravo/live/${file}`)),
          file,
        ).to.have.length(1)
        expect(
          planned.filter((line) => line.includes(path.join(dryDir(), 'bravo', 'live', file))),
          file,
        ).to.have.length(1)
      }

      const out = json<PickJson>(get('dryRunJson'))
      expect(get('dryRunJson').exitCode).to.equal(0)
      expect(out.archives.map((a) => [a.destination, a.file, a.status]).sort()).to.deep.equal(
        [...files.map((f) => ['local', f, 'planned']), ...files.map((f) => ['s3', f, 'planned'])].sort(),
      )
      expect(out.summary).to.include({bytes: 0, planned: 6, transferred: 0})

      expect(await world.s3.listKeys(DRY_BUCKET)).to.deep.equal([])
      expect(await listFiles(dryDir())).to.deep.equal([])
      expectBravoUntouched()
    })
  })

  describe('faults and sessions', () => {
    let proxy: RecordingProxy

    before(async () => {
      proxy = await startRecordingProxy(world.s3.endpoint)
    })

    after(async () => {
      await proxy?.close()
    })

    it('a corrupt archive: exit 1, nothing stored under the key, no .partial, uploads aborted', async () => {
      const archive = faulty()[0]
      world.sandbox.setFault(archive.file, {corruptAt: 50_000})
      const dir = path.join(world.tmp, 'corrupt')
      const result = await pbm(
        ['backup:pick', 'faulty.live', '--file', archive.file, '--bucket', bucket, '--prefix', 'corrupt', '--to', dir],
        {env: {PBM_ENDPOINT: proxy.endpoint}},
      )
      expect(result.exitCode).to.equal(1)
      expectNoStackTrace(result)
      expect(String(result.stdout) + String(result.stderr)).to.match(/corrupt/i)
      expect(world.sandbox.stats(archive.file).requests, 'the archive was downloaded').to.be.greaterThan(0)
      expect(await world.s3.listKeys(bucket, 'corrupt/')).to.deep.equal([])
      expect(await listFiles(dir)).to.deep.equal([])
      expect(proxy.openUploads()).to.deep.equal([])
    })

    it('a dropped connection: resumed with a Range request, bytes verified', async () => {
      const archive = faulty()[1]
      world.sandbox.setFault(archive.file, {dropAfter: 100_000})
      const result = await pbm([
        'backup:pick',
        'faulty.live',
        '--file',
        archive.file,
        '--bucket',
        bucket,
        '--prefix',
        'dropped',
        '--json',
      ])
      expect(result.exitCode, String(result.stderr)).to.equal(0)
      const [only] = json<PickJson>(result).archives
      expect(only).to.include({md5: archive.md5, status: 'transferred'})
      expect(only.note).to.match(/resumed/)
      // Resumed from a point the engine had consumed, not from the start.
      const {ranges} = world.sandbox.stats(archive.file)
      expect(ranges).to.have.length(1)
      const from = Number(/^bytes=(\d+)-$/.exec(ranges[0])?.[1])
      expect(from).to.be.greaterThan(0).and.at.most(100_000)
      expect(await storedMd5(`dropped/faulty/live/${archive.file}`)).to.equal(archive.md5)
    })

    it('not logged in: exit 1, with the terminus auth:login hint, human and --json', async () => {
      world.sandbox.setLoggedIn(false)
      try {
        const dir = path.join(world.tmp, 'logged-out')
        const result = await pbm(['backup:pick', 'alpha.live', '--latest', '--to', dir])
        expect(result.exitCode).to.equal(1)
        expectNoStackTrace(result)
        expect(errorText(result)).to.include('not logged in').and.include('terminus auth:login')
        const jsonRun = await pbm(['backup:pick', 'alpha.live', '--latest', '--to', dir, '--json'])
        expect(jsonRun.exitCode).to.equal(1)
        const out = json<ErrorJson>(jsonRun)
        expect(out.error.code).to.equal('not-logged-in')
        expect(out.error.hint).to.include('terminus auth:login')
        expect(await stat(dir).catch(() => {}), 'nothing written').to.equal(undefined)
      } finally {
        world.sandbox.setLoggedIn(true)
      }
    })
  })

  describe('signed URLs', () => {
    it('no run printed one (checked on every run above; the needle is what signed URLs carry)', () => {
      expect(world.sandbox.url(sets[0].database.file)).to.include('Signature=')
      expect(runs, 'runs checked').to.be.greaterThan(0)
    })
  })
})
