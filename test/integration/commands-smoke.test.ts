import {expect} from 'chai'
import {createHash} from 'node:crypto'

import {daysAgo, json, startWorld, type World} from '../helpers/cli.js'

describe('pbm (built CLI) smoke: pick to S3 against the sandbox', () => {
  let world: World

  before(async () => {
    world = await startWorld({
      sites: [
        {
          envs: [
            {
              backups: [
                {date: daysAgo(2)},
                {date: daysAgo(1), sizes: {code: 200_000, database: 50_000, files: 300_000}},
              ],
              name: 'live',
            },
          ],
          name: 'alpha',
        },
      ],
    })
  })

  after(async () => world?.close())

  it('transfers the newest set byte for byte and says so in --json', async () => {
    const result = await world.pbm(['backup:pick', 'alpha.live', '--latest', '--bucket', world.bucket, '--json'])
    expect(result.exitCode, String(result.stderr)).to.equal(0)
    const out = json<{archives: Array<{element: string; file: string; location: string; md5: string; status: string}>}>(
      result,
    )
    expect(out.archives.map((a) => a.status)).to.deep.equal(['transferred', 'transferred', 'transferred'])
    for (const archive of out.archives) {
      const source = world.sandbox.archive(archive.file)
      const stored = await world.s3.getObject(world.bucket, `alpha/live/${archive.file}`)
      expect(stored, archive.file).to.not.equal(undefined)
      expect(createHash('md5').update(stored!).digest('hex')).to.equal(source.md5)
      expect(archive.location).to.equal(`s3://${world.bucket}/alpha/live/${archive.file}`)
    }
  })
})
