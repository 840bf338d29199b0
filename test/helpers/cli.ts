/**
 * Runs the built CLI (bin/run.js over dist/, as a user would) against the sandbox's terminus and a
 * real local S3 server. One World per suite: a sandbox, an s3rver with a bucket, and the environment
 * a child `pbm` needs to reach both.
 */
import {execa, type Result} from 'execa'
import {createHash} from 'node:crypto'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {createSandbox, type Sandbox, type SandboxSpec} from '../../sandbox/index.js'
import {S3RVER_ENV, type S3Server, startS3rver} from './s3.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const PBM = path.join(ROOT, 'bin', 'run.js')

export interface World {
  sandbox: Sandbox
  s3: S3Server
  bucket: string
  /** A fresh temp folder, removed by close(). */
  tmp: string
  /** The environment of a child pbm: sandbox terminus, S3 endpoint and credentials, no colour. */
  env: Record<string, string>
  pbm(
    args: string[],
    options?: {
      env?: Record<string, string | undefined>
      input?: string
      /** Flags for node itself, before bin/run.js (NODE_OPTIONS would reach the sandbox's terminus too). */
      node?: string[]
      timeout?: number
    },
  ): Promise<Result>
  close(): Promise<void>
}

/** A date `days` before now, so that sandbox backups are not past their expiry. */
export function daysAgo(days: number, hour = 3): string {
  const d = new Date(Date.now() - days * 86_400_000)
  d.setUTCHours(hour, 0, 0, 0)
  return d.toISOString()
}

export async function startWorld(spec: SandboxSpec, options: {bucket?: string} = {}): Promise<World> {
  const sandbox = await createSandbox(spec)
  const s3 = await startS3rver()
  const bucket = options.bucket ?? 'pbm-test'
  await s3.createBucket(bucket)
  const tmp = await mkdtemp(path.join(tmpdir(), 'pbm-cli-'))
  const env: Record<string, string> = {
    ...S3RVER_ENV,
    ...sandbox.env,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    COLUMNS: '160',
    NO_COLOR: '1',
    PBM_ENDPOINT: s3.endpoint,
    PBM_TERMINUS: sandbox.terminusPath,
  }
  return {
    bucket,
    async close() {
      await Promise.allSettled([sandbox.close(), s3.stop(), rm(tmp, {force: true, recursive: true})])
    },
    env,
    pbm(args, opts = {}) {
      return execa(process.execPath, [...(opts.node ?? []), PBM, ...args], {
        cwd: tmp,
        // The child runs the built dist/ like an installed pbm: no dev-mode TypeScript loading.
        env: {...childEnv(), ...env, ...opts.env},
        extendEnv: false,
        input: opts.input ?? '',
        reject: false,
        timeout: opts.timeout ?? 120_000,
      })
    },
    s3,
    sandbox,
    tmp,
  }
}

/** The parent's environment minus what would change how the child behaves. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue
    if (/^(AWS_|PBM_|TERMINUS_|NODE_ENV$|NODE_OPTIONS$|DEBUG$)/.test(key)) continue
    env[key] = value
  }

  env.CI = 'true'
  return env
}

/** The parsed --json document of a run (stdout). */
export function json<T = Record<string, unknown>>(result: Result): T {
  try {
    return JSON.parse(String(result.stdout)) as T
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.exitCode}):\n${result.stdout}\n--- stderr:\n${result.stderr}`)
  }
}

export function md5(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex')
}

/** Files under a folder, relative, with `/` separators, sorted; none when it does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, {recursive: true, withFileTypes: true}).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return []
    throw error
  })
  // pbm's own side files (completion records, locks) are not archives.
  return entries
    .filter((e) => e.isFile() && !/^\.[^/]+\.pbm\.(json|lock)$/.test(e.name))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort()
}
