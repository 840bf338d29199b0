/**
 * A newcomer's first hour at a terminal (issue 19): prompts that forgive (an invalid answer is asked
 * again, `~` is home, mirror asks the environments and confirms, restore asks its target), cancelling
 * that is neutral, Ctrl-C that says "Interrupted.", and a frozen site skipped without a green tick. The
 * built CLI in a pseudo-terminal at 80 and 120 columns, against the sandbox and s3rver.
 */
import {expect} from 'chai'
import {mkdir, readdir} from 'node:fs/promises'
import path from 'node:path'

import {daysAgo, listFiles, PBM, startWorld, type World} from '../../helpers/cli.js'
import {finishedCleanly, KEY, type PtySession, spawnPty, terminalEnv} from '../../helpers/pty.js'

const BACKSPACE = '\u007F'

describe('pbm for a newcomer, at a terminal (real prompts in a PTY)', function () {
  this.timeout(90_000)
  let world: World
  let session: PtySession | undefined

  function run(args: string[], options: {cols?: number; env?: Record<string, string>} = {}): PtySession {
    session = spawnPty([process.execPath, PBM, ...args], {
      cols: options.cols ?? 80,
      cwd: world.tmp,
      env: {...terminalEnv(world.env), ...options.env},
      rows: 40,
    })
    return session
  }

  before(async () => {
    world = await startWorld({
      sites: [
        {
          envs: [
            {
              backups: [
                {date: daysAgo(3), initiator: 'manual'},
                {date: daysAgo(1), initiator: 'automated'},
              ],
              name: 'live',
            },
            {backups: [{date: daysAgo(1)}], name: 'dev'},
            {backups: [{date: daysAgo(1)}], name: 'test'},
            {backups: [{date: daysAgo(1)}], name: 'pr-7'},
          ],
          name: 'alpha',
        },
        {
          envs: [
            {backups: [{date: daysAgo(1)}], name: 'live'},
            {backups: [{date: daysAgo(1)}], name: 'dev'},
          ],
          name: 'bravo',
        },
        {envs: [{backups: [{date: daysAgo(1)}], name: 'live'}], frozen: true, name: 'gamma'},
      ],
    })
  })

  afterEach(() => {
    session?.stop()
    session = undefined
  })

  after(async () => {
    await world?.close()
  })

  it('an invalid bucket is asked again with the reason, the earlier answers kept; a no is neutral', async () => {
    const pty = run(['backup:pick', 'alpha.live', '--latest', '-e', 'db'])
    await pty.waitFor('? Destination')
    await pty.type(KEY.enter)
    await pty.waitFor('S3 bucket (name or s3://bucket/prefix)')
    await pty.type('My_Bucket', KEY.enter)
    await pty.waitFor('"My_Bucket" is not a valid S3 bucket name.')
    await pty.type(...Array.from({length: 'My_Bucket'.length}, () => BACKSPACE), world.bucket, KEY.enter)
    await pty.waitFor(`✔ S3 bucket (name or s3://bucket/prefix) ${world.bucket}`)
    await pty.waitFor('Transfer now?')
    await pty.type('n', KEY.enter)
    await pty.waitFor('Cancelled: nothing was transferred.')
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(0)
    expect(pty.text()).to.include('- Transfer now? No').and.not.include('✔ Transfer now?')
  })

  it('~/x at "Local folder" is under the home folder', async () => {
    const home = path.join(world.tmp, 'home-pick')
    await mkdir(home)
    const pty = run(['backup:pick', 'alpha.live', '--latest', '-e', 'db'], {env: {HOME: home}})
    await pty.waitFor('? Destination')
    await pty.type(KEY.down)
    await pty.waitFor('❯ A local folder')
    await pty.type(KEY.enter)
    await pty.waitFor('Local folder')
    await pty.type('~/pbmtest', KEY.enter)
    await pty.waitFor(`to ${path.join(home, 'pbmtest')}:`)
    await pty.waitFor('Transfer now?')
    await pty.type('y', KEY.enter)
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(0)
    expect(await listFiles(path.join(home, 'pbmtest'))).to.have.length(1)
    expect(await readdir(world.tmp)).to.not.include('~')
  })

  for (const cols of [80, 120]) {
    it(`backup:mirror asks the sites, then the environments (dev and live checked), shows the plan and confirms (${cols} columns)`, async () => {
      const pty = run(['backup:mirror', '--to', path.join(world.tmp, `mirror-${cols}`)], {cols})
      await pty.waitFor('? Sites to mirror')
      await pty.waitFor('bravo')
      await pty.type(KEY.space, KEY.down, KEY.space, KEY.enter)
      await pty.waitFor('✔ Sites to mirror alpha, bravo\n')
      await pty.waitFor('? Environments to mirror')
      const list = await pty.waitFor('pr-7')
      const offered = pty.text().slice(pty.text().lastIndexOf('Environments to mirror'), list)
      expect(offered).to.match(/◉ dev\n.*◯ test\n.*◉ live\n.*◯ pr-7/s)
      // Add test, keep dev and live.
      await pty.type(KEY.down, KEY.space, KEY.enter)
      await pty.waitFor('✔ Environments to mirror dev, test, live\n')
      await pty.waitFor('Mirror now?')
      const plan = pty.text().slice(pty.text().lastIndexOf('✔ Environments to mirror'))
      expect(plan).to.include('the newest backup set (code, files, database) of 5 site.envs:')
      expect(plan).to.match(/ {2}alpha {2}dev, test, live\n {2}bravo {2}dev, live\n/)
      const before = world.sandbox.calls().filter((c) => c.command === 'backup:get').length
      await pty.type('n', KEY.enter)
      await pty.waitFor('Cancelled: nothing was mirrored.')
      const exit = await finishedCleanly(pty)
      expect(exit.exitCode, pty.text()).to.equal(0)
      expect(world.sandbox.calls().filter((c) => c.command === 'backup:get')).to.have.length(before)
      expect(await listFiles(path.join(world.tmp, `mirror-${cols}`))).to.deep.equal([])
    })
  }

  it('backup:restore without a target asks for it, and lists each set with its real initiator', async () => {
    const mirrored = await world.pbm(['backup:mirror', 'alpha.live', '--all', '--bucket', world.bucket, '--yes'])
    expect(mirrored.exitCode, String(mirrored.stderr)).to.equal(0)
    const pty = run(['backup:restore', '--bucket', world.bucket])
    // The questions say it is the target they ask for, before the source is asked.
    await pty.waitFor('? Restore into site (type to filter)')
    await pty.waitFor('❯ alpha')
    await pty.type(KEY.enter)
    await pty.waitFor('? Restore into which environment of alpha')
    await pty.waitFor('❯ dev')
    await pty.type(KEY.enter)
    await pty.waitFor('Restore the backup of (from the mirror)')
    await pty.waitFor('❯ alpha.live')
    await pty.type(KEY.enter)
    await pty.waitFor('Backup (newest first)')
    const listed = await pty.waitFor(/ manual {2}/)
    const sets = pty.text().slice(pty.text().lastIndexOf('Backup (newest first)'), listed)
    expect(sets).to.match(/❯ \S+ \S+ UTC .* automated {2}files .*\n {2}\S+ \S+ UTC .* manual {2}/)
    await pty.type(KEY.ctrlC)
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(130)
    expect(world.sandbox.imports('alpha', 'dev')).to.deep.equal([])
  })

  it('Ctrl-C at a question clears it and says "Interrupted." (exit 130), not an error', async () => {
    const pty = run(['backup:pick'])
    await pty.waitFor('Site (type to filter)')
    await pty.waitFor('alpha')
    await pty.type(KEY.ctrlC)
    await pty.waitFor('Interrupted.')
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(130)
    expect(pty.text()).to.not.include('Error').and.not.include('Cancelled')
    // The question is erased (ESC[2K) after it was last drawn, before the word.
    const raw = pty.raw()
    const afterQuestion = raw.slice(raw.lastIndexOf('Site (type to filter)'), raw.indexOf('Interrupted.'))
    expect(afterQuestion).to.include('\u001B[2K')
  })

  it('a verify that stops at its first step ticks no step it did not finish (no AWS credentials)', async () => {
    const env = terminalEnv(world.env)
    delete env.AWS_ACCESS_KEY_ID
    delete env.AWS_SECRET_ACCESS_KEY
    session = spawnPty([process.execPath, PBM, 'backup:verify', 'alpha.live', '--bucket', world.bucket], {
      cols: 80,
      cwd: world.tmp,
      env: {...env, AWS_EC2_METADATA_DISABLED: 'true'},
      rows: 40,
    })
    const exit = await finishedCleanly(session)
    expect(exit.exitCode, session.text()).to.equal(1)
    expect(session.text()).to.include('No AWS credentials were found')
    expect(session.text(), session.text()).to.not.include('✔')
    expect(session.text()).to.match(/↓ check each archive/)
  })

  it('a frozen site.env ends skipped in the live tree, never with a green tick', async () => {
    // A frozen site's listed backups are mirrored (issue 17); one whose list fails is skipped, neutrally.
    const pty = run(['backup:mirror', 'gamma.test', '--to', path.join(world.tmp, 'frozen'), '--yes'])
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(0)
    expect(pty.text()).to.include('gamma.test: skipped, the site is frozen')
    expect(pty.text()).to.not.match(/✔ gamma\.test/)
  })
})
