// @ts-check
/* eslint-disable jsdoc/require-param-description, jsdoc/require-returns-description */
// Which Terminus the stand-in impersonates, and what that version does differently (verified by running
// real Terminus 3.4.0 and 3.6.1-dev against a stand-in of Pantheon's API; ../../../shared/TERMINUS.md):
// - before 3.5.0, a non-interactive run ignores the workflow's result: a failed backup:create prints
//   ` [notice] Created a backup of the <env> environment.` and a failed import ` [notice] Imported <el>
//   to <site>.<env>.`, both exit 0;
// - from 3.6.0, every command posts telemetry to /api/track afterwards; when that post fails, Terminus
//   retries it for about 106 s and then logs an `[error]` line about it, without changing the exit code.
// 4.x behaves as 3.6 in everything the stand-in models.
// Knobs: the spec (`terminusVersion`, `telemetryFails`, `latencyScale`), the Sandbox's setters, or these
// environment variables (which win, for the processes that see them).

export const DEFAULT_TERMINUS_VERSION = '3.6.1'
export const VERSION_ENV = 'PBM_SANDBOX_TERMINUS_VERSION'
export const TELEMETRY_ENV = 'PBM_SANDBOX_TELEMETRY_FAILS'
export const LATENCY_SCALE_ENV = 'PBM_SANDBOX_LATENCY_SCALE'

/**
 * How long real Terminus stays silent retrying a request before it gives up: 5 retries sleeping
 * 5/10/15/20/25 s plus Guzzle's own 1/2/4/8/16 s. The stand-in waits this times `latencyScale`.
 */
export const TERMINUS_RETRY_MS = 106_000

export const TELEMETRY_URI = 'https://terminus.pantheon.io/api/track'
/** What 3.6+ logs after a command whose telemetry post failed (the reason is Guzzle's). */
export const TELEMETRY_ERROR = `HTTP request POST ${TELEMETRY_URI} has failed with error cURL error 28: Connection timed out after 2001 milliseconds (see https://curl.haxx.se/libcurl/c/libcurl-errors.html) for ${TELEMETRY_URI}.`

/**
 * @typedef {{version: string, telemetryFails: boolean, latencyScale: number}} TerminusSettings
 * @typedef {{major: number, minor: number, patch: number}} Version
 */

/** @param {unknown} text @returns {Version} */
export function parseVersion(text) {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:[-+][\w.-]*)?$/.exec(String(text))
  if (!m) throw new Error(`sandbox: terminusVersion must look like 3.6.1, got "${text}"`)
  return {major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3])}
}

/** @param {string} version @param {number} major @param {number} minor */
function atLeast(version, major, minor) {
  const v = parseVersion(version)
  return v.major > major || (v.major === major && v.minor >= minor)
}

/** 3.5.0+: a failed workflow is an `[error]` line and exit 1 (before, a notice and exit 0). */
export const reportsWorkflowFailures = (/** @type {string} */ version) => atLeast(version, 3, 5)
/** 3.6.0+: telemetry after every command. */
export const postsTelemetry = (/** @type {string} */ version) => atLeast(version, 3, 6)

/** @param {unknown} value */
export function checkLatencyScale(value) {
  const n = Number(value)
  if (typeof value === 'boolean' || !Number.isFinite(n) || n < 0) {
    throw new Error(`sandbox: latencyScale must be a number >= 0, got ${value}`)
  }

  return n
}

/**
 * The Terminus settings in force: the environment's over the state directory's (settings.json).
 * @param {{terminusVersion?: string, telemetryFails?: boolean, latencyScale?: number}} settings
 * @param {NodeJS.ProcessEnv} env
 * @returns {TerminusSettings}
 */
export function terminusSettings(settings, env) {
  const version = env[VERSION_ENV] || settings.terminusVersion || DEFAULT_TERMINUS_VERSION
  parseVersion(version)
  const telemetry = env[TELEMETRY_ENV]
  const telemetryFails =
    telemetry === undefined || telemetry === ''
      ? Boolean(settings.telemetryFails)
      : !/^(0|false|no|off)$/i.test(telemetry)
  const scale = env[LATENCY_SCALE_ENV]
  const latencyScale = checkLatencyScale(scale === undefined || scale === '' ? (settings.latencyScale ?? 0) : scale)
  return {version, telemetryFails, latencyScale}
}
