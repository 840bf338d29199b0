import {expect} from 'chai'
import {createHash} from 'node:crypto'
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {daysAgo, json, startWorld, type World} from '../../helpers/cli.js'

interface Row {
  destination: string
  error?: {code: string; message: string}
  file: string
  location: string
  status: string
}

/** Two destinations, one of them already holding something else: each row tells its own truth. */
describe('pick to S3 and a folder when one of them is taken', () => {
  let world: World

  before(async () => {
    world = await startWorld({
      sites: [
        {
          envs: [{backups: [{date: daysAgo(1), sizes: {code: 40_000, database: 30_000, files: 50_000}}], name: 'live'}],
          name: 'alpha',
        },
      ],
    })
  })

  after(async () => world?.close())

  it('stores the archive where it is free, refuses the other, and exits 1', async () => {
    const db = world.sandbox.archives().find((a) => a.element === 'database')!
    const dir = path.join(world.tmp, 'taken')
    const local = path.join(dir, 'alpha', 'live', db.file)
    await mkdir(path.dirname(local), {recursive: true})
    const theirs = Buffer.alloc(db.size, 7)
    await writeFile(local, theirs)

    const result = await world.pbm([
      'backup:pick',
      'alpha.live',
      '--latest',
      '--element',
      'db',
      '--bucket',
      world.bucket,
      '--to',
      dir,
      '--json',
    ])
    expect(result.exitCode, String(result.stderr)).to.equal(1)
    const rows = json<{archives: Row[]}>(result).archives
    const s3 = rows.find((r) => r.destination === 's3')
    const folder = rows.find((r) => r.destination === 'local')
    expect(s3?.status).to.equal('transferred')
    expect(folder?.status).to.equal('failed')
    expect(folder?.error?.code).to.equal('exists-different')

    const stored = await world.s3.getObject(world.bucket, `alpha/live/${db.file}`)
    expect(createHash('md5').update(stored!).digest('hex')).to.equal(db.md5)
    expect(await readFile(local)).to.deep.equal(theirs)
  })
})
