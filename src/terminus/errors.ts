import {PbmError} from '../errors.js'
import {redact} from '../redact.js'

export type TerminusErrorCode =
  | 'bad-site-env'
  | 'bad-url'
  | 'failed'
  | 'frozen'
  | 'import-failed'
  | 'import-too-large'
  | 'invalid-element'
  | 'no-backups'
  | 'not-logged-in'
  | 'terminus-not-found'
  | 'terminus-too-old'
  | 'throttled'
  | 'timeout'
  | 'unknown-env'
  | 'unknown-file'
  | 'unknown-site'
  | 'workflow-failed'

export interface TerminusErrorDetails {
  cause?: unknown
  /** The Terminus command line, redacted. */
  command?: string
  hint?: string
  /** What Terminus itself said (its `[error]` line or boxed message), redacted. */
  terminusMessage?: string
  /** A timeout of a call that had printed nothing: Terminus may have been retrying a throttled request. */
  printedNothing?: boolean
}

export class TerminusError extends PbmError {
  declare readonly code: TerminusErrorCode
  readonly command?: string
  readonly terminusMessage?: string
  readonly printedNothing?: boolean

  constructor(code: TerminusErrorCode, message: string, details: TerminusErrorDetails = {}) {
    super(code, redact(message), {cause: details.cause, hint: details.hint})
    this.name = 'TerminusError'
    this.command = details.command
    this.terminusMessage = details.terminusMessage
    if (details.printedNothing) this.printedNothing = true
  }
}

/**
 * Terminus 3.6+ posts telemetry to /api/track after every command; when that fails it logs
 * ` [error]  HTTP request POST https://terminus.pantheon.io/api/track has failed with error ... ` and
 * keeps the command's exit code. Such a line says nothing about the command: it is never a failure and
 * never part of a message.
 */
const TELEMETRY_LINE = /^[ \t]*\[error][ \t]+HTTP request \w+ \S*\/api\/track\b.*(?:\r?\n|$)/gm

/** stderr without the lines about Terminus' own telemetry. */
export function withoutTelemetry(stderr: string): string {
  return stderr.replaceAll(TELEMETRY_LINE, '')
}

export const UPGRADE_HINT =
  'Upgrade Terminus to 3.5 or newer (https://docs.pantheon.io/terminus/updates): it reports a failed workflow as a failure.'

export const INSTALL_HINT =
  'Install Terminus (https://docs.pantheon.io/terminus/install), or tell pbm where it is with --terminus PATH or PBM_TERMINUS.'
export const LOGIN_HINT = 'Log in once with: terminus auth:login --machine-token=<token>'

/** What the adapter knows about the call that failed, to word the error. */
export interface FailedCall {
  command: string
  /** Redacted command line for the error. */
  commandLine: string
  stderr: string
  stdout: string
  site?: string
  env?: string
  file?: string
}

// Symfony wraps boxed messages to the terminal width and pads them, and Terminus pads `[error]`
// lines: collapse all whitespace before matching so a wrapped message still matches.
function collapse(text: string): string {
  return text.replaceAll(/\s+/g, ' ').trim()
}

/**
 * What Terminus said went wrong: the `[error]` lines (logged inside a command), else the boxed
 * Symfony block (errors before the command body), else the last non-empty stderr line.
 */
export function terminusMessageOf(rawStderr: string): string | undefined {
  // Redact first: a URL wrapped across the lines of a box is only whole in the raw text.
  const stderr = redact(rawStderr)
  const errors = stderr
    .split('\n')
    .map((line) => /^\s*\[error]\s+(.*?)\s*$/.exec(line)?.[1])
    .filter(Boolean)
  if (errors.length > 0) return collapse(errors.join(' '))

  const box = /^\s*In \S+ line \d+:\s*$/m.exec(stderr)
  if (box) {
    // The block ends at the first blank line after its text (usage lines may follow).
    const rest = stderr.slice(box.index + box[0].length).split('\n')
    const lines: string[] = []
    for (const line of rest) {
      if (line.trim() === '') {
        if (lines.length > 0) break
        continue
      }

      lines.push(line.trim())
    }

    if (lines.length > 0) return collapse(lines.join(' '))
  }

  const lines = stderr.split('\n').map((line) => line.trim())
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i] !== '' && !/^\[(?:notice|info|warning|debug)]/.test(lines[i])) return collapse(lines[i])
  }

  return undefined
}

const siteEnv = (call: FailedCall) => (call.site && call.env ? `${call.site}.${call.env}` : (call.site ?? 'the site'))

/**
 * What Terminus prints when Pantheon throttles: Terminus 1.x/2.x box Guzzle's `429 Too Many Requests`;
 * 3.x/4.x retry a 429 (TERMINUS_HTTP_MAX_RETRIES, default 5) and then say only `Maximum retry attempts
 * reached` (the status shows under -v alone; 5xx and dropped connections end the same way, and back-off
 * is the right answer to those too); the historic hourly cap was a 403 "Slow your roll.".
 */
