// @ts-check
/* eslint-disable jsdoc/require-param-description, jsdoc/require-returns-description */
// Pantheon's API throttling, as the `terminus` stand-in shows it: at most `calls` API-using commands
// in any sliding window of `windowMs`, counted across every concurrent `terminus` process through a
// log of admission times in the state directory (read-modify-write under the sandbox's mkdir lock).
// Refused calls are not admitted, so they do not use up the allowance.
//
// What a refused call prints depends on the Terminus generation being imitated (`wording`):
// - `retries` (default; Terminus 3.x/4.x, src/Request/Request.php): TERMINUS_CLIENT_OPTIONS sets
//   `http_errors: false`, and the retry decider only gives up at once on 20x/40x, so a 429 is retried
//   TERMINUS_HTTP_MAX_RETRIES times (default 5, linear back-off of TERMINUS_HTTP_RETRY_BACKOFF x n
//   seconds, warnings only under -v): ~106 s of silence (the stand-in waits that times the sandbox's
//   `latencyScale`). Then it logs `HTTP request <METHOD> <URI> has failed with error <body>.` and throws
//   `HTTP request has failed with error "Maximum retry attempts reached".`. The body was already read
//   by the `!== ''` test before being read again, so it comes out empty. The status code appears nowhere
//   in what a non-verbose run prints. A command on a site looks the site up first
//   (`GET /api/site-names/<site>`), and that failure is reworded: `Could not locate a site your user
//   may access identified by <site>: HTTP request has failed with error "Maximum retry attempts reached".`
// - `guzzle` (Terminus 1.x/2.x): a 4xx ClientException is rethrown and Symfony boxes Guzzle's message
//   `Client error: `GET <URI>` resulted in a `429 Too Many Requests` response:` and a body summary.
// - `slow-your-roll`: the historic hourly cap, a 403 with "You have already made 1,000 requests in the
//   past hour. Slow your roll." (terminus-deprecated issue 127); not retried, so answered at once. On a
//   site command: `Could not locate a site your user may access identified by <site>: You have already
//   made 1,000 requests in the past hour. Slow your roll.`
import fs from 'node:fs'
import path from 'node:path'

import {readJson, withLock, writeJsonAtomic} from './state.js'

/** Environment variable that sets (and overrides the spec's) throttle: `CALLS/WINDOW[:WORDING]`. */
export const THROTTLE_ENV = 'PBM_SANDBOX_THROTTLE'
export const WORDINGS = /** @type {const} */ (['retries', 'guzzle', 'slow-your-roll'])
/** Commands that never reach Pantheon's API: Terminus answers them from the local session. */
const LOCAL_COMMANDS = new Set(['auth:logout', 'auth:whoami'])
const API = 'https://terminus.pantheon.io:443/api'
/** Commands on a site: Terminus looks the site up first (GET /api/site-names/<site>). */
const SITE_COMMANDS = new Set([
  'backup:create',
  'backup:get',
  'backup:info',
  'backup:list',
  'env:list',
  'import:database',
  'import:files',
])
const SLOW_YOUR_ROLL = 'You have already made 1,000 requests in the past hour. Slow your roll.'
const MAX_RETRIES = 'HTTP request has failed with error "Maximum retry attempts reached".'

/**
 * @typedef {{calls: number, windowMs: number, wording?: typeof WORDINGS[number]}} ThrottleConfig
 * @typedef {({errors: string[]} | {box: {message: string, file: string, line: number}}) & {retried: boolean}} Refusal
 *   `retried`: Terminus retried the request (silently, for a long while) before it printed this.
 */

/** @param {string} dir */
const configFile = (dir) => path.join(dir, 'throttle.json')
/** @param {string} dir */
const logFile = (dir) => path.join(dir, 'throttle-log.json')

/**
 * Check and normalize a throttle setting (spec, API or environment).
 * @param {unknown} value
 * @returns {ThrottleConfig}
 */
export function checkThrottle(value) {
  const v = /** @type {Record<string, unknown>} */ (value ?? {})
  const {calls, windowMs, wording = 'retries'} = v
  if (!Number.isInteger(calls) || /** @type {number} */ (calls) < 1) {
    throw new Error(`sandbox: throttle.calls must be a positive integer, got ${calls}`)
  }

  if (typeof windowMs !== 'number' || !(windowMs > 0)) {
    throw new Error(`sandbox: throttle.windowMs must be a positive number, got ${windowMs}`)
  }

  if (!WORDINGS.includes(/** @type {any} */ (wording))) {
    throw new Error(`sandbox: throttle.wording must be one of ${WORDINGS.join(', ')}, got ${wording}`)
  }

  return {calls: /** @type {number} */ (calls), windowMs, wording: /** @type {any} */ (wording)}
}

