import {PutObjectCommand, type S3Client} from '@aws-sdk/client-s3'
import {expect} from 'chai'

import {makeClient} from '../../../src/destination/s3.js'
import {
  type RecordingProxy,
  S3RVER_CREDENTIALS,
  type S3Server,
  startRecordingProxy,
  startS3rver,
} from '../../helpers/s3.js'

/**
 * The client every pbm S3 path uses (makeClient) against s3rver behind a proxy that drops
 * connections: a dropped connection is retried per request, however many earlier requests of the
 * same client used up their retries (the SDK's standard strategy stops retrying altogether once a
 * client has spent 500 tokens at 14 a retry).
 */
describe('destination/s3-connections: dropped connections against s3rver', function () {
  this.timeout(60_000)
  let s3: S3Server
  let proxy: RecordingProxy
  let client: S3Client
  const bucket = 'pbm-resets'

  before(async () => {
    s3 = await startS3rver()
    await s3.createBucket(bucket)
    proxy = await startRecordingProxy(s3.endpoint)
    client = await makeClient({credentials: S3RVER_CREDENTIALS, maxAttempts: 3}, proxy.endpoint)
  })

  after(async () => {
    client?.destroy()
    await proxy?.close()
    await s3?.stop()
  })

  const put = (key: string) =>
    client.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: Buffer.from(key), ContentLength: key.length}))

  it('retries a request whose connection was dropped, also after 20 requests that failed every attempt', async () => {
    // 20 requests x 2 retries that never succeed: 560 of the standard strategy's 500 tokens.
    proxy.inject({op: 'PutObject', status: 'reset', times: 20 * 3})
    for (let i = 0; i < 20; i++) {
      const error = await put(`lost-${i}`).then(
        () => {},
        (error_: Error & {$metadata?: {attempts?: number}}) => error_,
      )
      expect(error, `request ${i + 1}`).to.be.instanceOf(Error)
      expect(error!.$metadata?.attempts, `request ${i + 1}`).to.equal(3)
    }

    proxy.inject({op: 'PutObject', status: 'reset', times: 2})
    const stored = await put('kept')
    expect(stored.$metadata.attempts).to.equal(3)
    expect((await s3.getObject(bucket, 'kept'))?.toString()).to.equal('kept')
    expect(proxy.requests.filter((r) => r.op === 'PutObject')).to.have.length(20 * 3 + 3)
  })
})
