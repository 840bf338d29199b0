import createDebug from 'debug'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {normalizeElement} from '../catalog/element.js'
import {backupsFromList} from '../catalog/list.js'
import {isSiteName, printable} from '../catalog/names.js'
import {type Backup, type Element} from '../catalog/types.js'
import {InterruptedError} from '../errors.js'
import {redact, redactUrl} from '../redact.js'
import {createLimit, type Limit} from '../util/limit.js'
import {TerminusBudget} from './budget.js'
import {errorFromFailedCall, INSTALL_HINT, TerminusError, UPGRADE_HINT, withoutTelemetry} from './errors.js'
import {
  environmentsFromList,
  parseTerminusVersion,
  reportsWorkflowFailures,
  sitesFromList,
  type TerminusVersion,
} from './parse.js'
import {type Environment, type Site} from './types.js'

const log = createDebug('pbm:terminus')

export interface TerminusOptions {
  /** The executable: `--terminus PATH` / `PBM_TERMINUS`, else `terminus` on PATH. */
  bin?: string
  /** Working directory for Terminus, which reads a `.env` from it. Default: a private empty temp dir. */
  cwd?: string
  /**
   * Extra environment for Terminus, set as given. Of our own environment only what Terminus needs passes
   * (terminusEnvironment(): PATH, HOME, TERMINUS_* ...).
   */
  env?: Record<string, string | undefined>
  /**
   * Per call, except backup:create and imports (`--terminus-timeout` / PBM_TERMINUS_TIMEOUT). Default
   * 300 s: Terminus itself retries a throttled request for ~106 s before it says anything.
   */
  timeoutMs?: number
  /** For backup:create, which waits for Pantheon's workflow with no limit of its own. Default 30 min. */
  createTimeoutMs?: number
  /** For import:database / import:files, which wait for Pantheon's workflow. Default 60 min. */
  importTimeoutMs?: number
  /** Concurrent Terminus calls other than backup:create. Default 4. */
  concurrency?: number
  /** Concurrent backup:create calls, limited apart so that long waits do not starve lookups. Default 8. */
  createConcurrency?: number
  /**
   * Shared by every call (creates included): `--terminus-rate` and the pauses when Pantheon throttles.
   * Default: no rate, pauses with the default back-off.
   */
  budget?: TerminusBudget
  /** Told once, at the first call, of what pbm kept from Terminus and why (TERMINUS_HTTP_MAX_RETRIES). */
  onWarning?: (message: string) => void
}

export interface CallOptions {
  signal?: AbortSignal
  /** Overrides the adapter's timeout for this call. */
  timeoutMs?: number
}

export interface BackupUrlOptions extends CallOptions {
  element: Element | 'db'
  /** An exact filename or catalog ID; without it Terminus picks the newest of `element`. */
  file?: string
}

export interface CreateBackupOptions extends CallOptions {
  /** Default `all`. */
  element?: 'all' | Element | 'db'
  keepForDays?: number
  /** How often Terminus polls the workflow (TERMINUS_WORKFLOW_POLLING_DELAY_MS). */
  pollingDelayMs?: number
}

export interface ImportOptions extends CallOptions {
  /** How often Terminus polls the import workflow (TERMINUS_WORKFLOW_POLLING_DELAY_MS). */
  pollingDelayMs?: number
}

interface Call extends CallOptions {
  command: string
  /** Options, before `--`. */
  options?: string[]
  /** Values from users or from Terminus output, after `--` so none can pass for an option. */
  positionals?: string[]
  env?: Record<string, string | undefined>
  limit: Limit
  /** For wording errors. */
  site?: string
  siteEnv?: string
  file?: string
  /** Removes secrets that the call carries (a presigned URL) from everything Terminus prints. */
  scrub?: (text: string) => string
  /**
   * A timeout after no output at all is likely Terminus retrying a throttled request: try once more
   * through the budget's back-off. Not for calls that wait on a workflow (they are silent by nature).
   */
  retryWhenSilent?: boolean
  /** Outside the budget: a call that reaches no API (`--version`). */
  local?: boolean
}

