/**
 * moto_server (moto 5, `python3 -m moto.server`) on a free loopback port: a second, independent S3
 * implementation for the restore tests (presigned URLs, stages, ACLs). Any credentials are accepted.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import {setTimeout as sleep} from 'node:timers/promises'

export const MOTO_CREDENTIALS = {accessKeyId: 'testing', secretAccessKey: 'testing'}

export interface MotoServer {
  endpoint: string
  stop(): Promise<void>
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

function answers(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${endpoint}/moto-api/`, {agent: false, timeout: 1000}, (res) => {
      res.resume()
      resolve(true)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
  })
}

export async function startMotoRestore(): Promise<MotoServer> {
  const port = await freePort()
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let output = ''
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const endpoint = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  // Polling a port that has no readiness event: moto prints its banner before it binds.
  while (!(await answers(endpoint))) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${output}`)
    if (Date.now() > deadline) {
      child.kill()
      throw new Error(`moto_server did not start on ${endpoint}: ${output}`)
    }

    await sleep(100)
  }

  return {
    endpoint,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => {
        child.once('exit', resolve)
      })
      child.kill()
      await exited
    },
  }
}
