import type {Environment, Site} from '../terminus/types.js'

import {isSiteName} from '../catalog/names.js'
import {PbmError, UsageError} from '../errors.js'

export interface SiteEnv {
  site: string
  env: string
}

/** `<site>.<env>`, as every Terminus command takes it; the message is Terminus's own. */
export function parseSiteEnv(text: string): SiteEnv {
  const dot = text.indexOf('.')
  if (dot <= 0 || dot === text.length - 1) {
    throw new UsageError(
      `The environment argument must be given as <site_name>.<environment>, not "${text}".`,
      'For example: mysite.live',
    )
  }

  const site = text.slice(0, dot)
  const env = text.slice(dot + 1)
  if (!isSiteName(site) || !isSiteName(env)) {
    throw new UsageError(
      `"${text}" is not a Pantheon site.env: names are lowercase letters, digits and hyphens.`,
      'For example: mysite.live',
    )
  }

  return {env, site}
}

export function formatSiteEnv(target: SiteEnv): string {
  return `${target.site}.${target.env}`
}

/** Sites × envs, plus explicit site.env values, without repeats, in the order given. */
export function expandTargets(explicit: string[], sites: string[], envs: string[]): SiteEnv[] {
  const all = [
    ...explicit.map((t) => parseSiteEnv(t)),
    ...sites.flatMap((site) => envs.map((env) => parseSiteEnv(`${site}.${env}`))),
  ]
  const seen = new Set<string>()
  return all.filter((t) => {
    const id = formatSiteEnv(t)
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

/**
 * Why backup:mirror leaves a site.env out: frozen sites and uninitialized environments are skipped with
 * a note (they have nothing to mirror, and that is not a failure); an environment the site does not
 * have is a failure, with the ones it does have as the hint.
 */
export function skipReason(target: SiteEnv, site: Site | undefined, envs: Environment[]): string | undefined {
  if (site?.frozen) return 'the site is frozen'
  const env = envs.find((e) => e.name === target.env)
  if (!env) {
    throw new PbmError('unknown-env', `Could not find an environment identified by ${target.env}.`, {
      hint: `${target.site} has: ${envs.map((e) => e.name).join(', ')}`,
    })
  }

  if (!env.initialized) return 'the environment is not initialized'
  return undefined
}
