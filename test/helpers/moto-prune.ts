/**
 * A moto S3 server (`python3 -m moto.server`) for the prune/inventory tests and bench: moto implements
 * versioning, delete markers and Object Lock, which s3rver does not. Started on a free port, stopped
 * by its pid. (test/helpers/moto.ts is another helper's general starter; this one is prune's own.)
 */
import type {S3Client} from '@aws-sdk/client-s3'

import {type ChildProcess, spawn} from 'node:child_process'
import net from 'node:net'

import {createS3Client} from '../../src/destination/s3-client.js'

export const MOTO_CREDENTIALS = {accessKeyId: 'testing', secretAccessKey: 'testing'}

export interface PruneMoto {
  endpoint: string
  client(): Promise<S3Client>
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto exited (${child.exitCode}): ${output()}`)

    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`moto did not listen on ${port}: ${output()}`)

    await new Promise((resolve) => {
      setTimeout(resolve, 100)
    })
  }
}

export async function startPruneMoto(): Promise<PruneMoto> {
  const port = await freePort()
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, PYTHONUNBUFFERED: '1'},
  })
  let out = ''
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-4000)
  }

  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  await waitForPort(port, child, () => out)
  const endpoint = `http://127.0.0.1:${port}`
  let clientPromise: Promise<S3Client> | undefined
  return {
    endpoint,
    client() {
      clientPromise ??= createS3Client({endpoint, credentials: MOTO_CREDENTIALS, region: 'us-east-1'})
      return clientPromise
    },
    async stop() {
      if (clientPromise) (await clientPromise).destroy()
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => {
          child.once('exit', resolve)
        })
        child.kill()
        await exited
      }
    },
  }
}
