import type {BackupSet, Element} from '../catalog/types.js'
import type {Environment, Site} from '../terminus/types.js'

import {compareEnvironmentNames} from '../catalog/index.js'
import {describeArchives, describeSets} from './backup-list.js'
import {outputWidth} from './fit.js'
import {formatUtc} from './format.js'

/**
 * The prompts library (@inquirer/prompts), loaded on the first question: ~14 MiB of RSS that a run
 * from cron or in a pod, which never asks, does not pay.
 */
const prompts = () => import('@inquirer/prompts')

/**
 * The interactive questions of backup:pick and backup:mirror. Only ever called when a person is at a
 * terminal (the commands check); Ctrl-C rejects with ExitPromptError, which the base command turns
 * into exit 130.
 */
export async function askSite(sites: Site[], signal?: AbortSignal): Promise<string> {
  const choices = [...sites]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((site) => ({
      description: `${site.plan} · ${site.framework}${site.frozen ? ' · frozen: its test and live environments are unavailable' : ''}`,
      name: `${site.name}${site.frozen ? ' (frozen)' : ''}`,
      value: site.name,
    }))
  return (await prompts()).search<string>(
    {
      message: 'Site (type to filter)',
      pageSize: 12,
      source: (term) => (term ? choices.filter((c) => c.name.toLowerCase().includes(term.toLowerCase())) : choices),
    },
    {signal},
  )
}

export async function askSites(sites: Site[], signal?: AbortSignal): Promise<string[]> {
  return (await prompts()).checkbox<string>(
    {
      choices: [...sites]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((site) => ({
          disabled: site.frozen ? '(frozen)' : false,
          name: `${site.name}  ${site.plan} · ${site.framework}`,
          value: site.name,
        })),
      message: 'Sites to mirror',
      pageSize: 15,
      required: true,
    },
    {signal},
  )
}

export async function askEnvironment(site: string, envs: Environment[], signal?: AbortSignal): Promise<string> {
  return (await prompts()).select<string>(
    {
      choices: [...envs]
        .sort((a, b) => compareEnvironmentNames(a.name, b.name))
        .map((env) => ({
          disabled: env.initialized ? false : '(not initialized: it has no backups)',
          name: env.name,
          value: env.name,
        })),
      message: `Environment of ${site}`,
    },
    {signal},
  )
}

export async function askBackupSet(sets: BackupSet[], signal?: AbortSignal): Promise<BackupSet> {
  return (await prompts()).select<BackupSet>(
    {
      choices: describeSets(sets, {width: outputWidth()}).map((name, i) => ({
        name,
        short: formatUtc(sets[i].date),
        value: sets[i],
      })),
      message: 'Backup (newest first)',
      pageSize: 12,
    },
    {signal},
  )
}

export async function askElements(set: BackupSet, signal?: AbortSignal): Promise<Element[]> {
  return (await prompts()).checkbox<Element>(
    {
      choices: describeArchives(set, outputWidth()).map((name, i) => ({
        checked: true,
        name,
        short: set.backups[i].element,
        value: set.backups[i].element,
      })),
      message: 'Elements',
      required: true,
    },
    {signal},
  )
}

export interface DestinationAnswer {
  bucket?: string
  to?: string
}

/** Where to: an S3 bucket (s3://bucket/prefix) and/or a local folder; defaults come from flags and env. */
export async function askDestination(defaults: DestinationAnswer, signal?: AbortSignal): Promise<DestinationAnswer> {
  const kind = await (
    await prompts()
  ).select<'both' | 'local' | 's3'>(
    {
      choices: [
        {name: 'Amazon S3 or an S3-compatible store', value: 's3'},
        {name: 'A local folder', value: 'local'},
        {name: 'Both', value: 'both'},
      ],
      default: defaults.to && !defaults.bucket ? 'local' : 's3',
      message: 'Destination',
    },
    {signal},
  )
  const answer: DestinationAnswer = {}
  if (kind !== 'local') {
    answer.bucket = await (
      await prompts()
    ).input(
      {
        default: defaults.bucket,
        message: 'S3 bucket (name or s3://bucket/prefix)',
        required: true,
      },
      {signal},
    )
  }

  if (kind !== 's3') {
    answer.to = await (
      await prompts()
    ).input({default: defaults.to ?? '.', message: 'Local folder', required: true}, {signal})
  }

  return answer
}

/** Yes or no; `defaultAnswer` is what Enter says (no, before removing anything). */
export async function askConfirm(message: string, signal?: AbortSignal, defaultAnswer = true): Promise<boolean> {
  return (await prompts()).confirm({default: defaultAnswer, message}, {signal})
}

/** Which site.env's backup to restore: those the mirror holds, the target's own first. */
export async function askSourceSiteEnv(
  siteEnvs: Array<{env: string; site: string}>,
  target: {env: string; site: string},
  signal?: AbortSignal,
): Promise<{env: string; site: string}> {
  const isTarget = (s: {env: string; site: string}) => s.site === target.site && s.env === target.env
  return (await prompts()).select<{env: string; site: string}>(
    {
      choices: [...siteEnvs.filter((s) => isTarget(s)), ...siteEnvs.filter((s) => !isTarget(s))].map((s) => ({
        name: `${s.site}.${s.env}${isTarget(s) ? '  (the target itself)' : ''}`,
        value: s,
      })),
      message: 'Restore the backup of (from the mirror)',
      pageSize: 12,
    },
    {signal},
  )
}

/** A restore into live is confirmed by typing the site's name, as Pantheon's dashboard asks. */
export async function askTypeName(name: string, message: string, signal?: AbortSignal): Promise<boolean> {
  const answer = await (await prompts()).input({message: `${message} Type the site name (${name}) to go on`}, {signal})
  return answer.trim() === name
}

/** A no to an irreversible step: the default is no. */
export async function askConfirmNo(message: string, signal?: AbortSignal): Promise<boolean> {
  return (await prompts()).confirm({default: false, message}, {signal})
}
