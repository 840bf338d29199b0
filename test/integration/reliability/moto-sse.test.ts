import {HeadObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {expect} from 'chai'

import {daysAgo, startWorld, type World} from '../../helpers/cli.js'
import {motoBucket, type MotoServer, startMoto} from '../../helpers/moto.js'

/** On moto_server (which, unlike s3rver, keeps SSE and user metadata as S3 does), through the built CLI. */
describe('reliability: SSE and checksums on moto_server (built CLI)', function () {
  this.timeout(120_000)
  let world: World
  let moto: MotoServer
  let s3: S3Client
  const bucket = 'pbm-sse'

  before(async () => {
    moto = await startMoto()
    world = await startWorld({
      sites: [
        {name: 'alpha', envs: [{name: 'live', backups: [{date: daysAgo(1), sizes: {code: 7e6, database: 1e6}}]}]},
      ],
    })
    s3 = await motoBucket(moto, bucket)
  })

  after(async () => {
    s3?.destroy()
    await world?.close()
    await moto?.close()
  })

  const mirror = (prefix: string, extra: string[]) =>
    world.pbm(
      [
        'backup:mirror',
        'alpha.live',
        '-e',
        'code',
        '-e',
        'db',
        '--bucket',
        bucket,
        '--prefix',
        prefix,
        '--yes',
        '--json',
        ...extra,
      ],
      {
        env: {PBM_ENDPOINT: moto.endpoint},
      },
    )

  it('--sse AES256: every object (single and multipart) reports AES256, with MD5 and CRC32C equal to the source', async () => {
    const r = await mirror('sse/', ['--sse', 'AES256'])
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).to.equal(0)
    const plain = await mirror('plain/', [])
    expect(plain.exitCode, `${plain.stdout}\n${plain.stderr}`).to.equal(0)
    const mirrored = world.sandbox.archives().filter((a) => a.element !== 'files')
    expect(mirrored).to.have.length(2)
    for (const a of mirrored) {
      const head = await s3.send(new HeadObjectCommand({Bucket: bucket, Key: `sse/alpha/live/${a.file}`}))
      expect(head.ServerSideEncryption, a.file).to.equal('AES256')
      expect(head.ContentLength).to.equal(a.size)
      expect(head.Metadata?.['pbm-md5'], a.file).to.equal(a.md5)
      // pbm stores CRC32C as hex; the source announces it in base64 (X-Goog-Hash).
      expect(head.Metadata?.['pbm-crc32c'], a.file).to.equal(Buffer.from(a.crc32c, 'base64').toString('hex'))
      // The control: without --sse, moto reports no encryption, so the assertion above can fail.
      const control = await s3.send(new HeadObjectCommand({Bucket: bucket, Key: `plain/alpha/live/${a.file}`}))
      expect(control.ServerSideEncryption, a.file).to.equal(undefined)
    }
  })
})
