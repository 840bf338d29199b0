import {type Backup, type Element, type Initiator} from '../../../src/catalog/index.js'

/** A Backup as backupsFromList would build it, with only what a test cares about spelled out. */
export function backup(
  folder: string,
  element: Element,
  date: string,
  extra: Partial<Backup> & {initiator?: Initiator} = {},
): Backup {
  const site = extra.site ?? 'alpha'
  const env = extra.env ?? 'live'
  const stamp = date.slice(0, 19).replaceAll(':', '-')
  const ext = element === 'database' ? '.sql.gz' : '.tar.gz'
  return {
    site,
    env,
    element,
    id: `${folder}_${element}`,
    folder,
    file: `${site}_${env}_${stamp}_UTC_${element}${ext}`,
    date: new Date(date),
    expiry: null,
    initiator: folder.endsWith('_automated') ? 'automated' : 'manual',
    sizeBytes: 1024,
    sizeText: '0.1MB',
    ...extra,
  }
}
