// Type declarations for the sandbox's programmatic API (sandbox/index.js).

export type SandboxElement = 'code' | 'files' | 'database'

/**
 * A fault on one archive file. Limits by body bytes (`dropAfter`, `expireAfter`) count the bytes of each
 * response's body; offsets (`truncateAt`, `corruptAt`) are absolute positions in the archive. Each of
 * these hits `times` responses (default 1; `Infinity` for always), counting only responses where it
 * actually triggers. `status5xxOnce` answers the next request with that status; `rateBytesPerSec`
 * throttles every response while the fault is set.
 */
export interface SandboxFault {
  /** Destroy the socket after N body bytes of a response. */
  dropAfter?: number
  /** Send the usual Content-Length, but end the body cleanly (FIN) at absolute offset N. */
  truncateAt?: number
  /** Flip the byte at absolute offset N (headers and X-Goog-Hash still describe the good content). */
  corruptAt?: number
  /** After N body bytes, drop the connection and make the URL used answer 400 ExpiredToken from then on. */
  expireAfter?: number
  /** How many responses dropAfter/truncateAt/corruptAt/expireAfter/stallAfter hit (default 1). */
  times?: number
  /** Answer the next request with this status (e.g. 503) and a GCS XML error body. */
  status5xxOnce?: number
  /** After N body bytes, stop sending but keep the connection open (a server gone silent mid-body). */
  stallAfter?: number
  /** Throttle every response of this archive to about N bytes per second. */
  rateBytesPerSec?: number
}

export interface SandboxBackupSpec {
  /** ISO date or epoch seconds: the backup's start (folder and filename time). Default: now. */
  date?: string | number
  initiator?: 'manual' | 'automated'
  /** Default: all three. `db` is accepted for `database`. */
  elements?: Array<SandboxElement | 'db'>
  /** Exact archive sizes in bytes (defaults: code 6144, files 12288, database 3072). */
  sizes?: Partial<Record<SandboxElement, number>>
  keepForDays?: number
  /** Name without `_<env>`, as very old backups. */
  oldFilename?: boolean
  faults?: Partial<Record<SandboxElement | 'db', SandboxFault>>
}

/**
 * Successive nights of one site.env (sandbox/lib/evolving.js): one automated backup set a night, at
 * `first` + (k - 1) days, whose content is a deterministic function of (seed, k) and the sizes. files: a
 * ustar tar of media files of 100 KB-5 MB (stored deflate: incompressible), ~`filesBytes` on night 1, of
 * which each later night changes or adds `changeRate` (a fraction drawn per night in [min, max]);
 * database: a SQL dump (mysqldump's shape, four tables) of ~`databaseBytes`, where each later night
 * rewrites a few rows in a few tables and appends rows. code stays the plain archive of 6144 bytes.
 */
export interface SandboxEvolving {
  seed: string | number
  /** The night the sandbox starts on (default 1); `sb.setNight()` moves it. */
  night?: number
  /** Night 1's time, ISO or epoch seconds. Default `2026-11-01T03:00:00Z`. */
  first?: string | number
  /** Default 1e9. */
  filesBytes?: number
  /** Default 1e8. */
  databaseBytes?: number
  /** Fraction of the media files changed or added a night, drawn in [min, max]. Default [0.01, 0.03]. */
  changeRate?: [number, number]
  /** backup:list shows the sets of the newest N nights (default: every night up to the current one). */
  keepNights?: number
}

export interface SandboxEnvSpec {
  name: string
  /** Nights of an evolving site: their automated sets are listed beside `backups`. */
  evolving?: SandboxEvolving
  initialized?: boolean
  locked?: boolean
  backups?: SandboxBackupSpec[]
  /** import:database / import:files into this environment fail with this workflow message (or per element). */
  importFails?: string | Partial<Record<'database' | 'db' | 'files', string>>
}

