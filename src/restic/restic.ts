import {type ChildProcess, spawn} from 'node:child_process'
import {once} from 'node:events'

import {InterruptedError, PbmError, UsageError} from '../errors.js'
import {redact} from '../redact.js'

/** The oldest restic pbm drives: `backup --stdin` with `--json` summaries, repository format v2 (compression). */
export const MIN_RESTIC_VERSION = '0.14.0'

/** restic's own variables for the repository password; pbm passes them to restic and nowhere else. */
export const PASSWORD_VARIABLES = ['RESTIC_PASSWORD_FILE', 'RESTIC_PASSWORD_COMMAND', 'RESTIC_PASSWORD'] as const

export interface ResticOptions {
  /** The executable: `--restic-bin PATH`, else `restic` on PATH. */
  bin?: string
  /** The repository, as restic takes it (`/srv/vault`, `s3:https://host/bucket/path`, `sftp:...`, `rest:...`). */
  repo: string
  /** The environment restic runs with (default: ours); restic reads its password and credentials from it. */
  env?: NodeJS.ProcessEnv
  /** How long a stopped restic may take to clean up (remove its lock) before it is killed. Default 10 s. */
  stopGraceMs?: number
}

/** One snapshot, as `restic snapshots --json` lists it. */
export interface Snapshot {
  /** The full snapshot ID (64 hex digits). */
  id: string
  time: Date
  paths: string[]
  tags: string[]
  hostname: string
}

export interface BackupRequest {
  /** The one file's path inside the snapshot (`--stdin-filename`). */
  path: string
  /** The snapshot's time (`--time`). */
  time: Date
  tags: string[]
  /** Aborting stops restic before it can save a snapshot. */
  signal: AbortSignal
}

const INSTALL_HINT =
  'Install restic 0.14 or newer (Debian/Ubuntu: apt-get install restic; or https://restic.net), or give its path with --restic-bin.'

/**
 * Runs the user's `restic` against one repository (pbm's vault) and turns what it prints into typed
 * data and typed errors. restic is the storage engine; pbm never creates a repository, and what
 * restic prints passes through scrub() (no password, no credentials in a repository URL).
 */
export class Restic {
  readonly bin: string
  readonly repo: string
  private readonly env: NodeJS.ProcessEnv
  private readonly stopGraceMs: number
  private opened?: Promise<void>

  constructor(options: ResticOptions) {
    this.bin = options.bin || 'restic'
    this.repo = options.repo
    this.stopGraceMs = options.stopGraceMs ?? 10_000
    const env: NodeJS.ProcessEnv = {...(options.env ?? process.env)}
    // The repository is the one pbm was given, in the environment rather than on the command line
    // (a REST or S3 URL may carry credentials, and command lines are visible to every user).
    delete env.RESTIC_REPOSITORY_FILE
    env.RESTIC_REPOSITORY = options.repo
    // restic reads --time in local time: pbm's times are UTC.
    env.TZ = 'UTC'
    this.env = env
  }

  /** Where the vault is, for people: the repository with any user:password of a URL removed. */
  get location(): string {
    return scrubUrl(this.repo)
  }

  /**
   * Once per adapter, before any transfer: restic is there and new enough, a password is given, and
   * the repository exists and opens with it. Never creates the repository.
   */
  open(signal?: AbortSignal): Promise<void> {
    this.opened ??= this.openOnce(signal)
    return this.opened
  }

  /** The installed restic's version (`0.14.0`); a missing or too old restic is an error. */
  async version(signal?: AbortSignal): Promise<string> {
    const {stdout} = await this.run(['version'], {signal})
    const m = /restic (\d+)\.(\d+)\.(\d+)/.exec(stdout)
    if (!m) throw new PbmError('restic-unknown', `Could not tell which restic ${this.bin} is.`, {hint: INSTALL_HINT})
    const version = `${m[1]}.${m[2]}.${m[3]}`
    if (compareVersions(version, MIN_RESTIC_VERSION) < 0) {
      throw new PbmError('restic-too-old', `restic ${version} is too old: pbm needs ${MIN_RESTIC_VERSION} or newer.`, {
        hint: INSTALL_HINT,
      })
    }

    return version
  }

