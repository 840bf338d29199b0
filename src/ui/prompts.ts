import chalk from 'chalk'

import type {BackupSet, Element} from '../catalog/types.js'
import type {Environment, Site} from '../terminus/types.js'

import {compareEnvironmentNames} from '../catalog/index.js'
import {parseBucket} from '../plan/destination.js'
import {describeArchives, describeSets} from './backup-list.js'
import {outputWidth} from './fit.js'
import {formatUtc} from './format.js'

/**
 * The prompts library (@inquirer/prompts), loaded on the first question: ~14 MiB of RSS that a run
 * from cron or in a pod, which never asks, does not pay.
 */
const prompts = () => import('@inquirer/prompts')

/** What @inquirer's prompts take besides their config; clearPromptOnDone is read once, as the prompt ends. */
interface AskContext {
  readonly clearPromptOnDone: boolean
  readonly signal?: AbortSignal
}

/**
 * How every question runs. Ctrl-C (or the run's signal) rejects with ExitPromptError/AbortPromptError,
 * which the base command turns into "Interrupted." and exit 130: the question is then cleared rather than
 * left on the screen half-answered.
 */
async function asking<T>(signal: AbortSignal | undefined, question: (context: AskContext) => Promise<T>): Promise<T> {
  let interrupted = false
  const onKey = (_: unknown, key?: {ctrl?: boolean; name?: string}) => {
    if (key?.ctrl && key.name === 'c') interrupted = true
  }

  // The prompt's readline sees Ctrl-C first and rejects; this listener runs in the same tick, before the
  // prompt reads clearPromptOnDone in its clean-up.
  process.stdin.on('keypress', onKey)
  try {
    return await question({
      get clearPromptOnDone() {
        return interrupted || Boolean(signal?.aborted)
      },
      signal,
    })
  } finally {
    process.stdin.off('keypress', onKey)
  }
}

/**
 * The mark of an answered question: the green ✔ of a done step, or a neutral "-" when the answer
 * cancels (a no, a mistyped name), because nothing was done. Read as the answer is drawn.
 */
function answerMark(cancels: () => boolean): {prefix: {done: string; idle: string}} {
  return {
    prefix: {
      get done() {
        return cancels() ? chalk.dim('-') : chalk.green('✔')
      },
      idle: chalk.blue('?'),
    },
  }
}

/** An input's check, as @inquirer's `validate` wants it: true, or the reason shown under the answer. */
function reasonOf(check: (answer: string) => unknown): (answer: string) => string | true {
  return (answer) => {
    try {
      check(answer)
      return true
    } catch (error) {
      const {hint, message} = error as {hint?: string; message: string}
      return hint ? `${message} ${hint}` : message
    }
  }
}

/**
 * The interactive questions of the commands. Only ever called when a person is at a terminal (the
 * commands check).
 */
/** `question` names what the site is for when it is not the obvious one (restore: the target). */
export async function askSite(
  sites: Site[],
  signal?: AbortSignal,
  question = 'Site (type to filter)',
): Promise<string> {
  const choices = [...sites]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((site) => ({
      description: `${site.plan} · ${site.framework}${site.frozen ? ' · frozen: its test and live environments are unavailable' : ''}`,
      name: `${site.name}${site.frozen ? ' (frozen)' : ''}`,
      short: site.name,
      value: site.name,
    }))
  const message = question
  return asking(signal, async (context) =>
    (await prompts()).search<string>(
      {
        message,
        pageSize: 12,
        source: (term) => (term ? choices.filter((c) => c.name.toLowerCase().includes(term.toLowerCase())) : choices),
      },
      context,
    ),
  )
}

export async function askSites(sites: Site[], signal?: AbortSignal): Promise<string[]> {
  const message = 'Sites to mirror'
  return asking(signal, async (context) =>
    (await prompts()).checkbox<string>(
      {
        choices: [...sites]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((site) => ({
            disabled: site.frozen ? '(frozen)' : false,
            name: `${site.name}  ${site.plan} · ${site.framework}`,
            // The answer line lists the names only.
            short: site.name,
            value: site.name,
          })),
        message,
        pageSize: 15,
        required: true,
      },
      context,
    ),
  )
}

export async function askEnvironment(
  site: string,
  envs: Environment[],
  signal?: AbortSignal,
  question = `Environment of ${site}`,
): Promise<string> {
  const message = question
  return asking(signal, async (context) =>
    (await prompts()).select<string>(
      {
        choices: [...envs]
          .sort((a, b) => compareEnvironmentNames(a.name, b.name))
          .map((env) => ({
            disabled: env.initialized ? false : '(not initialized: it has no backups)',
            name: env.name,
            value: env.name,
          })),
        message,
      },
      context,
    ),
  )
}

/**
 * The environments to mirror of the chosen sites: every name any of them has (dev, test, live, then
 * multidevs), `preselected` (mirror's default, dev and live) checked.
 */
