import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import type {Backup} from '../catalog/types.js'
import type {ArchiveMeta, Destination, ExistingObject} from '../destination/index.js'
import type {DestinationKind} from '../destination/types.js'
import type {Terminus} from '../terminus/index.js'
import type {EventSink} from './events.js'

import {createLocalDestination, createS3Destination} from '../destination/index.js'
import {createLocalInventory} from '../destination/local-inventory.js'
import {presignGet, type S3Location, stageForImport, sweepExpiredStages} from '../destination/presign.js'
import {createLocalReader, createS3Reader} from '../destination/read.js'
import {createS3Inventory} from '../destination/s3-inventory.js'
import {type SweptStage} from '../destination/stage.js'
import {createVaultReadback} from '../destination/vault-read.js'
import {InterruptedError, PbmError} from '../errors.js'
import {checkImportSize, type MirroredArchive, type RestorableElement} from '../plan/restore.js'
import {parseArchiveKey} from '../plan/series.js'
import {Restic, type ResticOptions} from '../restic/index.js'
import {StreamVerifier, type Verified} from '../transfer/verify.js'
import {createLimit} from '../util/limit.js'
import {
  type ArchiveRef,
  type BackupFirstResult,
  baseOf,
  describeFailure,
  type RestoredArchive,
  type RestoreResult,
  type SiteEnvRef,
} from './results.js'

/** One archive to import: the source's backup (from the mirror's listing) and its key in the mirror. */
export interface RestoreItem {
  backup: Backup
  /** `<site>/<env>/<file>`, relative to the mirror's bucket prefix or folder. */
  key: string
}

export interface RestorePlan {
  target: SiteEnvRef
  /** In the order they are imported (files, then the database). */
  items: RestoreItem[]
  backupFirst: boolean
  /** Read every archive back in full before importing, not only pbm's record of it. */
  deep: boolean
  dryRun: boolean
  /** Lifetime of the presigned URL Pantheon fetches. */
  expiresInSeconds: number
  /** Pantheon's URL-import size limit (default: plan/restore's). */
  importLimit?: number
}

/** A URL Pantheon can fetch for one archive: a secret, handed to Terminus and to nothing else. */
export interface Published {
  url: string
  expiresAt: Date
  /** `s3://bucket/key`, safe to print. */
  where: string
  /** A stage to delete after the import (local mirrors); none for a presigned mirror object. */
  stage?: {remove(): Promise<void>}
}

/** What the verification of a mirrored archive saw: the URL Pantheon gets must serve exactly this. */
export interface VerifiedObject {
  size: number
  /** The MD5 (hex) pbm recorded or (deep) computed. */
  md5?: string
  /** S3, versioned bucket: the version that was verified. */
  versionId?: string
  /** S3: the ETag of what was verified. */
  etag?: string
}

/** Where the mirror is, as backup:restore needs it: list, check, read back, and publish for Pantheon. */
export interface RestoreMirror {
  readonly kind: DestinationKind
  describe(key: string): string
  /** Every mirrored archive of SITE.ENV (any other object is left out). */
  listArchives(site: string, env: string, signal?: AbortSignal): Promise<MirroredArchive[]>
  /** Every site.env that has archives in the mirror. */
  listSiteEnvs(signal?: AbortSignal): Promise<SiteEnvRef[]>
  inspect(key: string, signal?: AbortSignal): Promise<ExistingObject | undefined>
  /**
   * The archive as Pantheon imports it, streamed: the stored bytes (S3, folder; `versionId` pins a
   * version), or a vault's content gzip-compressed anew, which throws as it ends when the content's
   * SHA-256 is not the recorded one.
   */
  read(key: string, signal: AbortSignal, versionId?: string): Promise<AsyncIterable<Buffer>>
  /**
   * True when read() gives the stored archive's own bytes, so their size and MD5 are checked against
   * pbm's record; false for a vault, whose gzip bytes are new and whose content's SHA-256 is checked.
   */
  readonly storesArchives: boolean
  /**
   * Presign (S3) or stage and presign (local) what was verified: on a versioned bucket the URL names the
   * verified version; elsewhere the object (or the local file) must still be what was verified, or this
   * throws. Throws a usage error for a local mirror without a stage.
   */
  publish(key: string, expiresInSeconds: number, signal: AbortSignal, verified: VerifiedObject): Promise<Published>
  /** With a stage: delete the stages that earlier runs left there and whose URLs have expired. */
  sweepStages?(signal: AbortSignal): Promise<SweptStage[]>
}

