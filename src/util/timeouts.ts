import {UsageError} from '../errors.js'

/**
 * One setting for how long pbm waits on a network peer that has gone quiet: an S3 endpoint that
 * accepts connections and never answers, a download that stops delivering bytes, a cleanup call.
 * It is an idle timeout, not a limit on a whole transfer: a slow but moving transfer never trips it.
 * `--timeout SECONDS` sets it; else PBM_TIMEOUT (read here and nowhere else); else 30 s.
 */
export const DEFAULT_TIMEOUT_SECONDS = 30
export const TIMEOUT_ENV = 'PBM_TIMEOUT'

/** Milliseconds from `--timeout` (seconds), else PBM_TIMEOUT, else the default. */
export function resolveTimeoutMs(seconds?: number | string, env: NodeJS.ProcessEnv = process.env): number {
  if (seconds !== undefined && seconds !== '') return parseTimeoutSeconds(String(seconds), '--timeout')
  const fromEnv = env[TIMEOUT_ENV]
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseTimeoutSeconds(fromEnv, TIMEOUT_ENV)
  return DEFAULT_TIMEOUT_SECONDS * 1000
}

function parseTimeoutSeconds(text: string, where: string): number {
  const value = Number(text.trim())
  if (!/^\s*\d+(?:\.\d+)?\s*$/.test(text) || !Number.isFinite(value) || value <= 0 || value > 86_400) {
    throw new UsageError(`${where} must be a number of seconds between 0 and 86400, not "${text}".`, 'For example: 30')
  }

  return Math.round(value * 1000)
}