interface CallResult {
  stdout: string
  stderr: string
}

export const DEFAULT_TIMEOUT_MS = 300_000
export const DEFAULT_CREATE_TIMEOUT_MS = 30 * 60_000
/** A backup confirmed by the list (Terminus < 3.5) may carry Pantheon's clock: allow it to differ this much. */
const CREATE_CLOCK_SKEW_MS = 60_000
/** import:database / import:files wait for Pantheon's workflow with no limit of their own. */
export const DEFAULT_IMPORT_TIMEOUT_MS = 60 * 60_000

/** Runs the user's `terminus` and turns what it prints into typed data and typed errors. */
export class Terminus {
  readonly bin: string
  private readonly options: TerminusOptions
  private readonly callLimit: Limit
  private readonly createLimit: Limit
  readonly budget: TerminusBudget
  private versionAsked?: Promise<TerminusVersion | undefined>
  private warned = false

  constructor(options: TerminusOptions = {}) {
    this.options = options
    this.bin = options.bin || 'terminus'
    this.budget = options.budget ?? new TerminusBudget()
    this.callLimit = createLimit(options.concurrency ?? 4)
    this.createLimit = createLimit(options.createConcurrency ?? 8)
  }

  /**
   * The version of this Terminus (`terminus --version`), asked once per adapter (one run) and only when
   * something depends on it; undefined when it printed something else.
   */
  async version(options: CallOptions = {}): Promise<TerminusVersion | undefined> {
    // It reaches no API: quick, but given room on a loaded machine whatever the lookups' timeout.
    const timeoutMs = Math.max(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 30_000)
    this.versionAsked ??= this.run({command: '--version', limit: this.callLimit, local: true, timeoutMs})
      .then(({stdout}) => parseTerminusVersion(stdout))
      .catch((error: unknown) => {
        // Asked again next time: a run stopped by the user or a missing binary must not stick.
        this.versionAsked = undefined
        throw error
      })
    const asked = this.versionAsked
    options.signal?.throwIfAborted()
    return asked
  }

  /**
   * Refuses (`terminus-too-old`) when this Terminus cannot tell a failed import from a good one: before
   * 3.5 a failed import workflow prints the success notice and exits 0. Call it before changing anything.
   */
  async requireReliableImports(options: CallOptions = {}): Promise<void> {
    const version = await this.version(options)
    if (reportsWorkflowFailures(version)) return
    throw new TerminusError(
      'terminus-too-old',
      `pbm does not import with Terminus ${version ? version.text : '(version unknown)'}: before 3.5, Terminus reports a failed import as a success, so a broken restore could not be told from a good one.`,
      {hint: UPGRADE_HINT},
    )
  }

  async listSites(options: CallOptions = {}): Promise<Site[]> {
    const json = await this.runJson({...options, command: 'site:list', limit: this.callLimit})
    return sitesFromList(json)
  }

  async listOrgSites(org: string, tag?: string, options: CallOptions = {}): Promise<Site[]> {
    const json = await this.runJson({
      ...options,
      command: 'org:site:list',
      options: tag ? [`--tag=${tag}`] : [],
      positionals: [org],
      limit: this.callLimit,
    })
    return sitesFromList(json)
  }

  async listEnvironments(site: string, options: CallOptions = {}): Promise<Environment[]> {
    checkName(site, 'site')
    const json = await this.runJson({...options, command: 'env:list', positionals: [site], site, limit: this.callLimit})
    return environmentsFromList(json)
  }

  /** Every finished backup of SITE.ENV, unsorted (the catalog groups and sorts). */
  async listBackups(site: string, env: string, options: CallOptions = {}): Promise<Backup[]> {
    const siteEnv = joinSiteEnv(site, env)
    const json = await this.runJson({
      ...options,
      command: 'backup:list',
      positionals: [siteEnv],
      site,
      siteEnv,
      limit: this.callLimit,
    })
    try {
      return backupsFromList(site, env, json)
    } catch (error) {
      throw new TerminusError(
        'failed',
        `terminus backup:list ${siteEnv} printed something other than a list of backups.`,
        {cause: error},
      )
    }
  }