export interface RestoreDeps {
  terminus: Pick<Terminus, 'createBackup' | 'importDatabase' | 'importFiles' | 'requireReliableImports'>
  mirror: RestoreMirror
  events: EventSink
}

const siteEnvOf = (ref: SiteEnvRef) => `${ref.site}.${ref.env}`

/**
 * backup:restore's work once the choices are made. Before any change: every archive is within
 * Pantheon's URL-import limit and is what pbm stored (pbm's record; with `deep`, read back in full).
 * Then a backup of the target (unless skipped), then one `terminus import:*` at a time, stopping at
 * the first failure. A stage is deleted after its import, whatever happened (finally).
 */
export async function restore(plan: RestorePlan, deps: RestoreDeps, signal: AbortSignal): Promise<RestoreResult> {
  const {events, mirror, terminus} = deps
  const {target} = plan
  const refs = plan.items.map((item) => baseOf(item.backup))
  // First, before anything is read, staged or changed: a Terminus that cannot tell a failed import.
  if (!plan.dryRun) await terminus.requireReliableImports({signal})
  events.emit({archives: refs, backupFirst: plan.backupFirst, dryRun: plan.dryRun, target, type: 'restore:started'})

  for (const item of plan.items) {
    checkImportSize(
      {element: item.backup.element as RestorableElement, file: item.backup.file, size: item.backup.sizeBytes},
      target,
      plan.importLimit,
    )
  }

  const verified: VerifiedObject[] = []
  for (const [i, item] of plan.items.entries()) {
    verified.push(await verifyStored(item, refs[i], plan, deps, signal))
  }

  const rows = plan.items.map((item) => rowOf(item, mirror, siteEnvOf(target), plan.dryRun ? 'planned' : 'not-run'))
  const elements = [...new Set(plan.items.map((item) => item.backup.element))]
  const backupFirst: BackupFirstResult = {
    element: elements.length === 1 ? elements[0] : 'all',
    status: plan.backupFirst ? 'planned' : 'skipped',
    target: siteEnvOf(target),
  }
  if (plan.dryRun) {
    if (plan.backupFirst) events.emit({reason: 'dry run', target, type: 'backup:create-skipped'})
    return {backupFirst, restored: rows}
  }

  const warnings: string[] = []
  await sweepStages(deps, warnings, signal)
  if (plan.backupFirst) {
    events.emit({target, type: 'backup:creating'})
    const started = Date.now()
    try {
      await terminus.createBackup(target.site, target.env, {element: backupFirst.element as 'all', signal})
      backupFirst.status = 'created'
      backupFirst.seconds = seconds(started)
      events.emit({seconds: backupFirst.seconds, target, type: 'backup:created'})
    } catch (error) {
      backupFirst.status = 'failed'
      backupFirst.error = describeFailure(error)
      events.emit({error: backupFirst.error, target, type: 'target:failed'})
      return withWarnings({backupFirst, restored: rows}, warnings)
    }
  }

  for (const [i, item] of plan.items.entries()) {
    const row = rows[i]
    const archive = refs[i]
    const started = Date.now()
    let published: Published | undefined
    try {
      if (signal.aborted) throw signal.reason ?? new InterruptedError()
      published = await mirror.publish(item.key, plan.expiresInSeconds, signal, verified[i])
      row.location = published.where
      if (published.stage) events.emit({archive, target, type: 'restore:staged', where: published.where})
      events.emit({archive, expiresAt: published.expiresAt, from: published.where, target, type: 'restore:importing'})
      const importArchive = row.element === 'database' ? terminus.importDatabase : terminus.importFiles
      await importArchive.call(terminus, target.site, target.env, published.url, {signal})
      row.workflow = 'succeeded'
      row.seconds = seconds(started)
      events.emit({archive, seconds: row.seconds, target, type: 'restore:imported'})
    } catch (error) {
      row.workflow = 'failed'
      row.seconds = seconds(started)
      row.error = describeFailure(error)
      events.emit({archive, error: row.error, target, type: 'restore:failed'})
    } finally {
      if (published?.stage) {
        try {
          await published.stage.remove()
          events.emit({archive, target, type: 'restore:unstaged', where: published.where})
        } catch (error) {
          const failure = describeFailure(error)
          warnings.push(failure.message)
          events.emit({archive, error: failure, target, type: 'restore:unstaged', where: published.where})
        }
      }
    }

    // Nothing more is changed on a site once one import failed or the user stopped the run.
    if (row.workflow === 'failed') break
  }

  return withWarnings({backupFirst, restored: rows}, warnings)
}

