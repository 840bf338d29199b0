import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

/** The password tests use; asserted never to appear in pbm's output. */
export const VAULT_PASSWORD = 'correct-horse-battery-staple-42'

/** Fail loudly (not skip) when restic is missing: .ci/run installs Debian's. */
export function requireRestic(): void {
  const r = spawnSync('restic', ['version'], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`restic is required for these tests: ${r.error?.message ?? r.stderr}`)
}

export interface TestVault {
  repo: string
  /** What pbm and restic need to open it: the password file (and, for S3, the backend's credentials). */
  env: Record<string, string>
  /** `restic <args>` against the vault, as a person would run it; throws on a non-zero exit. */
  restic(...args: string[]): string
  /** `restic dump SNAPSHOT PATH`: the file's bytes. */
  dump(snapshot: string, file: string): Buffer
  /** pbm's snapshots, as restic lists them. */
  snapshots(): Array<{id: string; short_id: string; paths: string[]; tags: string[]; time: string}>
}

/**
 * `restic init` a new repository (a folder by default, or e.g. `s3:http://127.0.0.1:PORT/bucket`),
 * with the password in a 0600 file, as the README tells people to do.
 */
export function initVault(repo?: string, env: Record<string, string> = {}): TestVault {
  requireRestic()
  const dir = mkdtempSync(path.join(tmpdir(), 'pbm-vault-'))
  const passwordFile = path.join(dir, 'password')
  writeFileSync(passwordFile, VAULT_PASSWORD, {mode: 0o600})
  const location = repo ?? path.join(dir, 'repo')
  const vaultEnv = {...env, RESTIC_PASSWORD_FILE: passwordFile}
  const bytes = (...args: string[]): Buffer => {
    const r = spawnSync('restic', ['-r', location, ...args], {
      env: {...process.env, ...vaultEnv, RESTIC_CACHE_DIR: path.join(dir, 'cache')},
      maxBuffer: 1024 * 1024 * 1024,
    })
    if (r.status !== 0) throw new Error(`restic ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
    return r.stdout
  }

  const run = (...args: string[]): string => bytes(...args).toString('utf8')

  run('init')
  return {
    dump: (snapshot, file) => bytes('dump', snapshot, file),
    env: vaultEnv,
    repo: location,
    restic: run,
    snapshots: () => JSON.parse(run('snapshots', '--json', '--tag', 'pbm')),
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Resolves when a process that is not our child has exited (gone, or a zombie awaiting its reaper). */
export async function exited(pid: number): Promise<void> {
  const stat = `/proc/${pid}/stat`
  while (existsSync(stat) && !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'))) {
    await new Promise((resolve) => {
      setTimeout(resolve, 20)
    })
  }
}