  /** pbm's snapshots (tagged `pbm`), in restic's order (oldest first). One call, however many there are. */
  async snapshots(signal?: AbortSignal): Promise<Snapshot[]> {
    const {stdout} = await this.run(['snapshots', '--json', '--tag', 'pbm'], {signal})
    return snapshotsFromJson(stdout)
  }

  /**
   * Start `restic backup --stdin`: the caller writes the file's content, then finish() ends restic's
   * input and waits for the snapshot, or stop() makes restic quit without one.
   */
  backup(request: BackupRequest): ResticBackup {
    const args = [
      'backup',
      '--json',
      '--quiet',
      '--stdin',
      '--stdin-filename',
      request.path,
      // Snapshots of every machine and pod look alike: pbm decides what they are from their tags.
      '--host',
      'pbm',
      '--time',
      resticTime(request.time),
      ...request.tags.flatMap((tag) => ['--tag', checkTag(tag)]),
    ]
    const child = spawn(this.bin, args, {env: this.env, stdio: ['pipe', 'pipe', 'pipe']})
    return new ResticBackup(child, request.signal, this.stopGraceMs, (out) => this.failure('backup', out))
  }

  /**
   * `restic dump SNAPSHOT PATH`: the one file's content, streamed as restic prints it (iterating pulls,
   * so restic waits while the reader does). Ends after restic exited 0; a non-zero exit (restic 0.14:
   * "non-zero if there was any error") is a typed error. An abort, or a reader that stops early, makes
   * restic quit (SIGINT, which removes its lock; SIGKILL after the grace time).
   * @yields the file's bytes, in order
   */
  async *dump(snapshot: string, file: string, signal: AbortSignal): AsyncGenerator<Buffer> {
    if (signal.aborted) throw new InterruptedError()
    const child = spawn(this.bin, ['dump', '--quiet', snapshot, file], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-8192)
    })
    const exited = new Promise<Exit>((resolve) => {
      child.once('error', (spawnError: NodeJS.ErrnoException) =>
        resolve({code: null, signal: null, stderr, stdout: '', spawnError}),
      )
      child.once('close', (code, sig) => resolve({code, signal: sig, stderr, stdout: ''}))
    })
    const stop = () => {
      stopChild(child, this.stopGraceMs, exited).catch(() => {})
    }

    signal.addEventListener('abort', stop, {once: true})
    let ended = false
    try {
      for await (const chunk of child.stdout!) {
        if (signal.aborted) break
        yield chunk as Buffer
      }

      const exit = await exited
      if (signal.aborted) throw new InterruptedError()
      if (exit.spawnError) throw this.spawnFailure(exit.spawnError)
      if (exit.code !== 0) throw this.failure('dump', exit)
      ended = true
    } finally {
      signal.removeEventListener('abort', stop)
      if (!ended) await stopChild(child, this.stopGraceMs, exited)
    }
  }

  /** Run restic with the repository; its stdout, or a typed error from what it printed. */
  async run(args: string[], options: {signal?: AbortSignal} = {}): Promise<{stdout: string; stderr: string}> {
    const {signal} = options
    if (signal?.aborted) throw new InterruptedError()
    // Without a password restic would ask for one on stdin: nothing to read there.
    const child = spawn(this.bin, args, {env: this.env, stdio: ['ignore', 'pipe', 'pipe']})
    const out = collect(child)
    const stop = () => {
      stopChild(child, this.stopGraceMs).catch(() => {})
    }

    signal?.addEventListener('abort', stop, {once: true})
    try {
      const exit = await out
      if (signal?.aborted) throw new InterruptedError()
      if (exit.spawnError) throw this.spawnFailure(exit.spawnError)
      if (exit.code !== 0) throw this.failure(args[0], exit)
      return {stdout: exit.stdout, stderr: exit.stderr}
    } finally {
      signal?.removeEventListener('abort', stop)
    }
  }

  // --- prune and verify (backup:prune --restic, backup:verify --restic) ---

  /** Every snapshot in the repository, pbm's and anyone else's (prune reports those it leaves alone). */
  async allSnapshots(signal?: AbortSignal): Promise<Snapshot[]> {
    const {stdout} = await this.run(['snapshots', '--json'], {signal})
    return snapshotsFromJson(stdout)
  }

  /**
   * `restic forget ID...`: exactly these snapshots, in one call (restic takes the exclusive lock, so
   * it fails while any other restic, such as a running mirror's backup, holds the repository). restic
   * skips an ID it does not find ("Ignoring"): those come back as already gone.
   */
  async forget(ids: readonly string[], signal?: AbortSignal): Promise<{notFound: string[]}> {
    if (ids.length === 0) return {notFound: []}
    const {stderr} = await this.run(['forget', '--', ...ids], {signal})
    const notFound = [...stderr.matchAll(/Ignoring "([\da-f]+)": no matching ID/g)].map((m) => m[1])
    return {notFound}
  }

  /** `restic prune`: frees the data no snapshot uses any more; what it freed, in restic's words. */
  async prune(signal?: AbortSignal): Promise<{freed?: string}> {
    const {stdout} = await this.run(['prune'], {signal})
    // `total prune:           6 blobs / 1.908 MiB`
    const freed = /total prune:\s+\d+ blobs \/ ([\d.]+ [KMGT]?i?B)/.exec(stdout)?.[1]
    return freed ? {freed} : {}
  }

  /**
   * `restic check`, reading a subset of the data packs back (`n/t`, `x%`) or none. A damaged repository
   * is an answer, not an error: the damaged packs' IDs and restic's words come back.
   */
  async check(readDataSubset: string | undefined, signal?: AbortSignal): Promise<ResticCheck> {
    const args = ['check', ...(readDataSubset ? ['--read-data-subset', readDataSubset] : [])]
    try {
      await this.run(args, {signal})
      return {damagedPacks: [], errors: [], ok: true}
    } catch (error) {
      const text = error instanceof ResticFailure ? this.scrub(error.exit.stderr) : undefined
      if (!text || !/repository contains errors/.test(text)) throw error
      return {...checkFindings(text), ok: false}
    }
  }

  /** The snapshots holding any blob of these packs (`restic find --pack`), by full snapshot ID. */
  async snapshotsInPacks(packs: readonly string[], signal?: AbortSignal): Promise<Map<string, string[]>> {
    const byPack = new Map<string, string[]>()
    for (const pack of packs) {
      const {stdout} = await this.run(['find', '--json', '--pack', pack], {signal})
      const found = parseJson(stdout.trim() || '[]')
      const ids = Array.isArray(found) ? found.map((f: {snapshot?: unknown}) => f?.snapshot) : []
      byPack.set(pack, [...new Set(ids.filter((id): id is string => typeof id === 'string'))])
    }

    return byPack
  }

  // --- end of prune and verify ---

  private async openOnce(signal?: AbortSignal): Promise<void> {
    await this.version(signal)
    if (!PASSWORD_VARIABLES.some((name) => this.env[name])) {
      throw new UsageError(
        `No password for the restic repository ${this.location}.`,
        'Set RESTIC_PASSWORD_FILE (a file only you can read) or RESTIC_PASSWORD_COMMAND (a secret manager), as for restic itself.',
      )
    }

    // Opens the repository (reads its config with the key): missing, wrong password or unreachable.
    await this.run(['cat', 'config'], {signal})
  }

  private spawnFailure(error: NodeJS.ErrnoException): PbmError {
    if (error.code === 'ENOENT') {
      return new PbmError('restic-missing', `restic was not found (${this.bin}).`, {hint: INSTALL_HINT})
    }

    return new PbmError('restic-failed', `Could not run restic (${this.bin}): ${error.message}`, {cause: error})
  }

  /** What restic's exit and stderr mean, in pbm's words, scrubbed. */
  failure(command: string, exit: Exit): PbmError {
    if (exit.spawnError) return this.spawnFailure(exit.spawnError)
    const text = this.scrub(exit.stderr)
    const fatal = /Fatal: (.*)/.exec(text)?.[1]?.trim()
    const detail = fatal ?? lastLine(text) ?? `exit code ${exit.code ?? exit.signal}`
    // Recognised in restic's own words (a password like "wrong" must not hide them), shown scrubbed.
    const raw = exit.stderr
    if (/Is there a repository at the following location\?/.test(raw) && REPO_MISSING.test(raw)) {
      return new PbmError('vault-missing', `There is no restic repository at ${this.location}.`, {
        hint: `pbm never creates one. If this is the right place, create it once with: restic init -r ${this.location}`,
      })
    }

    if (/wrong password or no key found/.test(raw)) {
      return new PbmError('vault-password', `The password does not open the restic repository ${this.location}.`, {
        hint: 'Check RESTIC_PASSWORD_FILE, RESTIC_PASSWORD_COMMAND or RESTIC_PASSWORD.',
      })
    }

    if (/repository is already locked/.test(raw)) {
      return new PbmError('vault-locked', `The restic repository ${this.location} is locked: ${detail}`, {
        hint: 'Another restic holds it; if none runs, `restic unlock` removes stale locks.',
      })
    }

    return new ResticFailure(`restic ${command} failed: ${detail}`, exit)
  }

  /** restic's words without secrets: no password value, no user:password in a URL, no signed query. */
  scrub(text: string): string {
    let out = text
    for (const name of ['RESTIC_PASSWORD', ...SECRET_VARIABLES]) {
      const value = this.env[name]
      if (value && value.length >= 4) out = out.split(value).join('<redacted>')
    }

    return redact(scrubUrl(out))
  }
}