/** backup:restore --output: the chosen archives go to local files, and nothing to Pantheon. */
export interface SavePlan {
  /** Whose archives they are. */
  source: SiteEnvRef
  items: RestoreItem[]
  /** One archive's file, or a folder that takes each archive under its Pantheon filename. */
  output: {file: string} | {folder: string}
  /** Replace a different file already there. */
  force: boolean
}

/**
 * backup:restore --output's work: each archive read from the mirror in full, verified as it streams
 * (saveArchive), into its file; stops at the first failure. Needs no Terminus and changes no site.
 */
export async function saveArchives(
  plan: SavePlan,
  deps: Pick<RestoreDeps, 'events' | 'mirror'>,
  signal: AbortSignal,
): Promise<RestoreResult> {
  const {events, mirror} = deps
  const target = plan.source
  const refs = plan.items.map((item) => baseOf(item.backup))
  events.emit({archives: refs, backupFirst: false, dryRun: false, target, type: 'restore:started'})
  const rows = savedRows(plan, mirror, 'not-run')
  for (const [i, item] of plan.items.entries()) {
    const row = rows[i]
    const archive = refs[i]
    const started = Date.now()
    try {
      if (signal.aborted) throw signal.reason ?? new InterruptedError()
      events.emit({archive, deep: true, target, type: 'restore:verifying'})
      const stored = await mirror.inspect(item.key, signal)
      if (!stored) throw new PbmError('not-found', `${row.location} is not in the mirror (any more).`)
      const saved = await saveArchive(mirror, {key: item.key, meta: metaOf(item.backup)}, stored, row.target, {
        force: plan.force,
        signal,
      })
      events.emit({archive, bytes: saved.bytes, deep: true, md5: saved.md5, target, type: 'restore:verified'})
      row.workflow = saved.status
      row.seconds = seconds(started)
      events.emit({
        archive,
        bytes: saved.bytes,
        file: saved.file,
        target,
        type: 'restore:saved',
        unchanged: saved.status === 'unchanged',
      })
    } catch (error) {
      row.workflow = 'failed'
      row.seconds = seconds(started)
      row.error = describeFailure(error)
      events.emit({archive, error: row.error, target, type: 'restore:failed'})
      break
    }
  }

  const elements = [...new Set(plan.items.map((item) => item.backup.element))]
  return {
    backupFirst: {element: elements.length === 1 ? elements[0] : 'all', status: 'skipped', target: ''},
    restored: rows,
  }
}

/** The result rows of --output before anything is written: each archive and the file it goes to. */
export function savedRows(
  plan: SavePlan,
  mirror: Pick<RestoreMirror, 'describe'>,
  workflow: RestoredArchive['workflow'],
): RestoredArchive[] {
  const {output} = plan
  return plan.items.map((item) =>
    rowOf(item, mirror, 'file' in output ? output.file : path.join(output.folder, item.backup.file), workflow),
  )
}

