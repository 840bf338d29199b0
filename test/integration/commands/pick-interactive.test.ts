/**
 * `pbm backup:pick` at a terminal: the built CLI in a pseudo-terminal (util-linux `script`), answering
 * its real @inquirer prompts with keystrokes, against the sandbox and s3rver. Every step waits for the
 * prompt's text before it types.
 */
import {expect} from 'chai'
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import type {SandboxArchive, SandboxElement} from '../../../sandbox/index.js'

import {daysAgo, listFiles, md5, PBM, startWorld, type World} from '../../helpers/cli.js'
import {finishedCleanly, KEY, type PtySession, spawnPty, terminalEnv} from '../../helpers/pty.js'

const ELEMENTS: SandboxElement[] = ['code', 'files', 'database']

describe('pbm backup:pick in a terminal (real prompts in a PTY)', function () {
  this.timeout(60_000)
  let world: World
  /** alpha.live's two sets, oldest first. */
  let sets: Array<Record<SandboxElement, SandboxArchive>>
  let session: PtySession | undefined

  function pick(...args: string[]): PtySession {
    session = spawnPty([process.execPath, PBM, 'backup:pick', ...args], {cwd: world.tmp, env: terminalEnv(world.env)})
    return session
  }

  const requests = (archives: SandboxArchive[]) =>
    archives.reduce((sum, a) => sum + world.sandbox.stats(a.file).requests, 0)
  const all = () => sets.flatMap((set) => ELEMENTS.map((el) => set[el]))

  before(async () => {
    world = await startWorld({
      sites: [
        // First in the list: if typing did not filter, Enter would pick it.
        {envs: [{backups: [{date: daysAgo(1)}], name: 'live'}], name: 'acme'},
        {
          envs: [
            {
              backups: [{date: daysAgo(4)}, {date: daysAgo(1), sizes: {code: 30_000, database: 20_000, files: 50_000}}],
              name: 'live',
            },
            {initialized: false, name: 'dev'},
          ],
          name: 'alpha',
        },
        {envs: [{name: 'live'}], frozen: true, name: 'beta'},
      ],
    })
    const alpha = world.sandbox.archives().filter((a) => a.site === 'alpha' && a.env === 'live')
    sets = [...new Set(alpha.map((a) => a.folder))]
      .sort()
      .map(
        (folder) =>
          Object.fromEntries(
            ELEMENTS.map((el) => [el, alpha.find((a) => a.folder === folder && a.element === el)!]),
          ) as Record<SandboxElement, SandboxArchive>,
      )
    expect(sets).to.have.length(2)
  })

  afterEach(() => {
    session?.stop()
    session = undefined
  })

  after(async () => {
    await world?.close()
  })

  it('asks everything when nothing is given: site by typing, env, an older set, elements, folder, confirm', async () => {
    const older = sets[0]
    const pty = pick()
    await pty.waitFor('Site (type to filter)')
    await pty.type('a', 'l', 'p')
    // The list narrowed to alpha alone (acme and beta are gone), with its plan and framework below.
    await pty.waitFor(/Site \(type to filter\) alp\n❯ alpha\n\n/)
    await pty.type(KEY.enter)

    await pty.waitFor('Environment of alpha')
    await pty.waitFor(/dev \(not initialized[^\n]*\n/)
    await pty.type(KEY.enter)

    await pty.waitFor('Backup (newest first)')
    const newestDate = new Date(sets[1].code.date * 1000).toISOString().slice(0, 10)
    const olderDate = new Date(older.code.date * 1000).toISOString().slice(0, 10)
    await pty.waitFor(new RegExp(`❯ ${newestDate} [^\\n]*\\n  ${olderDate} [^\\n]*manual`))
    await pty.type(KEY.down)
    await pty.waitFor(new RegExp(`\\n❯ ${olderDate} `))
    await pty.type(KEY.enter)
    await pty.waitFor(`✔ Backup (newest first) ${olderDate}`)

    await pty.waitFor('Elements')
    await pty.waitFor(older.database.file)
    // Uncheck files (the second line), keep code and database.
    await pty.type(KEY.down, KEY.space)
    await pty.waitFor(/◯ files/)
    await pty.type(KEY.enter)

    await pty.waitFor('Destination')
    await pty.waitFor('A local folder')
    await pty.type(KEY.down)
    await pty.waitFor('❯ A local folder')
    await pty.type(KEY.enter)
    await pty.waitFor('Local folder')
    await pty.type('picked', KEY.enter)

    await pty.waitFor('Transfer now?')
    const summary = pty.text().slice(pty.text().lastIndexOf('✔ Local folder'))
    const dir = path.join(world.tmp, 'picked')
    expect(summary)
      .to.match(/\b2 archive/)
      .and.include(dir)
    expect(summary).to.include(older.code.file).and.include(older.database.file).and.not.include(older.files.file)
    await pty.type(KEY.enter)

    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(0)
    expect(await listFiles(dir)).to.deep.equal(
      [`alpha/live/${older.code.file}`, `alpha/live/${older.database.file}`].sort(),
    )
    for (const archive of [older.code, older.database]) {
      expect(md5(await readFile(path.join(dir, 'alpha', 'live', archive.file))), archive.file).to.equal(archive.md5)
    }

    expect(world.sandbox.stats(older.files.file).requests, 'the unchecked element was downloaded').to.equal(0)
  })

  it('with SITE.ENV and --bucket given, asks only for the backup, the elements and the confirmation', async () => {
    const newest = sets[1]
    const pty = pick('alpha.live', '--bucket', world.bucket, '--prefix', 'given')
    await pty.waitFor('Backup (newest first)')
    await pty.type(KEY.enter)
    await pty.waitFor('Elements')
    await pty.waitFor(newest.database.file)
    await pty.type(KEY.enter)
    await pty.waitFor('Transfer now?')
    expect(pty.text()).to.include(`s3://${world.bucket}/given/`)
    await pty.type(KEY.enter)

    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(0)
    const asked = pty.text()
    expect(asked).to.not.include('Site (type to filter)')
    expect(asked).to.not.include('Environment of')
    expect(asked).to.not.include('Destination')
    expect(asked).to.not.include('S3 bucket')
    const keys = ELEMENTS.map((el) => `given/alpha/live/${newest[el].file}`).sort()
    expect(await world.s3.listKeys(world.bucket, 'given/')).to.deep.equal(keys)
    for (const el of ELEMENTS) {
      const stored = await world.s3.getObject(world.bucket, `given/alpha/live/${newest[el].file}`)
      expect(md5(stored!), el).to.equal(newest[el].md5)
    }
  })

  it('Ctrl-C at the first prompt exits 130, without a stack trace', async () => {
    const before = requests(all())
    const pty = pick()
    await pty.waitFor('Site (type to filter)')
    await pty.waitFor('alpha')
    await pty.type(KEY.ctrlC)
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(130)
    expect(pty.text()).to.include('Interrupted.').and.not.include('Error')
    expect(requests(all())).to.equal(before)
  })

  it('Ctrl-C at the confirmation exits 130 and transfers nothing', async () => {
    const before = requests(all())
    const dir = path.join(world.tmp, 'ctrl-c')
    const pty = pick('alpha.live', '--bucket', world.bucket, '--prefix', 'ctrl-c', '--to', dir)
    await pty.waitFor('Backup (newest first)')
    await pty.type(KEY.enter)
    await pty.waitFor('Elements')
    await pty.waitFor(sets[1].database.file)
    await pty.type(KEY.enter)
    await pty.waitFor('Transfer now?')
    await pty.type(KEY.ctrlC)
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(130)
    expect(await world.s3.listKeys(world.bucket, 'ctrl-c/')).to.deep.equal([])
    expect(await listFiles(dir)).to.deep.equal([])
    expect(requests(all())).to.equal(before)
  })

  it('answering no at the confirmation transfers nothing', async () => {
    const before = requests(all())
    const dir = path.join(world.tmp, 'declined')
    const pty = pick('alpha.live', '--to', dir)
    await pty.waitFor('Backup (newest first)')
    await pty.type(KEY.enter)
    await pty.waitFor('Elements')
    await pty.waitFor(sets[1].database.file)
    await pty.type(KEY.enter)
    await pty.waitFor('Transfer now?')
    await pty.type('n', KEY.enter)
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(0)
    expect(pty.text()).to.include('nothing was transferred')
    expect(await listFiles(dir)).to.deep.equal([])
    expect(requests(all())).to.equal(before)
  })
})
