import type {Terminus} from '../terminus/index.js'

import {nearestNames} from '../catalog/index.js'
import {PbmError} from '../errors.js'

/**
 * Pantheon did not know a site or an environment: worth one more call, so that the error suggests the
 * nearest names Pantheon lists ("Did you mean alpha?") rather than only naming the Terminus command
 * that lists them. Any other error, or a failed listing, comes back as it was.
 */
export async function withNearestNames(
  terminus: Pick<Terminus, 'listEnvironments' | 'listSites'>,
  target: {env: string; site: string},
  error: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  if (!(error instanceof PbmError)) return error
  if (error.code === 'unknown-site') {
    const sites = await terminus.listSites({signal}).catch(() => {})
    if (!sites) return error
    const near = nearestNames(
      sites.map((s) => s.name),
      target.site,
    )
    return new PbmError(error.code, `No site "${target.site}" that your Pantheon user can access.`, {
      cause: error,
      hint: `${near.length > 0 ? `Did you mean ${near.join(' or ')}? ` : ''}terminus site:list lists your sites.`,
    })
  }

  if (error.code === 'unknown-env') {
    const envs = await terminus.listEnvironments(target.site, {signal}).catch(() => {})
    if (!envs) return error
    const names = envs.map((e) => e.name)
    const near = nearestNames(names, target.env)
    return new PbmError(error.code, `Site ${target.site} has no environment "${target.env}".`, {
      cause: error,
      hint: `${near.length > 0 ? `Did you mean ${near.map((env) => `${target.site}.${env}`).join(' or ')}? ` : ''}${target.site} has: ${names.join(', ')} (terminus env:list ${target.site}).`,
    })
  }

  return error
}