  /**
   * A freshly signed URL for one archive (each call signs a new one). `element` is always passed:
   * without it Terminus would pick `files`.
   */
  async backupUrl(site: string, env: string, options: BackupUrlOptions): Promise<string> {
    const siteEnv = joinSiteEnv(site, env)
    const element = normalizeElement(options.element)
    const {stdout} = await this.run({
      ...options,
      command: 'backup:get',
      options: [...(options.file === undefined ? [] : [`--file=${options.file}`]), `--element=${element}`],
      positionals: [siteEnv],
      site,
      siteEnv,
      file: options.file,
      limit: this.callLimit,
      retryWhenSilent: true,
    })
    // PHP notices and deprecations can land on stdout before the URL: take the last line that is one.
    const url = stdout
      .split('\n')
      .map((line) => line.trim())
      .reverse()
      .find((line) => /^https?:\/\/\S+$/.test(line))
    if (!url) {
      // Whatever it printed may hold a URL's path (site ID, folder): say what it was, not what it said.
      throw new TerminusError(
        'failed',
        `terminus backup:get ${siteEnv} printed no URL (${stdout.length} characters of other output).`,
      )
    }

    return url
  }

  /**
   * Run backup:create and wait for Pantheon's workflow, within our timeout (Terminus has none).
   * Afterwards list again: the new backup's name is not printed.
   */
  async createBackup(site: string, env: string, options: CreateBackupOptions = {}): Promise<void> {
    const siteEnv = joinSiteEnv(site, env)
    const element =
      options.element === undefined || options.element === 'all' ? 'all' : normalizeElement(options.element)
    const flags = [`--element=${element}`]
    if (options.keepForDays !== undefined) {
      if (!Number.isInteger(options.keepForDays) || options.keepForDays < 1) {
        throw new TerminusError('failed', `keep-for must be a whole number of days, got ${options.keepForDays}.`)
      }

      flags.push(`--keep-for=${options.keepForDays}`)
    }

    const startedAt = Date.now()
    const version = await this.version(options)
    await this.run({
      ...options,
      command: 'backup:create',
      options: flags,
      positionals: [siteEnv],
      site,
      siteEnv,
      env:
        options.pollingDelayMs === undefined
          ? undefined
          : {TERMINUS_WORKFLOW_POLLING_DELAY_MS: String(options.pollingDelayMs)},
      timeoutMs: options.timeoutMs ?? this.options.createTimeoutMs ?? DEFAULT_CREATE_TIMEOUT_MS,
      limit: this.createLimit,
    })
    // 3.5+: the exit code said it (an [error] line alone may be telemetry). Before 3.5, `-n` runs exit 0
    // even when the workflow failed: only the list can tell.
    if (!reportsWorkflowFailures(version)) await this.confirmCreated(site, env, element, startedAt, version, options)
  }

  /** After a "successful" create by Terminus < 3.5: a backup of each element asked for, newer than the call. */
  private async confirmCreated(
    site: string,
    env: string,
    element: 'all' | Element,
    startedAt: number,
    version: TerminusVersion | undefined,
    options: CallOptions,
  ): Promise<void> {
    const since = startedAt - CREATE_CLOCK_SKEW_MS
    const backups = await this.listBackups(site, env, {signal: options.signal})
    const wanted: Element[] = element === 'all' ? ['code', 'files', 'database'] : [element]
    const missing = wanted.filter((el) => !backups.some((b) => b.element === el && b.date.getTime() >= since))
    if (missing.length === 0) return
    throw new TerminusError(
      'workflow-failed',
      `Creating a backup of ${site}.${env} failed: Terminus ${version ? version.text : '(version unknown)'} said it was created, but Pantheon lists no new ${missing.join(', ')} backup. Terminus before 3.5 hides why a backup failed.`,
      {hint: `${UPGRADE_HINT} Then see the site dashboard’s workflow log.`},
    )
  }

