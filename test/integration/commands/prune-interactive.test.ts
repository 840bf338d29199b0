/**
 * `pbm backup:prune` at a terminal (the built CLI in a pseudo-terminal): the plan is shown and asked
 * about, and what happens to the folder between the question and the answer cannot lead a removal
 * outside the mirror.
 */
import {expect} from 'chai'
import {mkdir, rename, stat, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {listFiles, PBM, startWorld, type World} from '../../helpers/cli.js'
import {finishedCleanly, KEY, type PtySession, spawnPty, terminalEnv} from '../../helpers/pty.js'
import {putLocal} from '../../helpers/records.js'

const file = (day: number) => `alpha_live_2024-03-${String(day).padStart(2, '0')}T03-00-00_UTC_database.sql.gz`

describe('pbm backup:prune in a terminal', function () {
  this.timeout(90_000)
  let world: World
  let session: PtySession | undefined

  before(async () => {
    world = await startWorld({sites: []})
  })

  afterEach(() => {
    session?.stop()
    session = undefined
  })

  after(async () => world?.close())

  it('a folder swapped for a link while the plan is asked about: nothing outside the root is removed', async () => {
    const root = path.join(world.tmp, 'mirror')
    const outside = path.join(world.tmp, 'elsewhere')
    for (const day of [17, 18, 19, 20]) await putLocal(root, `alpha/live/${file(day)}`, `backup of the ${day}th`)
    session = spawnPty([process.execPath, PBM, 'backup:prune', '--to', root, '--keep-last', '1'], {
      cwd: world.tmp,
      env: terminalEnv(world.env),
    })
    await session.waitFor(`Remove 3 backups from ${root}?`)
    // While the question waits: alpha/live becomes a link to a folder of files with the same names.
    await mkdir(outside, {recursive: true})
    for (const day of [17, 18, 19, 20]) await writeFile(path.join(outside, file(day)), 'not the mirror')
    await rename(path.join(root, 'alpha/live'), path.join(root, 'alpha/.live-moved'))
    await symlink(outside, path.join(root, 'alpha/live'))
    await session.type('y', KEY.enter)

    const exit = await finishedCleanly(session)
    expect(exit.exitCode, session.text()).to.equal(1)
    expect(session.text()).to.include(`${file(17)} not removed: ${path.join(root, 'alpha/live')} now leads to`)
    expect((await listFiles(outside)).sort()).to.deep.equal([17, 18, 19, 20].map((day) => file(day)).sort())
    for (const day of [17, 18, 19, 20]) expect((await stat(path.join(outside, file(day)))).size).to.equal(14)
    // The moved mirror folder is whole too.
    expect(await listFiles(path.join(root, 'alpha/.live-moved'))).to.have.length(4)
  })
})