/** One archive's result row, before its outcome is known. */
function rowOf(
  item: RestoreItem,
  mirror: Pick<RestoreMirror, 'describe'>,
  target: string,
  workflow: RestoredArchive['workflow'],
): RestoredArchive {
  return {
    date: item.backup.date,
    element: item.backup.element as RestorableElement,
    env: item.backup.env,
    file: item.backup.file,
    location: mirror.describe(item.key),
    seconds: 0,
    site: item.backup.site,
    target,
    workflow,
  }
}

function withWarnings(result: RestoreResult, warnings: string[]): RestoreResult {
  return warnings.length > 0 ? {...result, warnings} : result
}

/**
 * The stages that crashed runs left in this restore's stage location: deleted once their URLs have
 * expired. A sweep that fails is a warning, never the restore's failure.
 */
async function sweepStages(deps: RestoreDeps, warnings: string[], signal: AbortSignal): Promise<void> {
  if (!deps.mirror.sweepStages) return
  for (const swept of await deps.mirror.sweepStages(signal)) {
    if (swept.error) warnings.push(swept.error.message)
    deps.events.emit({type: 'stage:swept', ...swept})
  }
}

/**
 * Quick: pbm's record says the stored object is complete and of the recorded size. Deep: read it all
 * back (the version that was inspected, on a versioned bucket). Returns what was verified.
 */
async function verifyStored(
  item: RestoreItem,
  archive: ArchiveRef,
  plan: RestorePlan,
  deps: RestoreDeps,
  signal: AbortSignal,
): Promise<VerifiedObject> {
  const {events, mirror} = deps
  const where = mirror.describe(item.key)
  events.emit({archive, deep: plan.deep, target: plan.target, type: 'restore:verifying'})
  const stored = await mirror.inspect(item.key, signal)
  if (!stored) throw new PbmError('not-found', `${where} is not in the mirror (any more).`)
  if (stored.recordedSize !== undefined && stored.recordedSize !== stored.size) {
    throw new PbmError(
      'size-mismatch',
      `${where} is ${stored.size} bytes, but pbm stored ${stored.recordedSize}: it was changed since.`,
      {hint: 'Mirror it again (backup:pick --force) or choose another backup.'},
    )
  }

  if (!plan.deep) {
    if (!stored.complete) {
      throw new PbmError('unverified', `${where} carries no record of pbm's verification.`, {
        hint: 'Add --deep to read it back in full (size, MD5, gzip integrity) before importing it.',
      })
    }

    events.emit({
      archive,
      bytes: stored.size,
      deep: false,
      md5: stored.md5,
      target: plan.target,
      type: 'restore:verified',
    })
    return verifiedOf(stored, stored.md5)
  }

  const verified = await readVerified(mirror, item.key, stored, signal)
  events.emit({
    archive,
    bytes: verified.bytes,
    deep: true,
    md5: verified.md5,
    target: plan.target,
    type: 'restore:verified',
  })
  // A vault's gzip is made anew on every read: only its content is what was verified.
  return mirror.storesArchives ? verifiedOf(stored, verified.md5) : verifiedOf(stored)
}

/**
 * Read an archive from the mirror in full and verify it as it streams (gzip to its trailer; the stored
 * bytes also by size and MD5, a vault's content by its SHA-256), handing each chunk to `onChunk` (a
 * file being written) as well. Throws when anything differs, or at an abort.
 */
async function readVerified(
  mirror: RestoreMirror,
  key: string,
  stored: ExistingObject,
  signal: AbortSignal,
  onChunk?: (chunk: Buffer) => Promise<void> | void,
): Promise<Verified> {
  const verifier = new StreamVerifier(mirror.describe(key))
  try {
    for await (const chunk of await mirror.read(key, signal, stored.versionId)) {
      if (signal.aborted) throw signal.reason ?? new InterruptedError()
      await Promise.all([verifier.update(chunk), onChunk?.(chunk)])
    }

    if (signal.aborted) throw signal.reason ?? new InterruptedError()
    return await verifier.finish(
      mirror.storesArchives ? {hash: {md5: stored.md5}, total: stored.recordedSize ?? stored.size} : {hash: {}},
    )
  } finally {
    verifier.dispose()
  }
}