  /**
   * `terminus import:database SITE.ENV URL`: Pantheon drops the environment's database and imports the
   * gzip'd SQL dump it fetches from `url`. Non-interactive with `--yes` (with `-n` alone Terminus silently
   * does nothing), the URL one argument after `--`, waiting for the workflow within our timeout. The URL
   * (a presigned one is a secret) never appears in an error or a DEBUG line.
   */
  async importDatabase(site: string, env: string, url: string, options: ImportOptions = {}): Promise<void> {
    await this.importArchive('import:database', site, env, url, options)
  }

  /** `terminus import:files SITE.ENV URL`: replaces the environment's files with the tar.gz at `url`. */
  async importFiles(site: string, env: string, url: string, options: ImportOptions = {}): Promise<void> {
    await this.importArchive('import:files', site, env, url, options)
  }

  private async importArchive(
    command: 'import:database' | 'import:files',
    site: string,
    env: string,
    url: string,
    options: ImportOptions,
  ): Promise<void> {
    const siteEnv = joinSiteEnv(site, env)
    const what = command === 'import:database' ? 'database' : 'files'
    if (!/^https?:\/\/[^\s/]+\/\S*$/.test(url)) {
      throw new TerminusError('bad-url', `Not an http(s) URL for the ${what} archive: ${redactUrl(url)}`, {
        hint: 'Pantheon imports only from a URL it can fetch.',
      })
    }

    // Before 3.5 a failed import exits 0 with the success notice: refuse rather than report a guess.
    await this.requireReliableImports(options)
    let result: CallResult
    try {
      result = await this.run({
        ...options,
        command,
        options: ['--yes'],
        positionals: [siteEnv, url],
        site,
        siteEnv,
        scrub: scrubberFor(url),
        env:
          options.pollingDelayMs === undefined
            ? undefined
            : {TERMINUS_WORKFLOW_POLLING_DELAY_MS: String(options.pollingDelayMs)},
        timeoutMs: options.timeoutMs ?? this.options.importTimeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS,
        // Long waits, limited apart from lookups as backup:create is.
        limit: this.createLimit,
      })
    } catch (error) {
      if (error instanceof TerminusError && error.code === 'timeout') {
        throw new TerminusError('timeout', error.message, {
          command: error.command,
          hint: `The import may still finish on Pantheon: check the site's workflow log before importing again.`,
        })
      }

      throw error
    }

    // Only the notice proves the workflow ran: Terminus exits 0 without importing when it was not confirmed.
    if (!new RegExp(String.raw`\[notice\] Imported ${what} to `).test(result.stderr)) {
      throw new TerminusError(
        'import-failed',
        `terminus ${command} ${siteEnv} exited 0 without saying that it imported the ${what}.`,
        {hint: 'Terminus may have skipped its confirmation; check the site dashboard’s workflow log.'},
      )
    }
  }

  /** Once per adapter: what of our environment Terminus does not get, and why, if anything is worth saying. */
  private warnOnce(): void {
    if (this.warned) return
    this.warned = true
    const message = droppedVariablesWarning(process.env)
    if (message) this.options.onWarning?.(message)
  }

  private async runJson(call: Call): Promise<unknown> {
    // Lookups: a timeout after silence is retried once (Terminus may have been retrying a 429).
    const {stdout} = await this.run({
      ...call,
      options: [...(call.options ?? []), '--format=json'],
      retryWhenSilent: true,
    })
    return parseJson(stdout, call.command)
  }

