// @ts-check
/* eslint-disable jsdoc/require-param-description, jsdoc/require-returns-description */
// A log of every `terminus` command the stand-in ran, for tests and benchmarks that count calls (per
// command, per site.env, refused by the throttle or not), and which environment variables reached it
// (names only). One JSON line per call, appended with O_APPEND in one write: concurrent processes'
// lines never interleave.
import fs from 'node:fs'
import path from 'node:path'

/**
 * @typedef {{time: number, pid: number, command: string, target: string | null, exitCode: number,
 *   throttled: boolean, env: string[]}} CallRecord  `env`: the names of the variables it was given, sorted.
 */

/** @param {string} dir */
const callsFile = (dir) => path.join(dir, 'calls.log')

/** @param {string} dir @param {CallRecord} record */
export function recordCall(dir, record) {
  fs.appendFileSync(callsFile(dir), JSON.stringify(record) + '\n')
}

/**
 * Every call recorded so far, in the order they ended.
 * @param {string} dir
 * @returns {CallRecord[]}
 */
export function readCalls(dir) {
  let text = ''
  try {
    text = fs.readFileSync(callsFile(dir), 'utf8')
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'ENOENT') throw error
  }

  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}

/** @param {string} dir */
export function resetCalls(dir) {
  fs.rmSync(callsFile(dir), {force: true})
}