/** The archive's facts, as a local file records them. */
function metaOf(backup: Backup): ArchiveMeta {
  return {element: backup.element, env: backup.env, file: backup.file, folder: backup.folder, site: backup.site}
}

/** What saveArchive did: wrote the file, or found the same archive there already. */
export interface SavedArchive {
  file: string
  bytes: number
  md5: string
  status: 'saved' | 'unchanged'
}

/**
 * Write one archive of the mirror to a local file, verified as it streams (readVerified): created as
 * a `.partial` (exclusive, 0600, never through a symlink) and renamed only once verified, so nothing
 * half-written or unverified ever has the final name. A different file already there is never
 * replaced without `force`; the same archive (same bytes) is left as it is.
 */
export async function saveArchive(
  mirror: RestoreMirror,
  item: {key: string; meta: ArchiveMeta},
  stored: ExistingObject,
  file: string,
  options: {force: boolean; signal: AbortSignal},
): Promise<SavedArchive> {
  const {force, signal} = options
  const local = createLocalDestination({file})
  await local.preflight(signal)
  const existsDifferent = () =>
    new PbmError('exists-different', `${file} exists and is not this archive: it was not overwritten.`, {
      hint: 'Add --force to replace it, or give --output another path.',
    })
  const before = await local.inspect(item.key, signal)
  if (before && !force && mirror.storesArchives && stored.md5) {
    // Decided before any read: the stored archive's MD5 is known.
    const there = before.complete && before.md5 ? before.md5 : (await local.hash!(item.key, signal)).md5
    if (there !== stored.md5) throw existsDifferent()
    return {bytes: before.size, file, md5: there, status: 'unchanged'}
  }

  const sink = await local.open(item.key, item.meta, signal)
  try {
    const verified = await readVerified(mirror, item.key, stored, signal, (chunk) => sink.write(chunk))
    await sink.flush?.()
    if (!force && (await local.inspect(item.key, signal))) {
      // Made anew (a vault) or there is no MD5 to compare before: the bytes just written tell.
      const there = await local.hash!(item.key, signal)
      await sink.abort()
      if (there.md5 !== verified.md5) throw existsDifferent()
      return {bytes: verified.bytes, file, md5: verified.md5, status: 'unchanged'}
    }

    await sink.commit({bytes: verified.bytes, crc32c: verified.crc32c, md5: verified.md5})
    return {bytes: verified.bytes, file, md5: verified.md5, status: 'saved'}
  } catch (error) {
    await sink.abort()
    throw error
  }
}

function verifiedOf(stored: ExistingObject, md5?: string): VerifiedObject {
  return {
    size: stored.size,
    ...(md5 ? {md5} : {}),
    ...(stored.versionId ? {versionId: stored.versionId} : {}),
    ...(stored.etag ? {etag: stored.etag} : {}),
  }
}

/** The object under `key` is no longer the one that was verified: it must not be imported. */
function changedSinceVerified(where: string): PbmError {
  return new PbmError('changed-since-verified', `${where} changed since it was verified: it was not imported.`, {
    hint: 'Run the restore again (it verifies the archive as it is now); a versioned bucket pins the verified version.',
  })
}

function seconds(since: number): number {
  return Math.round((Date.now() - since) / 100) / 10
}

export interface MirrorSettings {
  s3?: S3Location & {prefix: string; profile?: string; region?: string}
  local?: {root: string}
  /** A vault: the restic repository pbm wrote (`--restic`), and the restic to read it with. */
  vault?: ResticOptions
  /** Where a local archive is staged for Pantheon: `s3://bucket/prefix` and the S3 settings. */
  stage?: S3Location & {prefix: string}
}