  private async run(call: Call): Promise<CallResult> {
    const args = [call.command, ...(call.options ?? []), '-n', '--no-ansi']
    if (call.positionals?.length) args.push('--', ...call.positionals)
    const scrub = call.scrub ?? ((text: string) => text)
    const commandLine = redact(
      scrub(['terminus', ...args].map((arg) => (/[\s"'$]/.test(arg) ? JSON.stringify(arg) : arg)).join(' ')),
    )
    const queuedAt = Date.now()

    // The budget waits inside the concurrency slot: a token is spent just before the process starts.
    const once = async (): Promise<CallResult> => {
      this.warnOnce()
      const startedAt = Date.now()
      const timeoutMs = call.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS
      // Loaded at the first call (~150 modules): runs that never call Terminus (verify --offline, prune)
      // start without it.
      const {execa} = await import('execa')
      const result = await execa(this.bin, args, {
        cwd: this.options.cwd ?? controlledCwd(),
        env: {...terminusEnvironment(process.env), TERMINUS_HIDE_UPDATE_MESSAGE: '1', ...this.options.env, ...call.env},
        extendEnv: false,
        stdin: 'ignore',
        reject: false,
        timeout: timeoutMs,
        cancelSignal: call.signal,
        stripFinalNewline: false,
      })
      const stdout = scrub(String(result.stdout ?? ''))
      const rawStderr = scrub(String(result.stderr ?? ''))
      // 3.6+'s telemetry lines say nothing about the call: out before anything reads stderr.
      const stderr = withoutTelemetry(rawStderr)
      if (stderr !== rawStderr) log('%s: Terminus could not post its telemetry (/api/track), ignored', commandLine)
      const waited = startedAt - queuedAt
      log(
        '%s -> %s in %d ms%s',
        commandLine,
        result.exitCode ?? result.code ?? result.signal ?? 'failed',
        Date.now() - startedAt,
        waited > 10 ? ` (waited ${waited} ms for a slot)` : '',
      )

      if (result.isCanceled) throw call.signal?.reason ?? new InterruptedError()
      if (result.code === 'ENOENT' || result.code === 'EACCES') {
        throw new TerminusError(
          'terminus-not-found',
          result.code === 'ENOENT'
            ? `Terminus was not found (${this.bin}).`
            : `Terminus at ${this.bin} cannot be run (not executable).`,
          {hint: INSTALL_HINT, command: commandLine},
        )
      }

      if (result.timedOut) {
        throw new TerminusError(
          'timeout',
          `${commandLine} took longer than ${formatDuration(timeoutMs)} and was stopped.`,
          {
            printedNothing: call.retryWhenSilent && stdout.trim() === '' && rawStderr.trim() === '',
            command: commandLine,
            hint:
              call.command === 'backup:create'
                ? 'The backup may still finish on Pantheon: list the backups later, or allow more time.'
                : 'Pantheon or Terminus may be slow right now: try again later.',
          },
        )
      }

      if (result.failed || result.exitCode !== 0) {
        if (stderr.trim() === '' && result.exitCode === undefined) {
          throw new TerminusError(
            'failed',
            `${commandLine} failed: ${redact(scrub(result.shortMessage ?? 'no output'))}`,
            {
              command: commandLine,
            },
          )
        }

        const [site, env] = call.siteEnv ? splitSiteEnv(call.siteEnv) : [call.site, undefined]
        throw errorFromFailedCall({command: call.command, commandLine, stderr, stdout, site, env, file: call.file})
      }

      return {stdout, stderr}
    }

    if (call.local) return call.limit(once, call.signal)
    return call.limit(
      () =>
        this.budget.run(once, {signal: call.signal, command: call.command, retrySilentTimeout: call.retryWhenSilent}),
      call.signal,
    )
  }
}

/**
 * What of our environment Terminus gets: what it and PHP need to run (PATH, HOME, locale, TMPDIR, proxies,
 * XDG_*, PHPRC, PHP_INI_SCAN_DIR) and its own settings (TERMINUS_*), nothing else. Never AWS_* (pbm's S3
 * credentials), PBM_* (pbm's settings, a ping URL), RESTIC_* (a repository password) or anything a
 * Terminus plugin could pick up. TERMINUS_HTTP_MAX_RETRIES is dropped too: Terminus compares the string
 * it reads from the environment with an integer, so its retries never end (droppedVariablesWarning says so).
 */
const PASSED_TO_TERMINUS =
  /^(?:PATH|HOME|TMPDIR|LANG|LANGUAGE|LC_\w+|TERMINUS_\w+|XDG_\w+|PHPRC|PHP_INI_SCAN_DIR|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy)$/
const NEVER_PASSED = new Set(['TERMINUS_HTTP_MAX_RETRIES'])

export function terminusEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && PASSED_TO_TERMINUS.test(name) && !NEVER_PASSED.has(name)) out[name] = value
  }

  return out
}

/** One line for the user when their environment sets something pbm keeps from Terminus on purpose. */
export function droppedVariablesWarning(env: NodeJS.ProcessEnv): string | undefined {
  if (env.TERMINUS_HTTP_MAX_RETRIES === undefined) return undefined
  return 'TERMINUS_HTTP_MAX_RETRIES is set, but pbm does not pass it to Terminus: read from the environment it makes Terminus retry a failing request forever (Terminus compares it as a string); Terminus retries 5 times by default.'
}

/**
 * What removes a URL's secrets from text: the URL itself becomes origin and path, and each query value
 * of some length (a signature, a credential, a token), raw or percent-decoded, becomes `<redacted>`
 * wherever it appears on its own.
 */
function scrubberFor(url: string): (text: string) => string {
  const q = url.indexOf('?')
  if (q === -1) return (text) => text
  const values = new Set<string>()
  for (const part of url.slice(q + 1).split('&')) {
    const raw = part.slice(part.indexOf('=') + 1)
    if (raw.length < 8) continue
    values.add(raw)
    try {
      values.add(decodeURIComponent(raw))
    } catch {}
  }

  const secrets = [...values].sort((a, b) => b.length - a.length)
  return (text) => {
    let out = text.replaceAll(url, redactUrl(url))
    for (const secret of secrets) out = out.replaceAll(secret, '<redacted>')
    return out
  }
}

function joinSiteEnv(site: string, env: string): string {
  checkName(site, 'site')
  checkName(env, 'environment')
  return `${site}.${env}`
}

function splitSiteEnv(siteEnv: string): [string, string] {
  const dot = siteEnv.indexOf('.')
  return [siteEnv.slice(0, dot), siteEnv.slice(dot + 1)]
}

// The one rule for site and env names (a dot would also shift the site/env split inside Terminus).
function checkName(name: string, what: string): void {
  if (!isSiteName(name)) {
    throw new TerminusError('bad-site-env', `"${printable(name)}" is not a valid ${what} name.`, {
      hint: 'Give the site and environment as <site>.<env>, e.g. mysite.live.',
    })
  }
}

/**
 * Some PHP setups print deprecation notices on stdout before the JSON; skip to the first line that
 * opens a JSON value rather than failing on them.
 */
export function parseJson(stdout: string, command: string): unknown {
  try {
    return JSON.parse(stdout)
  } catch {
    const start = /^[[{]/m.exec(stdout)
    if (start) {
      try {
        return JSON.parse(stdout.slice(start.index))
      } catch {}
    }

    throw new TerminusError(
      'failed',
      `terminus ${command} printed something other than JSON: ${truncate(stdout.trim())}`,
    )
  }
}

function truncate(text: string): string {
  const safe = redact(text)
  return safe.length > 200 ? `${safe.slice(0, 200)}...` : safe || '(nothing)'
}

function formatDuration(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0 ? `${ms / 60_000} min` : ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`
}

let sharedCwd: string | undefined

/**
 * Terminus loads `.env` from its working directory, which would let any directory the user happens to
 * be in (or a shared /tmp) set TERMINUS_* options: run it in an empty directory of our own.
 */
function controlledCwd(): string {
  if (!sharedCwd) {
    const dir = mkdtempSync(path.join(tmpdir(), 'pbm-terminus-'))
    sharedCwd = dir
    process.once('exit', () => rmSync(dir, {force: true, recursive: true}))
  }

  return sharedCwd
}
