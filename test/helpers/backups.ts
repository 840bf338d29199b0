import type {Backup, Element} from '../../src/catalog/types.js'

import {backupsFromList} from '../../src/catalog/index.js'

const EXT: Record<Element, string> = {code: 'tar.gz', database: 'sql.gz', files: 'tar.gz'}

/** backup:list JSON as real Terminus prints it, for sets given as [ISO date, elements, initiator]. */
export function listJson(
  site: string,
  env: string,
  sets: Array<{
    date: string
    elements?: Element[]
    expiryDays?: number
    /** Seconds from the start (the filename's time) to each element's finish, as Pantheon reports it. */
    finishedAfter?: Partial<Record<Element, number>>
    initiator?: 'automated' | 'manual'
  }>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const set of sets) {
    const epoch = Date.parse(set.date) / 1000
    const kind = set.initiator === 'automated' ? 'automated' : 'backup'
    const stamp = new Date(epoch * 1000).toISOString().slice(0, 19).replaceAll(':', '-')
    for (const element of set.elements ?? ['code', 'files', 'database']) {
      out[`${Math.floor(epoch)}_${kind}_${element}`] = {
        file: `${site}_${env}_${stamp}_UTC_${element}.${EXT[element]}`,
        size: '12.3MB',
        date: epoch + (set.finishedAfter?.[element] ?? 0) + 0.118402,
        expiry: epoch + (set.expiryDays ?? 365) * 86_400,
        initiator: set.initiator ?? 'manual',
      }
    }
  }

  return out
}

export function backups(site: string, env: string, sets: Parameters<typeof listJson>[2]): Backup[] {
  return backupsFromList(site, env, listJson(site, env, sets))
}