/** restic exited with an error pbm has no name for; `exit` keeps what it printed (unscrubbed). */
export class ResticFailure extends PbmError {
  constructor(
    message: string,
    readonly exit: Exit,
  ) {
    super('restic-failed', message)
  }
}

/** What `restic check` found: ok, or the damaged packs (full IDs) and restic's error lines. */
export interface ResticCheck {
  ok: boolean
  damagedPacks: string[]
  errors: string[]
}

/**
 * What a failed `restic check` printed: its error lines (no progress bars, no `Fatal:`) and the IDs of
 * the packs they name (`Pack ID does not match, want <id>, got ...`, `pack <id>: ...`).
 */
export function checkFindings(stderr: string): {damagedPacks: string[]; errors: string[]} {
  const errors = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('Fatal:') && !/^\[\d+:\d+\]/.test(line))
  const named = [...stderr.matchAll(/(?:want|[Pp]ack(?: ID)?)\s+([\da-f]{64})/g)].map((m) => m[1])
  return {damagedPacks: [...new Set(named)], errors}
}

/** Backend secrets restic reads from the environment: never shown, even if restic echoed one. */
const SECRET_VARIABLES = [
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'B2_ACCOUNT_KEY',
  'AZURE_ACCOUNT_KEY',
  'AZURE_ACCOUNT_SAS',
  'GOOGLE_ACCESS_TOKEN',
  'OS_PASSWORD',
  'RESTIC_REST_PASSWORD',
]

