import {expect} from 'chai'
import {createHash, randomBytes} from 'node:crypto'
import {gzipSync} from 'node:zlib'

import {PbmError} from '../../../src/errors.js'
import {StreamVerifier} from '../../../src/transfer/verify.js'

const content = Buffer.concat([randomBytes(200_000), Buffer.alloc(200_000, 'pbm ')])
const archive = gzipSync(content)
const md5 = createHash('md5').update(archive).digest('hex')

async function verify(data: Buffer, expected: {md5?: string; total?: number} = {}, chunk = 7919) {
  const v = new StreamVerifier('x.tar.gz')
  try {
    for (let i = 0; i < data.length; i += chunk) await v.update(data.subarray(i, i + chunk))
    return await v.finish({hash: {md5: expected.md5}, total: expected.total})
  } finally {
    v.dispose()
  }
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (error) {
    expect(error).to.be.instanceOf(PbmError)
    return (error as PbmError).code
  }

  return undefined
}

describe('transfer/verify', () => {
  it('accepts a good archive and reports its size, MD5, CRC32C and inflated size', async () => {
    const r = await verify(archive, {md5, total: archive.length}, 1021)
    expect(r.bytes).to.equal(archive.length)
    expect(r.md5).to.equal(md5)
    expect(r.crc32c).to.match(/^[\da-f]{8}$/)
    expect(r.inflated).to.equal(content.length)
  })

  it('checks the magic bytes even when they arrive one by one', async () => {
    const small = gzipSync('hello')
    expect((await verify(small, {}, 1)).inflated).to.equal(5)
    const notGzip = Buffer.from(small)
    notGzip[2] = 0
    expect(await codeOf(verify(notGzip, {}, 1))).to.equal('not-gzip')
  })

  it('refuses a truncated archive (the gzip trailer is missing)', async () => {
    expect(await codeOf(verify(archive.subarray(0, -100)))).to.equal('truncated')
    expect(await codeOf(verify(archive.subarray(0, 10)))).to.equal('truncated')
  })

  it('refuses fewer bytes than announced', async () => {
    expect(await codeOf(verify(archive, {total: archive.length + 1}))).to.equal('truncated')
  })

  it('refuses a corrupt archive', async () => {
    const bad = Buffer.from(archive)
    bad[bad.length - 6] ^= 0xff // inside the trailer's CRC32
    expect(await codeOf(verify(bad))).to.equal('corrupt')
  })

  it('refuses an MD5 that differs from the announced one', async () => {
    expect(await codeOf(verify(archive, {md5: '0'.repeat(32)}))).to.equal('checksum-mismatch')
  })

  it('refuses what is not gzip (an XML error page)', async () => {
    expect(await codeOf(verify(Buffer.from('<?xml version="1.0"?><Error><Code>ExpiredToken</Code></Error>')))).to.equal(
      'not-gzip',
    )
  })

  it('verifies archives at once, each on its own: a corrupt or abandoned one does not disturb the others', async () => {
    const other = gzipSync(Buffer.alloc(300_000, 'other '))
    const bad = Buffer.from(archive)
    bad[bad.length - 6] ^= 0xff
    const abandoned = new StreamVerifier('gone.tar.gz')
    await abandoned.update(archive.subarray(0, 100_000))
    abandoned.dispose()
    const [a, b, c, d] = await Promise.allSettled([
      verify(archive, {md5}, 4093),
      verify(bad, {}, 5003),
      verify(other, {}, 6007),
      verify(archive.subarray(0, -100), {}, 3001),
    ])
    expect(a.status === 'fulfilled' && a.value.inflated).to.equal(content.length)
    expect(b.status === 'rejected' && (b.reason as PbmError).code).to.equal('corrupt')
    expect(c.status === 'fulfilled' && c.value.inflated).to.equal(300_000)
    expect(d.status === 'rejected' && (d.reason as PbmError).code).to.equal('truncated')
    // After all that, a new archive verifies as the first did.
    expect((await verify(archive, {md5}, 65_536)).md5).to.equal(md5)
  })
})
