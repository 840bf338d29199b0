/**
 * `pbm backup:verify` at a terminal: the built CLI in a pseudo-terminal (util-linux `script`), drawing its
 * live tree (listr2), against the sandbox's terminus and s3rver. What a person sees at the end is read
 * from the screen; the damage is done beneath pbm (a byte flipped in s3rver's stored file).
 */
import {expect} from 'chai'
import {execa} from 'execa'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {SandboxArchive} from '../../../sandbox/index.js'

import {daysAgo, PBM, startWorld, type World} from '../../helpers/cli.js'
import {finishedCleanly, KEY, type PtySession, spawnPty, terminalEnv} from '../../helpers/pty.js'

/** The sandbox's terminus processes listing alpha.live or bravo.live (they run apart from pbm's events). */
const listing = () => execa('pgrep', ['-f', 'terminus backup:list .*(alpha|bravo)[.]live'], {reject: false})

describe('pbm backup:verify in a terminal (live tree in a PTY)', function () {
  this.timeout(90_000)
  let world: World
  let flipped: SandboxArchive
  let session: PtySession | undefined

  function verify(...args: string[]): PtySession {
    session = spawnPty([process.execPath, PBM, 'backup:verify', '--bucket', world.bucket, ...args], {
      cwd: world.tmp,
      env: terminalEnv(world.env),
    })
    return session
  }

  before(async () => {
    world = await startWorld({
      latencyMs: 0,
      sites: [
        {envs: [{backups: [{date: daysAgo(1)}], name: 'live'}], name: 'alpha'},
        {envs: [{backups: [{date: daysAgo(1)}], name: 'live'}], name: 'bravo'},
      ],
    })
    const mirrored = await world.pbm(['backup:mirror', 'alpha.live', 'bravo.live', '--bucket', world.bucket, '--yes'])
    expect(mirrored.exitCode, String(mirrored.stderr)).to.equal(0)
    flipped = world.sandbox.archives().find((a) => a.site === 'bravo' && a.element === 'database')!
    // Beneath pbm, as a disk or a bug would: same size, same ETag and metadata on s3rver.
    const stored = path.join(world.s3.dir, world.bucket, 'bravo', 'live', `${flipped.file}._S3rver_object`)
    const data = await readFile(stored)
    data[Math.floor(data.length / 2)] ^= 0xff
    await writeFile(stored, data)
  })

  afterEach(() => {
    session?.stop()
    session = undefined
  })

  after(async () => {
    await world?.close()
  })

  it('--deep draws its steps, reads each archive back under its site.env, names the corrupt one, exits 3', async () => {
    const pty = verify('--deep')
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(3)
    const screen = pty.text()
    // The steps, each with what it found.
    expect(screen).to.match(/✔ listed the mirror: 6 archives of 2 site\.envs/)
    expect(screen).to.match(/✔ asked Pantheon: 2 site\.envs listed/)
    expect(screen).to.include("check 6 archives against pbm's record, reading each back")
    // The last frame: every archive read back under its site.env, the flipped one marked.
    const last = screen.slice(screen.lastIndexOf('listed the mirror'))
    for (const archive of world.sandbox.archives()) {
      const line = `${archive.site}.${archive.env} ${archive.element}: s3://${world.bucket}/${archive.site}/${archive.env}/${archive.file}`
      const mark = archive.file === flipped.file ? '✖' : '✔'
      expect(last, `${archive.file} in the last frame`).to.include(
        `${mark} ${line}: ${archive.file === flipped.file ? 'corrupt' : 'ok'}`,
      )
    }

    // Then the report: the problem with its reason (wrapped under DETAIL to fit the terminal), and the sums.
    const report = screen.slice(screen.lastIndexOf('STATUS'))
    expect(report).to.match(new RegExp(`corrupt +database +s3://${world.bucket}/bravo/live/${flipped.file} `))
    expect(report.replaceAll(/\s+/g, ' ')).to.include('incorrect data check')
    expect(report).to.include('6 objects checked (6 read back')
    expect(report).to.include('1 problem: 1 object corrupt')
  })

  it('Ctrl-C while Pantheon is asked: the step on screen, exit 130, no Terminus process left', async () => {
    world.sandbox.setLatency(60_000)
    try {
      const pty = verify()
      await pty.waitFor('✔ listed the mirror: 6 archives of 2 site.envs')
      await pty.waitFor('ask Pantheon for the backups of 2 site.envs')
      // The state to interrupt: Terminus' backup:list processes (the sandbox holds them for a minute).
      for (let i = 0; (await listing()).stdout.trim() === ''; i++) {
        expect(i, 'no terminus backup:list process started').to.be.below(200)
      }

      await pty.type(KEY.ctrlC)
      const exit = await finishedCleanly(pty)
      expect(exit.exitCode, pty.text()).to.equal(130)
      expect((await listing()).stdout.trim(), 'a terminus backup:list process is still running').to.equal('')
    } finally {
      world.sandbox.setLatency(0)
    }
  })
})