const REPO_MISSING = /no such file or directory|does not exist|NoSuchBucket|NoSuchKey|not found|404/i

/**
 * One `restic backup --stdin` in flight. write() feeds it (a promise when the pipe is full), finish()
 * ends its input and waits for the snapshot, stop() interrupts it: restic saves a snapshot only when
 * its input ends cleanly, and on SIGINT quits without one and removes its lock (checked against
 * restic 0.14: SIGINT exits 130 with no snapshot and no lock; SIGTERM leaves a stale lock).
 */
export class ResticBackup {
  private readonly exited: Promise<Exit>
  private done = false
  private failed?: Error
  private readonly onAbort = () => {
    this.stop().catch(() => {})
  }

  constructor(
    private readonly child: ChildProcess,
    private readonly signal: AbortSignal,
    private readonly stopGraceMs: number,
    private readonly failure: (exit: Exit) => PbmError,
  ) {
    this.exited = collect(child).then((exit) => {
      this.done = true
      return exit
    })
    // A restic that quit early closes the pipe: the write fails with EPIPE, which exit() explains.
    child.stdin!.on('error', () => {})
    if (signal.aborted) this.onAbort()
    else signal.addEventListener('abort', this.onAbort, {once: true})
  }

  write(chunk: Buffer): Promise<void> | void {
    if (this.failed) return Promise.reject(this.failed)
    if (this.done) return this.exitedEarly()
    if (this.child.stdin!.write(chunk)) return
    return this.drained()
  }

