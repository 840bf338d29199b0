/**
 * moto for the presign and restore tests: test/helpers/moto.ts's server, with `stop()`; and a gate, a
 * loopback proxy in front of it that holds one chosen request until the test releases it, so that a
 * test can change the bucket at an exact point of a run (after verification, before Pantheon's fetch)
 * without guessing at timings.
 */
import http from 'node:http'

import {startMoto} from './moto.js'

export {MOTO_CREDENTIALS} from './moto.js'

export interface MotoServer {
  endpoint: string
  stop(): Promise<void>
}

export async function startMotoRestore(): Promise<MotoServer> {
  const moto = await startMoto()
  return {endpoint: moto.endpoint, stop: () => moto.close()}
}

/** What the gate sees of a request: its method, path (`/bucket/key`, decoded) and query. */
export interface GateRequest {
  method: string
  path: string
  query: URLSearchParams
}

export interface Gate {
  /** Point pbm (and Pantheon's presigned URLs) here. */
  endpoint: string
  /**
   * Hold the `nth` request (1 = the next) that `match` accepts; resolves when it has arrived and is
   * held. Only one hold at a time.
   */
  hold(match: (req: GateRequest) => boolean, nth?: number): Promise<GateRequest>
  /** Let the held request through to the server. */
  release(): void
  close(): Promise<void>
}

export async function startGate(target: string): Promise<Gate> {
  const targetUrl = new URL(target)
  let armed: {match: (req: GateRequest) => boolean; left: number; arrived: (req: GateRequest) => void} | undefined
  let held: (() => void) | undefined
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://gate')
    const seen: GateRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
    }
    const forward = () => {
      // The Host header stays as signed (moto does not check signatures, but the URL stays intact).
      const upstream = http.request(
        {headers: req.headers, host: targetUrl.hostname, method: req.method, path: req.url, port: targetUrl.port},
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.pipe(res)
        },
      )
      upstream.on('error', (error) => {
        if (!res.headersSent) res.writeHead(502)
        res.end(String(error))
      })
      req.pipe(upstream)
    }

    if (armed?.match(seen) && --armed.left === 0) {
      const {arrived} = armed
      armed = undefined
      held = forward
      arrived(seen)
      return
    }

    forward()
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as {port: number}
  return {
    async close() {
      held?.()
      server.closeAllConnections()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
      })
    },
    endpoint: `http://127.0.0.1:${port}`,
    hold(match, nth = 1) {
      if (armed || held) throw new Error('the gate already holds (or waits for) a request')
      return new Promise<GateRequest>((resolve) => {
        armed = {arrived: resolve, left: nth, match}
      })
    },
    release() {
      const go = held
      held = undefined
      go?.()
    },
  }
}
