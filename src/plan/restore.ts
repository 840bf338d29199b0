/**
 * The rules of `backup:restore` that need no I/O: which elements can go back to Pantheon, the size above
 * which Pantheon does not import through a URL (and what to do instead), and which mirrored archives a
 * choice (--latest, --at, --file) means, read from the mirror's own listing.
 */
import type {Backup, BackupSet, Element, Initiator} from '../catalog/types.js'

import {groupIntoSets, normalizeElement, parseCatalogId, parseFilename} from '../catalog/index.js'
import {PbmError, UsageError} from '../errors.js'
import {formatBytes} from '../util/bytes.js'
import {type BackupChoice, selectBackups} from './select.js'

/**
 * Pantheon imports an archive through a URL only when it is "less than 500MB" (Pantheon's docs, the
 * database and files import guides; docs/TERMINUS-IMPORT.md). 500 MiB, the larger reading of "MB": an
 * archive between 500 MB and 500 MiB is let through and Pantheon's own check has the last word.
 */
export const URL_IMPORT_LIMIT_BYTES = 500 * 1024 * 1024

/** What `terminus import:*` can put back: the database and the files. */
export type RestorableElement = Exclude<Element, 'code'>

/**
 * The elements to restore, normalized (`db` is `database`), deduplicated, in the order files, database.
 * `code` is refused: it lives in the site's Git repository, and Pantheon restores it only from its own
 * backups.
 */
export function restorableElements(names: readonly string[]): RestorableElement[] {
  const elements = new Set<Element>(names.map((name) => normalizeElement(name)))
  if (elements.has('code')) {
    throw new UsageError(
      'The code cannot be restored from the mirror: code lives in the site’s Git repository, and Terminus imports only a database or files.',
      'Restore code with `terminus backup:restore <site>.<env> --element=code` while Pantheon still holds that backup, or push the commit with Git; leave out --element code here.',
    )
  }

  return (['files', 'database'] as const).filter((el) => elements.has(el))
}

/** What a person runs instead when an archive is above the URL-import limit. */
export function manualRoute(target: {env: string; site: string}, element: RestorableElement, file: string): string {
  const siteEnv = `${target.site}.${target.env}`
  if (element === 'database') {
    return [
      `Import ${file} by hand (Pantheon takes archives above its 500MB URL-import limit only this way):`,
      `  1. Download it from the mirror (pbm backup:pick, aws s3 cp, or the local copy).`,
      `  2. terminus env:wake ${siteEnv}`,
      `  3. gunzip -c ${file} | $(terminus connection:info ${siteEnv} --field=mysql_command)`,
      `     (this replaces the tables of ${siteEnv} that the dump contains)`,
    ].join('\n')
  }

  return [
    `Import ${file} by hand (Pantheon takes archives above its 500MB URL-import limit only this way):`,
    `  1. Download it from the mirror and unpack it: mkdir files && tar -xzf ${file} -C files --strip-components=1`,
    `  2. Copy it with rsync over SFTP (Terminus Rsync Plugin): terminus rsync files/ ${siteEnv}:files`,
    `     or: rsync -rLvz --size-only --ipv4 --progress -e 'ssh -p 2222' files/ ${target.env}.<site-id>@appserver.${target.env}.<site-id>.drush.in:files/`,
  ].join('\n')
}

/** Refuse, before any change, an archive that Pantheon would not import through a URL. */
export function checkImportSize(
  archive: {element: RestorableElement; file: string; size: number},
  target: {env: string; site: string},
  limit = URL_IMPORT_LIMIT_BYTES,
): void {
  if (archive.size > limit) {
    throw new PbmError(
      'import-too-large',
      `${archive.file} is ${archive.size} bytes; Pantheon imports through a URL only up to ${limit} bytes${limit === URL_IMPORT_LIMIT_BYTES ? ' (its documented 500MB)' : ''}.`,
      {hint: manualRoute(target, archive.element, archive.file)},
    )
  }
}

/** One archive as the mirror lists it: a key under `<prefix><site>/<env>/`, and pbm's record if any. */
export interface MirroredArchive {
  /** Pantheon's filename (the key's last part). */
  file: string
  /** Exact size in bytes of the stored object. */
  size: number
  /** The backup folder pbm recorded (`pbm-folder`), when the object carries pbm's metadata. */
  folder?: string
}

/**
 * The mirror's archives of SITE.ENV as Backups, so that the catalog's and pick's rules (sets, newest
 * first, --latest/--at/--file) apply unchanged. Names that are not Pantheon archives of this site.env
 * are left out. The date is the filename's (when the backup started; Pantheon's finish time is not kept).
 */
export function backupsFromMirror(site: string, env: string, archives: readonly MirroredArchive[]): Backup[] {
  const out: Backup[] = []
  for (const archive of archives) {
    const parsed = parseFilename(archive.file)
    if (!parsed || parsed.site !== site || (parsed.env !== undefined && parsed.env !== env)) continue
    const epoch = Math.floor(parsed.date.getTime() / 1000)
    const recorded = archive.folder ? parseCatalogId(`${archive.folder}_${parsed.element}`) : undefined
    const folder = recorded ? recorded.folder : `${epoch}_backup`
    const initiator: Initiator = recorded ? recorded.initiator : 'manual'
    out.push({
      site,
      env,
      element: parsed.element,
      id: `${folder}_${parsed.element}`,
      folder,
      file: archive.file,
      date: parsed.date,
      expiry: null,
      initiator,
      sizeBytes: archive.size,
      sizeText: formatBytes(archive.size),
    })
  }

  return out
}

/** The mirror's backup sets of SITE.ENV, newest first: what a person chooses from. */
export function mirrorSetsNewestFirst(site: string, env: string, archives: readonly MirroredArchive[]): BackupSet[] {
  return groupIntoSets(backupsFromMirror(site, env, archives).filter((b) => b.element !== 'code'))
}

/**
 * The archives to restore: as `backup:pick` chooses (`--file` names archives; `--latest`/`--at` take
 * the newest archive of each element at or before the date), among the mirror's restorable archives.
 * Naming a code archive with --file is refused like --element code.
 */
export function selectForRestore(
  site: string,
  env: string,
  archives: readonly MirroredArchive[],
  choice: BackupChoice,
  elements: readonly RestorableElement[],
): Backup[] {
  const mirrored = backupsFromMirror(site, env, archives)
  const chosen = selectBackups(
    choice.files?.length ? mirrored : mirrored.filter((b) => b.element !== 'code'),
    choice,
    choice.files?.length ? undefined : [...elements],
  )
  restorableElements(chosen.map((b) => b.element))
  return chosen
}