const THROTTLED =
  /\b429 Too Many Requests\b|\bToo Many Requests\b|status code -? ?429\b|Maximum retry attempts reached|Slow your roll|You have already made [\d,]+ requests/i

export function isThrottledOutput(stderr: string): boolean {
  // Symfony cuts boxed lines at the terminal width even inside a word: try the lines joined back too.
  const unwrapped = stderr
    .split('\n')
    .map((line) => line.trim())
    .join('')
  return THROTTLED.test(collapse(stderr)) || THROTTLED.test(unwrapped)
}

export const THROTTLED_HINT =
  'Pantheon is throttling this account: lower --terminus-rate or the number of shards running at once, or run later.'

/** Map a failed Terminus call (exit code non-zero, or a logged error) to a typed error. */
export function errorFromFailedCall(call: FailedCall): TerminusError {
  const said = terminusMessageOf(call.stderr)
  const text = collapse(redact(call.stderr))
  const details = {command: call.commandLine, terminusMessage: said}

  // First: a throttled call can fail any command, and says nothing else about the call.
  if (isThrottledOutput(call.stderr)) {
    return new TerminusError(
      'throttled',
      `Pantheon refused terminus ${call.command} for too many requests (after Terminus' own retries).`,
      {...details, hint: THROTTLED_HINT},
    )
  }

  if (/You are not logged in|No user ID\. Please login/i.test(text)) {
    return new TerminusError('not-logged-in', 'Terminus is not logged in to Pantheon.', {...details, hint: LOGIN_HINT})
  }

  if (/This site is frozen/i.test(text)) {
    return new TerminusError(
      'frozen',
      `${call.site ?? 'The site'} is frozen: its backups cannot be used until it is unfrozen.`,
      {
        ...details,
        hint: 'Unfreeze the site in the Pantheon dashboard, then try again.',
      },
    )
  }

  if (/Could not locate a site your user may access identified by/i.test(text)) {
    return new TerminusError('unknown-site', `No site "${call.site ?? '?'}" that your Pantheon user can access.`, {
      ...details,
      hint: 'List your sites with: terminus site:list',
    })
  }

  if (/Could not find an environment identified by/i.test(text)) {
    return new TerminusError('unknown-env', `Site ${call.site ?? '?'} has no environment "${call.env ?? '?'}".`, {
      ...details,
      hint: `List its environments with: terminus env:list ${call.site ?? '<site>'}`,
    })
  }

  if (/The environment argument must be given as/i.test(text)) {
    return new TerminusError(
      'bad-site-env',
      'The site and environment must be given as <site>.<env>, e.g. mysite.live.',
      details,
    )
  }

  if (/No backups available/i.test(text)) {
    return new TerminusError('no-backups', `${siteEnv(call)} has no finished backups of that element.`, {
      ...details,
      hint: `Create one with: terminus backup:create ${siteEnv(call)}`,
    })
  }

  if (/Could not find a backup identified by/i.test(text)) {
    return new TerminusError('unknown-file', `${siteEnv(call)} has no backup named "${call.file ?? '?'}".`, {
      ...details,
      hint: `List its backups with: terminus backup:list ${siteEnv(call)}`,
    })
  }

  if (/Element should be one of the following items/i.test(text)) {
    return new TerminusError(
      'invalid-element',
      'Terminus refused the element: use code, files, database or db.',
      details,
    )
  }

  if (call.command === 'backup:create') {
    return new TerminusError(
      'workflow-failed',
      `Creating a backup of ${siteEnv(call)} failed: ${said ?? 'Workflow failed.'}`,
      {
        ...details,
        hint: 'See the site dashboard’s workflow log; retry later.',
      },
    )
  }

  if (call.command === 'import:database' || call.command === 'import:files') return importError(call, said, details)

  return new TerminusError('failed', `terminus ${call.command} failed: ${said ?? 'no error message'}`, details)
}

/** A failed import workflow: Pantheon could not fetch the URL, found it too large, or failed to import it. */
function importError(
  call: FailedCall,
  said: string | undefined,
  details: {command: string; terminusMessage?: string},
): TerminusError {
  const what = call.command === 'import:database' ? 'database' : 'files'
  const text = collapse(call.stderr)
  if (/larger than the .* import limit/i.test(text)) {
    return new TerminusError('import-too-large', `Pantheon refused the ${what} archive: ${said ?? 'too large'}`, {
      ...details,
      hint: 'Pantheon imports through a URL only up to about 500 MB: import this one by hand (pbm prints the steps).',
    })
  }

  if (/Could not download|Bad params|400 Bad Request/i.test(text)) {
    return new TerminusError('bad-url', `Pantheon could not fetch the ${what} archive: ${said ?? 'bad URL'}`, {
      ...details,
      hint: 'The presigned URL may have expired or the store may not be reachable from Pantheon; try again with a longer lifetime.',
    })
  }

  return new TerminusError(
    'import-failed',
    `Importing the ${what} into ${siteEnv(call)} failed: ${said ?? 'Workflow failed.'}`,
    {
      ...details,
      hint: `See the site dashboard’s workflow log; the ${what} of ${siteEnv(call)} may be partly replaced.`,
    },
  )
}