  /** Resolves when restic has taken everything written so far into its pipe. */
  async drained(): Promise<void> {
    const stdin = this.child.stdin!
    if (!stdin.writableNeedDrain) return
    const exit = this.exited.then(() => 'exit' as const)
    const drain = once(stdin, 'drain').then(() => 'drain' as const)
    if ((await Promise.race([drain, exit])) === 'exit') return this.exitedEarly()
  }

  /** End restic's input: it saves the snapshot. Returns its short ID from the JSON summary. */
  async finish(): Promise<{snapshot: string; added?: number}> {
    if (this.failed) throw this.failed
    this.child.stdin!.end()
    const exit = await this.exited
    this.signal.removeEventListener('abort', this.onAbort)
    if (this.signal.aborted) throw new InterruptedError()
    if (exit.code !== 0) throw this.failure(exit)
    const summary = exit.stdout
      .split('\n')
      .map((line) => parseJson(line))
      .find((m) => m?.message_type === 'summary')
    if (typeof summary?.snapshot_id !== 'string') {
      throw new PbmError('restic-failed', 'restic backup ended without saying which snapshot it saved.')
    }

    return {
      snapshot: summary.snapshot_id,
      added: typeof summary.data_added === 'number' ? summary.data_added : undefined,
    }
  }

  /** Make restic quit without saving (SIGINT, then SIGKILL after the grace time); idempotent. */
  async stop(): Promise<void> {
    this.signal.removeEventListener('abort', this.onAbort)
    this.failed ??= new InterruptedError('restic was stopped.')
    if (this.done) return
    await stopChild(this.child, this.stopGraceMs, this.exited)
  }

  private async exitedEarly(): Promise<never> {
    const exit = await this.exited
    this.failed ??= this.signal.aborted ? new InterruptedError() : this.failure(exit)
    throw this.failed
  }
}

interface Exit {
  code: null | number
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  spawnError?: NodeJS.ErrnoException
}

/** What a child prints and how it ends; stdout whole (JSON), stderr's last 8 KiB. */
function collect(child: ChildProcess): Promise<Exit> {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    stdout += s
  })
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-8192)
  })
  return new Promise((resolve) => {
    child.once('error', (spawnError: NodeJS.ErrnoException) =>
      resolve({code: null, signal: null, stdout, stderr, spawnError}),
    )
    child.once('close', (code, signal) => resolve({code, signal, stdout, stderr}))
  })
}

async function stopChild(child: ChildProcess, graceMs: number, exited?: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = exited ?? once(child, 'close')
  child.kill('SIGINT')
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs)
  })
  if ((await Promise.race([gone, late])) === 'late') {
    child.kill('SIGKILL')
    await gone
  }

  clearTimeout(timer)
}

/** `restic snapshots --json` as data; anything unexpected is an error, not an empty vault. */
export function snapshotsFromJson(stdout: string): Snapshot[] {
  const parsed = parseJson(stdout.trim() || '[]')
  if (!Array.isArray(parsed)) throw new PbmError('restic-failed', 'restic snapshots did not print a JSON list.')
  return parsed.map((s: Record<string, unknown>) => {
    if (typeof s?.id !== 'string' || typeof s.time !== 'string') {
      throw new PbmError('restic-failed', 'restic snapshots printed a snapshot without id or time.')
    }

    return {
      id: s.id,
      time: new Date(s.time),
      paths: Array.isArray(s.paths) ? s.paths.map(String) : [],
      tags: Array.isArray(s.tags) ? s.tags.map(String) : [],
      hostname: typeof s.hostname === 'string' ? s.hostname : '',
    }
  })
}

/** `2024-05-01 03:12:44`, read by restic in the TZ it runs with (UTC). */
export function resticTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ')
}

/** restic splits --tag values on commas: a tag with one would become two. */
function checkTag(tag: string): string {
  if (tag.includes(',') || tag.trim() === '') throw new PbmError('invalid-tag', `Not a restic tag: "${tag}".`)
  return tag
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0)
  return 0
}

/** `scheme://user:password@host` -> `scheme://host`, wherever it appears. */
export function scrubUrl(text: string): string {
  return text.replaceAll(/(\b[a-z][\d+.a-z-]*:\/\/)[^\s/@]+@/gi, '$1')
}

function lastLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .reverse()
    .find(Boolean)
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function parseJson(text: string): any {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