/** The mirror of one restore run: an S3 bucket (and prefix) or a local folder. */
export function openRestoreMirror(settings: MirrorSettings): RestoreMirror {
  const {local, s3, stage, vault} = settings
  if (vault) return openVault(new Restic(vault), stage)
  if (s3) {
    const destination: Destination = createS3Destination({...s3})
    const inventory = createS3Inventory({...s3})
    const reader = createS3Reader(s3)
    return {
      describe: (key) => destination.describe(key),
      inspect: (key, signal) => destination.inspect(key, signal),
      kind: 's3',
      listArchives: (site, env, signal) => listArchives(inventory.list(signal), site, env),
      listSiteEnvs: (signal) => listSiteEnvs(inventory.list(signal)),
      async publish(key, expiresInSeconds, signal, verified) {
        const where = `s3://${s3.bucket}/${s3.prefix}${key}`
        // A versioned bucket: the URL names the verified version, so a later write under the key is
        // never what Pantheon fetches. Otherwise the object is checked once more just before presigning.
        const versionId = verified.versionId && verified.versionId !== 'null' ? verified.versionId : undefined
        if (!versionId) {
          const now = await destination.inspect(key, signal)
          if (!now || now.size !== verified.size || now.etag !== verified.etag) throw changedSinceVerified(where)
        }

        const {expiresAt, url} = await presignGet(s3, `${s3.prefix}${key}`, {expiresInSeconds, versionId})
        return {expiresAt, url, where}
      },
      read: async (key, signal, versionId) => (await reader.read(key, signal, versionId)).body,
      storesArchives: true,
    }
  }

  if (!local) throw new PbmError('usage', 'No mirror was given.', {exitCode: 2})
  const destination = createLocalDestination({root: local.root})
  const inventory = createLocalInventory({root: local.root})
  const reader = createLocalReader({root: local.root})
  return {
    describe: (key) => destination.describe(key),
    inspect: (key, signal) => destination.inspect(key, signal),
    kind: 'local',
    listArchives: (site, env, signal) => listArchives(inventory.list(signal), site, env),
    listSiteEnvs: (signal) => listSiteEnvs(inventory.list(signal)),
    async publish(key, expiresInSeconds, signal, verified) {
      if (!stage) throw stageMissing()
      // The store refuses the upload (Content-MD5) when the file is no longer the verified archive.
      const staged = await stageForImport(stage, destination.describe(key), {
        expiresInSeconds,
        md5: verified.md5,
        prefix: stage.prefix,
        signal,
      })
      return {expiresAt: staged.expiresAt, stage: staged, url: staged.url, where: staged.where}
    },
    read: async (key, signal) => (await reader.read(key, signal)).body,
    storesArchives: true,
    ...(stage ? {sweepStages: (signal: AbortSignal) => sweepExpiredStages(stage, {signal})} : {}),
  }
}

/**
 * A vault as a restore's mirror: its complete archives (those with a completion record), each read as
 * a new gzip of its content (SHA-256 checked), and published as a local mirror's archive is: written
 * to a private temporary file, then staged (`--stage`) for Pantheon and the file removed.
 */
