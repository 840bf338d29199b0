/**
 * What a newcomer sees at 80 and 120 columns: the built CLI in a pseudo-terminal of each width (util-linux
 * `script`), against the sandbox and s3rver. Every screen of pick, mirror, prune, verify and restore must
 * fit the terminal (no line wider than it, so nothing wraps) and call one backup set by one time, the one
 * in its filenames; never one of Pantheon's finish times. Piped output keeps every name whole.
 */
import {expect} from 'chai'

import type {SandboxArchive} from '../../../sandbox/index.js'

import {formatUtc} from '../../../src/util/utc.js'
import {daysAgo, PBM, startWorld, type World} from '../../helpers/cli.js'
import {finishedCleanly, KEY, type PtySession, spawnPty, terminalEnv} from '../../helpers/pty.js'
import {wrappedLines} from '../../helpers/screen.js'
/** Every time written as pbm writes times ("2026-12-05 03:00:00 UTC"), except a URL's "valid until". */
const TIMES = /(?<!until )\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/g

describe('pbm at 80 and 120 columns: one time per backup, output that fits (PTY)', function () {
  this.timeout(120_000)
  let world: World
  let session: PtySession | undefined
  /** alpha.live's archives, and the time in each set's filenames, newest set first. */
  let live: SandboxArchive[]
  let setTimes: string[]
  let finishTimes: string[]

  function run(cols: number, ...args: string[]): PtySession {
    session = spawnPty([process.execPath, PBM, ...args], {cols, cwd: world.tmp, env: terminalEnv(world.env)})
    return session
  }

  /** No line of the session wider than the terminal, and every time on it is a set's filename time. */
  function expectFitsAndOneTime(pty: PtySession, cols: number): void {
    const text = pty.text()
    expect(wrappedLines(pty.raw(), cols), `lines wider than ${cols} columns:\n${text}`).to.deep.equal([])
    for (const finish of finishTimes) expect(text, `a finish time is shown:\n${text}`).not.to.include(finish)
    const shown = text.match(TIMES) ?? []
    expect(shown.length, text).to.be.greaterThan(0)
    for (const time of shown) expect(setTimes, `${time} is not a set's time:\n${text}`).to.include(time)
  }

  before(async () => {
    world = await startWorld({
      latencyMs: 0,
      sites: [
        {
          envs: [{backups: [{date: daysAgo(4)}, {date: daysAgo(1)}], name: 'live'}, {name: 'dev'}],
          name: 'alpha',
        },
      ],
    })
    live = world.sandbox.archives().filter((a) => a.site === 'alpha' && a.env === 'live')
    const folders = [...new Set(live.map((a) => a.folder))].sort().reverse()
    setTimes = folders.map((folder) => formatUtc(new Date(Number.parseInt(folder, 10) * 1000)))
    finishTimes = live.map((a) => formatUtc(new Date(Math.floor(a.date) * 1000)))
    // The sandbox, as Pantheon, finishes each element well after the time in its name.
    for (const finish of finishTimes) expect(setTimes).not.to.include(finish)
    const mirrored = await world.pbm(['backup:mirror', 'alpha.live', '--all', '--bucket', world.bucket, '--yes'])
    expect(mirrored.exitCode, String(mirrored.stderr)).to.equal(0)
  })

  afterEach(() => {
    session?.stop()
    session = undefined
  })

  after(async () => {
    await world?.close()
  })

  for (const cols of [80, 120]) {
    describe(`at ${cols} columns`, () => {
      it('pick: the list, the answer, the plan and the result table', async () => {
        const pty = run(cols, 'backup:pick', 'alpha.live', '--bucket', world.bucket, '--prefix', `pick${cols}/`)
        await pty.waitFor('Backup (newest first)')
        await pty.waitFor(new RegExp(`❯ ${setTimes[0]} [^\\n]*\\n  ${setTimes[1]} `))
        await pty.type(KEY.enter)
        await pty.waitFor(`✔ Backup (newest first) ${setTimes[0]}`)
        await pty.waitFor('Elements')
        await pty.waitFor(/◉ database/)
        await pty.type(KEY.enter)
        await pty.waitFor('Transfer now?')
        expect(pty.text()).to.include(`3 archives of the backup of ${setTimes[0]}`)
        await pty.type(KEY.enter)
        const exit = await finishedCleanly(pty)
        expect(exit.exitCode, pty.text()).to.equal(0)
        expect(pty.text()).to.match(/3 transferred, 0 skipped, 0 failed; [\d.]+ kB in /)
        expectFitsAndOneTime(pty, cols)
      })

      it('mirror to S3 and a folder: the tree, the table, "to 2 destinations" with the archive bytes once', async () => {
        const pty = run(
          cols,
          'backup:mirror',
          'alpha.live',
          '--bucket',
          world.bucket,
          '--prefix',
          `both${cols}/`,
          '--to',
          `${world.tmp}/both-${cols}`,
          '--yes',
        )
        await pty.waitFor(`3 archives of the backup of ${setTimes[0]}`)
        const exit = await finishedCleanly(pty)
        expect(exit.exitCode, pty.text()).to.equal(0)
        const newest = live.filter((a) => formatUtc(new Date(Number.parseInt(a.folder, 10) * 1000)) === setTimes[0])
        const bytes = newest.reduce((sum, a) => sum + a.size, 0)
        const [, total] = /6 transferred, 0 skipped, 0 failed; ([\d.]+ kB) to 2 destinations in /.exec(pty.text()) ?? []
        expect(total, pty.text()).to.equal(`${(bytes / 1000).toFixed(1)} kB`)
        // Each archive's task keeps what happened on screen: its long name and MD5 give way, not "verified".
        for (const element of ['code', 'files', 'database']) {
          expect(pty.text()).to.match(
            new RegExp(`✔ ${element}: alpha_live_\\S+ [\\d.]+ kB verified \\(md5 [0-9a-f]{8}`),
          )
        }

        expectFitsAndOneTime(pty, cols)
      })

      it('prune --dry-run: every backup of each series by its time, "keep 1 last backup"', async () => {
        const pty = run(cols, 'backup:prune', 'alpha.live', '--bucket', world.bucket, '--keep-last', '1', '--dry-run')
        const exit = await finishedCleanly(pty)
        expect(exit.exitCode, pty.text()).to.equal(0)
        expect(pty.text()).to.include('keep 1 last backup\n')
        for (const time of setTimes) expect(pty.text()).to.include(time)
        expectFitsAndOneTime(pty, cols)
      })

      it('verify: the stale site.env with its newest backup by its time', async () => {
        const pty = run(cols, 'backup:verify', 'alpha.live', '--bucket', world.bucket, '--max-age', '1')
        const exit = await finishedCleanly(pty)
        expect(exit.exitCode, pty.text()).to.equal(3)
        expect(pty.text()).to.match(new RegExp(`stale +alpha\\.live +${setTimes[0]}`))
        expectFitsAndOneTime(pty, cols)
      })

      it('restore --dry-run: the list, the plan and the summary', async () => {
        const pty = run(
          cols,
          'backup:restore',
          'alpha.dev',
          '--from',
          'alpha.live',
          '--bucket',
          world.bucket,
          '--no-backup-first',
          '--dry-run',
        )
        await pty.waitFor('Backup (newest first)')
        await pty.waitFor(new RegExp(`❯ ${setTimes[0]} [^\\n]*\\n  ${setTimes[1]} `))
        await pty.type(KEY.enter)
        await pty.waitFor('Elements')
        await pty.waitFor(/◉ database/)
        await pty.type(KEY.enter)
        const exit = await finishedCleanly(pty)
        expect(exit.exitCode, pty.text()).to.equal(0)
        expect(pty.text()).to.include(`from the mirror's backup of alpha.live of ${setTimes[0]}:`)
        expectFitsAndOneTime(pty, cols)
      })
    })
  }

  it('piped, nothing is shortened whatever COLUMNS says', async () => {
    const result = await world.pbm(
      ['backup:mirror', 'alpha.live', '--bucket', world.bucket, '--prefix', 'piped/', '--yes'],
      {env: {COLUMNS: '40'}},
    )
    expect(result.exitCode, String(result.stderr)).to.equal(0)
    const newest = live.filter((a) => formatUtc(new Date(Number.parseInt(a.folder, 10) * 1000)) === setTimes[0])
    for (const archive of newest) {
      expect(result.stdout).to.include(`s3://${world.bucket}/piped/alpha/live/${archive.file}`)
      expect(result.stdout).to.include(`md5 ${archive.md5}`)
    }

    expect(result.stdout).to.include(`3 archives of the backup of ${setTimes[0]}`)
    expect(result.stdout).not.to.include('…')
  })

  it('--at selects by the time in the filenames: 10 s after it, the set is taken, not the one before', async () => {
    const at = new Date(Date.parse(setTimes[0].replace(' UTC', 'Z').replace(' ', 'T')) + 10_000).toISOString()
    const result = await world.pbm([
      'backup:pick',
      'alpha.live',
      '--at',
      at,
      '--to',
      `${world.tmp}/at`,
      '--yes',
      '--json',
    ])
    expect(result.exitCode, String(result.stderr)).to.equal(0)
    const files = (JSON.parse(String(result.stdout)) as {archives: Array<{file: string}>}).archives.map((a) => a.file)
    const stamp = setTimes[0].slice(0, 19).replace(' ', 'T').replaceAll(':', '-')
    expect(files).to.have.length(3)
    for (const file of files) expect(file).to.include(stamp)
  })
})