export interface SandboxSiteSpec {
  name: string
  id?: string
  plan?: string
  framework?: string
  frozen?: boolean
  org?: string
  tags?: string[]
  region?: string
  created?: string | number
  /** backup:create fails with this message. */
  createFails?: string
  /** Default: dev, test, live without backups. */
  envs?: SandboxEnvSpec[]
}

/**
 * Pantheon's throttling: at most `calls` API-using terminus commands in any sliding window of
 * `windowMs`, shared by every process using the sandbox (`auth:whoami`/`auth:logout` never count).
 * A refused call prints what that Terminus generation prints and exits 1 (see sandbox/lib/throttle.js):
 * `retries` (3.x/4.x, default) `HTTP request has failed with error "Maximum retry attempts reached".`,
 * `guzzle` (1.x/2.x) a boxed `429 Too Many Requests` Guzzle message, `slow-your-roll` the historic
 * 403. The environment variable PBM_SANDBOX_THROTTLE=`CALLS/WINDOW[:WORDING]` (e.g. `5/1s`) overrides it.
 */
export interface SandboxThrottle {
  calls: number
  windowMs: number
  wording?: 'retries' | 'guzzle' | 'slow-your-roll'
}

/** One terminus command, as the stand-in's call log (`calls.log`) recorded it when it ended. */
export interface SandboxCall {
  /** Epoch ms when it ended. */
  time: number
  pid: number
  /** Canonical command name (aliases resolved), e.g. `backup:list`; `--version` for `terminus --version`. */
  command: string
  /** Its positional argument (`site.env`, site or org), if any. */
  target: string | null
  exitCode: number
  /** Refused by the throttle. */
  throttled: boolean
  /** The names of the environment variables the process was given, sorted (which ones reached Terminus). */
  env: string[]
}

export interface SandboxSpec {
  throttle?: SandboxThrottle
  /**
   * The Terminus version impersonated (`terminus --version`), default `3.6.1`. Before 3.5 a failed
   * backup:create or import prints the success notice and exits 0; 3.6+ (and 4.x) add the telemetry line
   * when `telemetryFails`. PBM_SANDBOX_TERMINUS_VERSION overrides it for the processes given it.
   */
  terminusVersion?: string
  /**
   * 3.6+: every command's telemetry post (`/api/track`) fails: ~106 s (times `latencyScale`) after the
   * command, an ` [error]  HTTP request POST https://terminus.pantheon.io/api/track has failed ... ` line,
   * exit code unchanged. Default false; PBM_SANDBOX_TELEMETRY_FAILS=1 overrides it.
   */
  telemetryFails?: boolean
  /**
   * Where real Terminus retries silently for ~106 s (a throttled call, a failed telemetry post), the
   * stand-in waits 106 s times this. Default 0 (answers at once); PBM_SANDBOX_LATENCY_SCALE overrides it.
   */
  latencyScale?: number
  user?: {email?: string; token?: string; id?: string}
  loggedIn?: boolean
  latencyMs?: number
  createMs?: number
  urlLifetimeSec?: number
  /** Pantheon's size limit for imports through a URL. Default 500 MiB. */
  importLimitBytes?: number
  /** How long an import workflow takes. Default 0. */
  importMs?: number
  orgs?: Array<{name: string; id?: string}>
  sites: SandboxSiteSpec[]
}

export interface SandboxArchive {
  site: string
  env: string
  /** `<epoch>_<backup|automated>` */
  folder: string
  /** Catalog ID: `<folder>_<element>` */
  id: string
  file: string
  element: SandboxElement
  /** Exact bytes. */
  size: number
  /** Finish time as backup:list shows it (float epoch). */
  date: number
  expiry: number | null
  initiator: 'manual' | 'automated'
  /** Hex MD5 of the served bytes (computed on first access for big archives, then cached). */
  readonly md5: string
  /** Base64 CRC32C as in X-Goog-Hash. */
  readonly crc32c: string
}

export interface SandboxStats {
  requests: number
  bytesServed: number
  statuses: number[]
  ranges: string[]
}