export async function askEnvironments(
  names: readonly string[],
  preselected: readonly string[],
  signal?: AbortSignal,
): Promise<string[]> {
  const message = 'Environments to mirror'
  return asking(signal, async (context) =>
    (await prompts()).checkbox<string>(
      {
        choices: [...new Set(names)]
          .sort(compareEnvironmentNames)
          .map((name) => ({checked: preselected.includes(name), name, value: name})),
        message,
        pageSize: 15,
        required: true,
      },
      context,
    ),
  )
}

export async function askBackupSet(sets: BackupSet[], signal?: AbortSignal): Promise<BackupSet> {
  const message = 'Backup (newest first)'
  return asking(signal, async (context) =>
    (await prompts()).select<BackupSet>(
      {
        choices: describeSets(sets, {width: outputWidth()}).map((name, i) => ({
          name,
          short: formatUtc(sets[i].date),
          value: sets[i],
        })),
        message,
        pageSize: 12,
      },
      context,
    ),
  )
}

export async function askElements(set: BackupSet, signal?: AbortSignal): Promise<Element[]> {
  const message = 'Elements'
  return asking(signal, async (context) =>
    (await prompts()).checkbox<Element>(
      {
        choices: describeArchives(set, outputWidth()).map((name, i) => ({
          checked: true,
          name,
          short: set.backups[i].element,
          value: set.backups[i].element,
        })),
        message,
        required: true,
      },
      context,
    ),
  )
}

export interface DestinationAnswer {
  bucket?: string
  to?: string
}

/**
 * Where to: an S3 bucket (s3://bucket/prefix) and/or a local folder; defaults come from flags and env.
 * An invalid bucket is asked again with the reason, by the rule --bucket follows (parseBucket).
 */
export async function askDestination(defaults: DestinationAnswer, signal?: AbortSignal): Promise<DestinationAnswer> {
  const kindMessage = 'Destination'
  const kind = await asking(signal, async (context) =>
    (await prompts()).select<'both' | 'local' | 's3'>(
      {
        choices: [
          {name: 'Amazon S3 or an S3-compatible store', value: 's3'},
          {name: 'A local folder', value: 'local'},
          {name: 'Both', value: 'both'},
        ],
        default: defaults.to && !defaults.bucket ? 'local' : 's3',
        message: kindMessage,
      },
      context,
    ),
  )
  const answer: DestinationAnswer = {}
  if (kind !== 'local') {
    const message = 'S3 bucket (name or s3://bucket/prefix)'
    answer.bucket = await asking(signal, async (context) =>
      (await prompts()).input(
        {
          default: defaults.bucket,
          message,
          required: true,
          validate: reasonOf((bucket) => parseBucket(bucket.trim())),
        },
        context,
      ),
    )
  }

  if (kind !== 's3') {
    const message = 'Local folder (~ is your home folder)'
    answer.to = await asking(signal, async (context) =>
      (await prompts()).input({default: defaults.to ?? '.', message, required: true}, context),
    )
  }

  return answer
}

/** Yes or no; `defaultAnswer` is what Enter says (no, before removing anything). A no is shown as neutral. */
export async function askConfirm(message: string, signal?: AbortSignal, defaultAnswer = true): Promise<boolean> {
  let said: boolean | undefined
  return asking(signal, async (context) =>
    (await prompts()).confirm(
      {
        default: defaultAnswer,
        message,
        theme: answerMark(() => said === false),
        transformer(yes) {
          said = yes
          return yes ? 'Yes' : 'No'
        },
      },
      context,
    ),
  )
}

/** Which site.env's backup to restore: those the mirror holds, the target's own first. */
export async function askSourceSiteEnv(
  siteEnvs: Array<{env: string; site: string}>,
  target: undefined | {env: string; site: string},
  signal?: AbortSignal,
): Promise<{env: string; site: string}> {
  const isTarget = (s: {env: string; site: string}) => s.site === target?.site && s.env === target?.env
  const message = 'Restore the backup of (from the mirror)'
  return asking(signal, async (context) =>
    (await prompts()).select<{env: string; site: string}>(
      {
        choices: [...siteEnvs.filter((s) => isTarget(s)), ...siteEnvs.filter((s) => !isTarget(s))].map((s) => ({
          name: `${s.site}.${s.env}${isTarget(s) ? '  (the target itself)' : ''}`,
          short: `${s.site}.${s.env}`,
          value: s,
        })),
        message,
        pageSize: 12,
      },
      context,
    ),
  )
}

/** A restore into live is confirmed by typing the site's name, as Pantheon's dashboard asks; any other answer cancels. */
export async function askTypeName(name: string, message: string, signal?: AbortSignal): Promise<boolean> {
  // What was typed, as last drawn: the answer once Enter is pressed.
  let typed = ''
  const answer = await asking(signal, async (context) =>
    (await prompts()).input(
      {
        message: `${message} Type the site name (${name}) to go on`,
        theme: answerMark(() => typed.trim() !== name),
        transformer(value) {
          typed = value
          return value
        },
      },
      context,
    ),
  )
  return answer.trim() === name
}

/** A no to an irreversible step: the default is no. */
export async function askConfirmNo(message: string, signal?: AbortSignal): Promise<boolean> {
  return askConfirm(message, signal, false)
}