/**
 * Parse `CALLS/WINDOW[:WORDING]`, WINDOW in ms or with a unit (`ms`, `s`, `m`, `h`): `5/1s`,
 * `1000/1h:slow-your-roll`.
 * @param {string} text
 */
export function parseThrottle(text) {
  const m = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*(?::\s*([\w-]+))?\s*$/.exec(text)
  if (!m) throw new Error(`sandbox: ${THROTTLE_ENV} must look like CALLS/WINDOW[:WORDING] (e.g. 5/1s), got "${text}"`)
  const unit = /** @type {Record<string, number>} */ ({ms: 1, s: 1000, m: 60_000, h: 3_600_000})[m[3] ?? 'ms']
  return checkThrottle({calls: Number(m[1]), windowMs: Number(m[2]) * unit, wording: m[4] ?? 'retries'})
}

/**
 * Set or clear (null) the throttle of a sandbox state directory; clearing also forgets past calls.
 * @param {string} dir @param {ThrottleConfig | null | undefined} config
 */
export function writeThrottle(dir, config) {
  if (config) writeJsonAtomic(configFile(dir), checkThrottle(config))
  else {
    fs.rmSync(configFile(dir), {force: true})
    fs.rmSync(logFile(dir), {force: true})
  }
}

/**
 * The throttle in force: the environment variable wins over the state directory's setting.
 * @param {string} dir @param {NodeJS.ProcessEnv} env
 * @returns {ThrottleConfig | undefined}
 */
export function throttleOf(dir, env) {
  const fromEnv = env[THROTTLE_ENV]
  if (fromEnv) return parseThrottle(fromEnv)
  try {
    return checkThrottle(readJson(configFile(dir)))
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return
    throw error
  }
}

/**
 * Take a place in the sliding window if one is free. True when admitted.
 * @param {string} dir @param {ThrottleConfig} config @param {() => number} [now]
 */
export async function admit(dir, config, now = Date.now) {
  return withLock(path.join(dir, 'throttle.lock'), () => {
    const t = now()
    /** @type {number[]} */
    let times = []
    try {
      times = readJson(logFile(dir))
    } catch {}

    times = times.filter((x) => x > t - config.windowMs)
    if (times.length >= config.calls) return false
    times.push(t)
    writeJsonAtomic(logFile(dir), times)
    return true
  })
}

/**
 * Whether this call may go ahead; when not, what Terminus prints. Local commands are never refused.
 * @param {{dir: string, env: NodeJS.ProcessEnv, command: string, positionals: string[]}} call
 * @returns {Promise<Refusal | undefined>}
 */
export async function throttleCall(call) {
  if (LOCAL_COMMANDS.has(call.command)) return
  const config = throttleOf(call.dir, call.env)
  if (!config || (await admit(call.dir, config))) return
  const onSite = SITE_COMMANDS.has(call.command)
  const siteName = (call.positionals[0] ?? '').split('.')[0]
  const {method, uri} = onSite ? {method: 'GET', uri: `${API}/site-names/${siteName}`} : apiRequestOf(call)
  const lookup = `Could not locate a site your user may access identified by ${siteName}: `
  switch (config.wording) {
    case 'guzzle': {
      return {
        box: {
          message: `Client error: \`${method} ${uri}\` resulted in a \`429 Too Many Requests\` response:\nToo Many Requests`,
          file: 'RequestException.php',
          line: 113,
        },
        retried: false,
      }
    }

    case 'slow-your-roll': {
      return {
        errors: [onSite ? `${lookup}${SLOW_YOUR_ROLL}` : `Request failed: 403 "${SLOW_YOUR_ROLL}"`],
        retried: false,
      }
    }

    default: {
      return {
        errors: [
          `HTTP request ${method} ${uri} has failed with error .`,
          onSite ? `${lookup}${MAX_RETRIES}` : MAX_RETRIES,
        ],
        retried: true,
      }
    }
  }
}

/**
 * The API request a command not on a site would have been refused on (its first), for the wording.
 * @param {{command: string, positionals: string[]}} call
 */
function apiRequestOf(call) {
  switch (call.command) {
    case 'auth:login': {
      return {method: 'POST', uri: `${API}/authorize/machine-token`}
    }

    case 'org:site:list': {
      return {method: 'GET', uri: `${API}/organizations/${call.positionals[0] ?? ''}/memberships/sites?limit=100`}
    }

    default: {
      return {method: 'GET', uri: `${API}/users/me/memberships/sites?limit=100`}
    }
  }
}
