/**
 * `pbm backup:restore` at a terminal: the built CLI in a pseudo-terminal (util-linux `script`), answering
 * its real prompts with keystrokes, against the sandbox and s3rver. Every step waits for the prompt's
 * text before it types; what was imported is read back from the sandbox.
 */
import {expect} from 'chai'

import type {SandboxArchive} from '../../../sandbox/index.js'

import {daysAgo, PBM, startWorld, type World} from '../../helpers/cli.js'
import {finishedCleanly, KEY, type PtySession, spawnPty, terminalEnv} from '../../helpers/pty.js'

describe('pbm backup:restore in a terminal (real prompts in a PTY)', function () {
  this.timeout(90_000)
  let world: World
  /** alpha.live's two sets (database and files), oldest first. */
  let sets: Array<{database: SandboxArchive; files: SandboxArchive}>
  let session: PtySession | undefined

  function restore(...args: string[]): PtySession {
    session = spawnPty([process.execPath, PBM, 'backup:restore', ...args, '--bucket', world.bucket], {
      cwd: world.tmp,
      env: terminalEnv(world.env),
    })
    return session
  }

  const imports = (env: string) => world.sandbox.imports('alpha', env)
  const creates = () => world.sandbox.calls().filter((c) => c.command === 'backup:create').length

  before(async () => {
    world = await startWorld({
      sites: [
        {
          envs: [{backups: [{date: daysAgo(4)}, {date: daysAgo(1)}], name: 'live'}, {name: 'dev'}],
          name: 'alpha',
        },
      ],
    })
    const mirrored = await world.pbm(['backup:mirror', 'alpha.live', '--all', '--bucket', world.bucket, '--yes'])
    expect(mirrored.exitCode, String(mirrored.stderr)).to.equal(0)
    const live = world.sandbox.archives().filter((a) => a.site === 'alpha' && a.env === 'live')
    sets = [...new Set(live.map((a) => a.folder))].sort().map((folder) => ({
      database: live.find((a) => a.folder === folder && a.element === 'database')!,
      files: live.find((a) => a.folder === folder && a.element === 'files')!,
    }))
    expect(sets).to.have.length(2)
  })

  afterEach(() => {
    session?.stop()
    session = undefined
  })

  after(async () => {
    await world?.close()
  })

  it('asks the source, an older set and the elements, shows the plan, and imports only after a yes', async () => {
    const older = sets[0]
    const pty = restore('alpha.dev', '--no-backup-first')
    await pty.waitFor('Restore the backup of (from the mirror)')
    await pty.waitFor(/❯ alpha\.live/)
    await pty.type(KEY.enter)

    await pty.waitFor('Backup (newest first)')
    const newestDate = new Date(sets[1].database.date * 1000).toISOString().slice(0, 10)
    const olderDate = new Date(older.database.date * 1000).toISOString().slice(0, 10)
    await pty.waitFor(new RegExp(`❯ ${newestDate} [^\\n]*\\n  ${olderDate} `))
    await pty.type(KEY.down)
    await pty.waitFor(new RegExp(`\\n❯ ${olderDate} `))
    await pty.type(KEY.enter)

    await pty.waitFor('Elements')
    await pty.waitFor(older.files.file)
    // Only the database: uncheck files, whichever line it is on.
    const lines = pty.text().slice(pty.text().lastIndexOf('Elements')).split('\n')
    const filesLine = lines.findIndex((l) => l.includes(older.files.file))
    const firstLine = lines.findIndex((l) => /[◉◯]/.test(l))
    await pty.type(...Array.from({length: filesLine - firstLine}, () => KEY.down), KEY.space)
    await pty.waitFor(/◯ files/)
    await pty.type(KEY.enter)

    await pty.waitFor('Import into alpha.dev now? This replaces what is there.')
    const plan = pty.text().slice(pty.text().lastIndexOf('✔ Elements'))
    expect(plan).to.include(older.database.file).and.not.include(older.files.file)
    expect(imports('dev'), 'imported before the answer').to.deep.equal([])
    await pty.type('y', KEY.enter)

    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(0)
    expect(imports('dev').map((i) => [i.element, i.md5])).to.deep.equal([['database', older.database.md5]])
  })

  it('a live target needs its site name typed: a wrong name cancels, nothing imported or created', async () => {
    const createsBefore = creates()
    const pty = restore('alpha.live', '--from', 'alpha.live', '--latest', '--element', 'db', '--allow-live')
    await pty.waitFor('This replaces the database of LIVE. Type the site name (alpha) to go on')
    await pty.type('alpah', KEY.enter)

    await pty.waitFor('Cancelled: nothing was changed on alpha.live.')
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(0)
    // Cancelling is neutral: the mistyped answer without the green tick of a done step.
    expect(pty.text()).to.include('- This replaces the database of LIVE. Type the site name (alpha) to go on alpah')
    expect(pty.text()).to.not.include('✔ This replaces')
    expect(imports('live')).to.deep.equal([])
    expect(creates()).to.equal(createsBefore)
  })

  it('Ctrl-C at a question: exit 130, nothing imported', async () => {
    const pty = restore('alpha.dev', '--from', 'alpha.live', '--no-backup-first')
    await pty.waitFor('Backup (newest first)')
    const before = imports('dev').length
    await pty.type(KEY.ctrlC)
    const exit = await finishedCleanly(pty)
    expect(exit.exitCode, pty.text()).to.equal(130)
    expect(imports('dev')).to.have.length(before)
  })
})
