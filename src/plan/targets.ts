import {isSiteName} from '../catalog/names.js'
import {UsageError} from '../errors.js'

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
