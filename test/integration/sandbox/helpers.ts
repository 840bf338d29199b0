import {execa} from 'execa'
import http from 'node:http'

import type {Sandbox} from '../../../sandbox/index.js'

export interface RunResult {
  exitCode: number
  stderr: string
  stdout: string
}

/** Run the sandbox's terminus stand-in as a child process, as pbm does. */
export async function terminus(sb: Sandbox, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const r = await execa(sb.terminusPath, args, {
    env: {...sb.env, COLUMNS: '120', ...env},
    reject: false,
    stripFinalNewline: false,
  })
  return {exitCode: r.exitCode ?? -1, stderr: String(r.stderr), stdout: String(r.stdout)}
}

export interface GetResult {
  body: Buffer
  /** Set when the connection ended before Content-Length bytes (or was reset). */
  error?: string
  headers: http.IncomingHttpHeaders
  status: number
}

/** A raw GET that reports exactly what came over the wire, including a short or aborted body. */
export function get(
  url: string,
  headers: Record<string, string> = {},
  onData?: (chunk: Buffer) => void,
): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, {agent: false, headers}, (res) => {
      const chunks: Buffer[] = []
      let error: string | undefined
      res.on('data', (c: Buffer) => {
        if (onData) onData(c)
        else chunks.push(c)
      })
      res.on('aborted', () => {
        error = 'aborted'
      })
      res.on('error', (error_: Error) => {
        error = error_.message
      })
      res.on('close', () => {
        if (!res.complete && !error) error = 'incomplete'
        resolve({body: Buffer.concat(chunks), error, headers: res.headers, status: res.statusCode ?? 0})
      })
    })
    req.on('error', reject)
  })
}
