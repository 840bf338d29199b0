import {CreateMultipartUploadCommand, GetObjectCommand, ListMultipartUploadsCommand, S3Client} from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {createHash} from 'node:crypto'

import {createSandbox, type Sandbox} from '../../../sandbox/index.js'
import {createS3Destination} from '../../../src/destination/index.js'
import {transferArchive} from '../../../src/transfer/index.js'
import {MOTO_CREDENTIALS, motoBucket, type MotoServer, startMoto} from '../../helpers/moto.js'

describe('transfer against moto_server: orphaned multipart uploads of a crashed run', () => {
  let moto: MotoServer
  let sb: Sandbox
  let s3: S3Client
  const bucket = 'pbm-moto'

  before(async () => {
    moto = await startMoto()
    sb = await createSandbox({
      sites: [{name: 'alpha', envs: [{name: 'live', backups: [{date: '2024-05-01T03:12:44Z', sizes: {code: 12e6}}]}]}],
    })
    s3 = await motoBucket(moto, bucket)
  })

  after(async () => {
    s3?.destroy()
    await sb?.close()
    await moto?.close()
  })

  it('aborts the stale upload of the key it writes, and leaves none open', async () => {
    const code = sb.archives().find((a) => a.element === 'code')!
    const key = `alpha/live/${code.file}`
    // What `kill -9` mid-upload leaves behind.
    await s3.send(new CreateMultipartUploadCommand({Bucket: bucket, Key: key}))
    const open = async () => (await s3.send(new ListMultipartUploadsCommand({Bucket: bucket}))).Uploads ?? []
    expect(await open()).to.have.length(1)

    const r = await transferArchive({
      archive: {site: 'alpha', env: 'live', element: 'code', folder: code.folder, file: code.file},
      key,
      resolveUrl: async () => sb.url(code.file),
      destinations: [
        createS3Destination({bucket, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS, region: 'us-east-1'}),
      ],
    })
    expect(r.destinations[0].status).to.equal('transferred')
    expect(await open()).to.deep.equal([])
    const got = await s3.send(new GetObjectCommand({Bucket: bucket, Key: key}))
    const body = Buffer.from(await got.Body!.transformToByteArray())
    expect(createHash('md5').update(body).digest('hex')).to.equal(code.md5)
  })
})
