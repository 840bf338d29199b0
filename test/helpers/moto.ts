import {CreateBucketCommand, S3Client} from '@aws-sdk/client-s3'
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import net from 'node:net'

/** moto accepts any credentials; these keep the SDK from looking further. */
export const MOTO_CREDENTIALS = {accessKeyId: 'testing', secretAccessKey: 'testing'}

export interface MotoServer {
  endpoint: string
  close(): Promise<void>
}

/** Fail loudly (not skip) when moto is missing: the orphan, checksum and SSE tests need it. */
export function requireMoto(): void {
  const r = spawnSync('python3', ['-c', 'import moto, flask'], {encoding: 'utf8'})
  if (r.status !== 0) {
    throw new Error(
      `moto_server is required for these tests (python3 -m moto.server): ${r.stderr || r.error?.message}\n` +
        'Install it with: pip install "moto[server]"',
    )
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => {
    server.close(() => resolve())
  })
  return port
}

/** Start `python3 -m moto.server` on a free loopback port and wait until it answers HTTP. */
export async function startMoto(): Promise<MotoServer> {
  requireMoto()
  const port = await freePort()
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const endpoint = `http://127.0.0.1:${port}`
  const exited = new Promise<never>((_resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`moto_server exited (${code}): ${stderr}`)))
  })
  for (let i = 0; i < 300; i++) {
    const up = await Promise.race([
      fetch(`${endpoint}/moto-api/`).then(
        () => true,
        () => false,
      ),
      exited,
    ])
    if (up) break
    if (i === 299) throw new Error(`moto_server did not answer on ${endpoint}: ${stderr}`)

    await new Promise((resolve) => {
      setTimeout(resolve, 50)
    })
  }

  exited.catch(() => {})
  return {
    endpoint,
    async close() {
      if (child.exitCode !== null) return
      const gone = new Promise((resolve) => {
        child.once('exit', resolve)
      })
      child.kill('SIGTERM')
      await gone
    },
  }
}

/** A plain SDK client of this moto server (path-style, us-east-1), with `bucket` created in it. */
export async function motoBucket(moto: MotoServer, bucket: string): Promise<S3Client> {
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: MOTO_CREDENTIALS,
  })
  await s3.send(new CreateBucketCommand({Bucket: bucket}))
  return s3
}