function openVault(restic: Restic, stage: MirrorSettings['stage']): RestoreMirror {
  const readback = createVaultReadback(restic)
  const listed = async (signal?: AbortSignal) => [...(await readback.archives(signal)).values()]
  const mirror: RestoreMirror = {
    describe: (key) => `${restic.location}::${key}`,
    async inspect(key, signal) {
      const archive = (await readback.archives(signal)).get(key)
      if (!archive) return
      // Listed only with its completion record, saved after the archive was verified.
      return {complete: true, folder: archive.folder, size: archive.size ?? 0}
    },
    kind: 'restic',
    async listArchives(site, env, signal) {
      return (await listed(signal))
        .filter((a) => a.site === site && a.env === env)
        .map((a) => ({file: a.file, folder: a.folder, size: a.size ?? 0}))
    },
    async listSiteEnvs(signal) {
      const seen = new Map<string, SiteEnvRef>()
      for (const a of await listed(signal)) if (a.element !== 'code') seen.set(`${a.site}.${a.env}`, a)
      return [...seen.values()]
        .map(({env, site}) => ({env, site}))
        .sort((a, b) => a.site.localeCompare(b.site) || a.env.localeCompare(b.env))
    },
    async publish(key, expiresInSeconds, signal) {
      if (!stage) throw stageMissing()
      const archive = (await readback.archives(signal)).get(key)
      if (!archive) throw new PbmError('not-found', `${mirror.describe(key)} is not in the vault (any more).`)
      // 0700, readable by this user only; removed whatever happens, once the stage has its copy.
      const dir = await mkdtemp(path.join(tmpdir(), 'pbm-restore-'))
      try {
        const file = path.join(dir, archive.file)
        const {element, env, folder, site} = archive
        const written = await saveArchive(
          mirror,
          {key, meta: {element, env, file: archive.file, folder, site}},
          {complete: true, size: archive.size ?? 0},
          file,
          {force: false, signal},
        )
        const staged = await stageForImport(stage, file, {
          expiresInSeconds,
          md5: written.md5,
          prefix: stage.prefix,
          signal,
        })
        return {expiresAt: staged.expiresAt, stage: staged, url: staged.url, where: staged.where}
      } finally {
        await rm(dir, {force: true, recursive: true})
      }
    },
    read: async (key, signal) => readback.read(key, signal),
    storesArchives: false,
    ...(stage ? {sweepStages: (signal: AbortSignal) => sweepExpiredStages(stage, {signal})} : {}),
  }
  return mirror
}

/**
 * The archives with the backup folder pbm recorded for each (S3 metadata, the local record), so that a
 * set shows who started it (`automated` or `manual`): the listing alone has only the filenames. One
 * look per archive, a few at a time; an archive without a record keeps none.
 */
export async function withRecordedFolders(
  mirror: Pick<RestoreMirror, 'inspect'>,
  source: SiteEnvRef,
  archives: readonly MirroredArchive[],
  signal?: AbortSignal,
): Promise<MirroredArchive[]> {
  const limit = createLimit(RECORD_LOOKUPS)
  return Promise.all(
    archives.map(async (archive) => {
      if (archive.folder) return archive
      const stored = await limit(() => mirror.inspect(`${source.site}/${source.env}/${archive.file}`, signal), signal)
      return stored?.folder ? {...archive, folder: stored.folder} : archive
    }),
  )
}

/** Archives looked at together by withRecordedFolders. */
const RECORD_LOOKUPS = 8

/** Pantheon fetches imports from a URL: an archive in a local folder needs a stage. */
export function stageMissing(): PbmError {
  return new PbmError('no-stage', 'Pantheon imports only from a URL, and a local mirror has none.', {
    exitCode: 2,
    hint: 'Add --stage s3://bucket/prefix: pbm uploads the archive there, presigns it for Pantheon, and deletes it after the import.',
  })
}

async function listArchives(
  pages: AsyncIterable<Array<{key: string; size: number}>>,
  site: string,
  env: string,
): Promise<MirroredArchive[]> {
  const out: MirroredArchive[] = []
  for await (const page of pages) {
    for (const object of page) {
      const parsed = parseArchiveKey(object.key)
      if (parsed && parsed.site === site && parsed.env === env) out.push({file: parsed.file, size: object.size})
    }
  }

  return out
}

async function listSiteEnvs(pages: AsyncIterable<Array<{key: string; size: number}>>): Promise<SiteEnvRef[]> {
  const seen = new Map<string, SiteEnvRef>()
  for await (const page of pages) {
    for (const object of page) {
      const parsed = parseArchiveKey(object.key)
      if (parsed && parsed.element !== 'code')
        seen.set(`${parsed.site}.${parsed.env}`, {env: parsed.env, site: parsed.site})
    }
  }

  return [...seen.values()].sort((a, b) => a.site.localeCompare(b.site) || a.env.localeCompare(b.env))
}