/** One import recorded by the stand-in's import:database / import:files. */
export interface SandboxImport {
  element: 'database' | 'files'
  /** Hex MD5 of the bytes fetched from the URL. */
  md5: string
  size: number
  /**
   * Hex SHA-256 of the archive's content (what the gzip inflates to): Pantheon imports any valid archive,
   * so a re-compressed one (a vault's restore) is the same import when this is the same.
   */
  contentSha256: string
  /** ISO time of the import. */
  at: string
  /** The workflow's ID (a UUID). */
  workflow: string
  /** The URL's origin and path (its query string, a signature, is never recorded). */
  source: string
}

export declare class Sandbox {
  readonly dir: string
  /** `<dir>/bin/terminus`: the stand-in bound to this sandbox's state; it needs no environment variable. */
  readonly terminusPath: string
  /** For the unbound stand-in (the exported `terminusPath`), which finds its state through this variable. */
  readonly env: {PBM_SANDBOX_DIR: string}
  readonly serverUrl: string
  archives(): SandboxArchive[]
  archive(file: string): SandboxArchive
  /** A freshly signed URL (as backup:get prints), without spawning terminus. */
  url(file: string, options?: {expires?: number; lifetimeSec?: number}): string
  /** The archive's bytes, generated in chunks, without the server. */
  bytes(file: string): Generator<Buffer>
  /** The archive's content as gunzip gives it (the tar or the SQL), generated in chunks. */
  content(file: string): Generator<Buffer>
  /**
   * Move an evolving env to `night`: backup:list then shows its automated sets of nights 1..night (or
   * the newest `keepNights`); other backups stay. Returns the night sets now listed.
   */
  setNight(site: string, env: string, night: number): Promise<SandboxArchive[]>
  stats(file: string): SandboxStats
  resetStats(): void
  /** Resolves once `bytes` body bytes of `file` (null: all archives together) were served since the last resetStats() (an event, not a poll). */
  waitServed(file: null | string, bytes: number): Promise<void>
  setFault(file: string, fault: SandboxFault): void
  /** Clears faults and URLs revoked by expireAfter. */
  clearFaults(): void
  setLoggedIn(loggedIn: boolean): void
  /**
   * Pantheon no longer has the site (or, given `env`, that environment of it): terminus answers as for
   * an unknown one. archives() no longer lists its backups (read it before).
   */
  removeSite(site: string, env?: string): void
  setLatency(ms: number): void
  setCreateMs(ms: number): void
  /** The Terminus version impersonated, e.g. `3.4.0`, `3.6.1`, `4.0.0` (see SandboxSpec.terminusVersion). */
  setTerminusVersion(version: string): void
  /** 3.6+: the telemetry post of every command fails (see SandboxSpec.telemetryFails). */
  setTelemetryFails(fails: boolean): void
  /** Scale of real Terminus' ~106 s of silent retries (see SandboxSpec.latencyScale). */
  setLatencyScale(scale: number): void
  /** Set or clear (null) the throttle; clearing also forgets the calls counted so far. */
  setThrottle(config: SandboxThrottle | null): void
  /** Every terminus command run so far (refused ones included), in the order they ended. */
  calls(): SandboxCall[]
  /** Commands run so far, per command name. */
  callCounts(): Record<string, number>
  resetCalls(): void
  /** What import:database / import:files imported into SITE.ENV, oldest first. */
  imports(site: string, env: string): SandboxImport[]
  /** The next imports into SITE.ENV (or only of `element`) fail with this workflow message; null: succeed. */
  setImportFails(site: string, env: string, message: string | null, element?: 'database' | 'files'): void
  /** Pantheon's size limit for imports through a URL. */
  setImportLimit(bytes: number): void
  /** How long an import workflow takes. */
  setImportMs(ms: number): void
  close(): Promise<void>
}

/** The unbound stand-in: it finds its state through $PBM_SANDBOX_DIR (a shell after `sandbox up`). */
export declare const terminusPath: string

export declare function createSandbox(spec: SandboxSpec, options?: {dir?: string}): Promise<Sandbox>
