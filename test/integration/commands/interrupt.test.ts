import {expect} from 'chai'
import {execa} from 'execa'
import {readdir} from 'node:fs/promises'
import path from 'node:path'

import {daysAgo, PBM, startWorld, type World} from '../../helpers/cli.js'
import {type RecordingProxy, startRecordingProxy} from '../../helpers/s3.js'

/**
 * Ctrl-C (SIGINT) in the middle of transfers: every started multipart upload is aborted, no file is
 * left (not even a .partial), the summary says what happened, and the exit code is 130.
 */
describe('interrupting a transfer (SIGINT)', () => {
  let world: World
  let proxy: RecordingProxy

  before(async () => {
    world = await startWorld({
      sites: [
        {
          envs: [
            {
              backups: [{date: daysAgo(1), sizes: {code: 3_000_000, database: 2_000_000, files: 4_000_000}}],
              name: 'live',
            },
          ],
          name: 'alpha',
        },
      ],
    })
    proxy = await startRecordingProxy(world.s3.endpoint)
  })

  after(async () => {
    await proxy?.close()
    await world?.close()
  })

  beforeEach(() => {
    proxy.reset()
    // Slow enough that the transfers are surely in flight when the signal comes.
    for (const archive of world.sandbox.archives()) world.sandbox.setFault(archive.file, {rateBytesPerSec: 500_000})
  })

  const interrupt = async (args: string[]) => {
    const child = execa(process.execPath, [PBM, ...args], {
      cwd: world.tmp,
      env: {...world.env, CI: 'true', PBM_ENDPOINT: proxy.endpoint},
      reject: false,
    })
    // Wait until archive bytes flow (the sandbox's event, not a poll), then press Ctrl-C.
    const served = world.sandbox.archives().reduce((sum, a) => sum + world.sandbox.stats(a.file).bytesServed, 0)
    await world.sandbox.waitServed(null, served + 300_000)
    child.kill('SIGINT')
    return child
  }

  for (const command of ['backup:pick', 'backup:mirror']) {
    it(`${command}: aborts uploads, leaves no files, exits 130 with a summary`, async () => {
      const dir = path.join(world.tmp, command.replace(':', '-'))
      const choice = command === 'backup:pick' ? ['--latest'] : []
      const result = await interrupt([
        command,
        'alpha.live',
        ...choice,
        '--bucket',
        world.bucket,
        '--prefix',
        command,
        '--to',
        dir,
      ])
      expect(result.exitCode, String(result.stderr)).to.equal(130)
      expect(String(result.stdout), String(result.stdout)).to.match(/6 failed \(6 interrupted/)
      expect(String(result.stderr)).not.to.match(/\n\s+at /)
      expect(await world.s3.listKeys(world.bucket, command)).to.deep.equal([])
      expect(proxy.openUploads()).to.deep.equal([])
      expect(proxy.requests.filter((r) => r.op === 'PutObject' || r.op === 'CompleteMultipartUpload')).to.deep.equal([])
      const files = await readdir(dir, {recursive: true}).catch(() => [])
      expect(files.filter((f) => String(f).endsWith('.gz') || String(f).endsWith('.partial'))).to.deep.equal([])
    })
  }
})
