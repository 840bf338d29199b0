import type {CompactOutcome, Inventory, InventoryObject, Leftover, RemoveOutcome} from './inventory.js'
import type {ObjectReader, StoreCheck, StoreCheckRead} from './read.js'

import {PbmError} from '../errors.js'
import {type Restic, type Snapshot} from '../restic/index.js'
import {DELETE_BATCH, LIST_PAGE} from './inventory.js'
import {completedArchives, RECORD_TAG, tagOf, type VaultArchive, vaultArchive} from './vault.js'

/** What a vault holds, sorted: pbm's complete archives, pbm's leftovers, and snapshots not pbm's. */
export interface VaultContents {
  /** By pbm's key `<site>/<env>/<file>`: the data snapshot and its completion record (completedArchives). */
  archives: Map<string, VaultArchive>
  /** Per key, every snapshot of its complete copies (a --force re-run may have stored two): what removing it forgets. */
  snapshotsOf: Map<string, Snapshot[]>
  /** Data snapshots without a completion record naming them. */
  orphans: VaultArchive[]
  /** Completion records whose data snapshot is not in the vault (forgotten by hand). */
  dangling: Snapshot[]
  /** Snapshots pbm did not write (no `pbm` tag, or tags pbm would not write): never touched. */
  foreign: Snapshot[]
}

/** The key remove() takes for a leftover snapshot: never a `<site>/<env>/<file>` key. */
const LEFTOVER_KEY = 'leftover:'

/** Sorts a vault's snapshots (pure). */
export function vaultContents(snapshots: readonly Snapshot[]): VaultContents {
  const archives = completedArchives([...snapshots])
  const snapshotsOf = new Map<string, Snapshot[]>()
  const used = new Set<string>()
  const records = snapshots.filter((s) => s.tags.includes('pbm') && s.tags.includes(RECORD_TAG))
  const data = snapshots.flatMap((s) => vaultArchive(s) ?? [])
  for (const archive of data) {
    const key = `${archive.site}/${archive.env}/${archive.file}`
    if (!archives.has(key)) continue
    const mine = records.filter((r) => recordNames(r, archive))
    if (mine.length === 0) continue
    snapshotsOf.set(key, [...(snapshotsOf.get(key) ?? []), archive.snapshot, ...mine])
    used.add(archive.snapshot.id)
    for (const r of mine) used.add(r.id)
  }

  const orphans = data.filter((a) => !used.has(a.snapshot.id) && !records.some((r) => recordNames(r, a)))
  const dangling = records.filter((r) => !data.some((a) => recordNames(r, a)))
  const foreign = snapshots.filter((s) => !vaultArchive(s) && !records.includes(s))
  return {archives, dangling, foreign, orphans, snapshotsOf}
}

/** Whether a completion record names this data snapshot (restic 0.14 gives the saved snapshot's short ID). */
function recordNames(record: Snapshot, archive: VaultArchive): boolean {
  const of = tagOf(record, 'of')
  return Boolean(of) && archive.snapshot.id.startsWith(of!) && tagOf(record, 'file') === archive.file
}

export interface LeftoverFilter {
  targets?: ReadonlyArray<{site: string; env: string}>
  elements?: readonly string[]
  now: Date
  /**
   * How long a run may take between saving an archive's data snapshot and saving its record: an
   * unrecorded snapshot younger than this may be a running pbm's, and is left alone (the lock lease).
   */
  leaseMs: number
}

/**
 * pbm's leftovers in a vault (pure), each with why it is one:
 * - a data snapshot without a completion record: truncated or unverified by a run that was killed or
 *   failed to save the record. It is pbm's leftover when the archive was stored again with its record
 *   since, or when its run began longer ago than the lease (the `started` tag; without one, the backup's
 *   own time); a younger one may be a running pbm's, whose record is being saved: left alone.
 * - a completion record whose data snapshot is gone (forgotten by hand): it vouches for nothing.
 * Snapshots pbm did not write are never leftovers.
 */
export function vaultLeftovers(
  contents: VaultContents,
  filter: LeftoverFilter,
): Array<{snapshot: Snapshot; reason: string}> {
  const selected = (s: Snapshot): boolean => {
    const [site, env, element] = ['site', 'env', 'element'].map((n) => tagOf(s, n))
    if (filter.targets?.length && !filter.targets.some((t) => t.site === site && t.env === env)) return false
    return !filter.elements?.length || filter.elements.includes(element ?? '')
  }

  const out: Array<{snapshot: Snapshot; reason: string}> = []
  for (const orphan of contents.orphans) {
    if (!selected(orphan.snapshot)) continue
    const key = `${orphan.site}/${orphan.env}/${orphan.file}`
    const again = contents.archives.get(key)
    if (again && again.snapshot.id !== orphan.snapshot.id) {
      out.push({
        reason: `no completion record (a run died or failed before saving it); ${orphan.file} was stored again, with its record, as ${again.snapshot.id.slice(0, 8)}`,
        snapshot: orphan.snapshot,
      })
      continue
    }

    const started = new Date(tagOf(orphan.snapshot, 'started') ?? orphan.snapshot.time)
    const age = filter.now.getTime() - started.getTime()
    if (!Number.isFinite(age) || age <= filter.leaseMs) continue
    out.push({
      reason: `no completion record, and its run began ${formatAge(age)} ago (longer than the ${formatAge(filter.leaseMs)} lease): a run that died or failed before saving it`,
      snapshot: orphan.snapshot,
    })
  }

  for (const record of contents.dangling) {
    if (!selected(record)) continue
    out.push({
      reason: `a completion record of snapshot ${tagOf(record, 'of') ?? '?'}, which is no longer in the vault`,
      snapshot: record,
    })
  }

  return out
}

function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000)
  if (minutes < 2) return `${Math.round(ms / 1000)} s`
  if (minutes < 120) return `${minutes} min`
  return `${Math.floor(minutes / 60)} h`
}

/**
 * A vault as prune and verify see it: pbm's complete archives under pbm's keys (one `restic snapshots`
 * per run), removed with `restic forget` of exactly their snapshots (data and record, one call per
 * batch), then `restic prune` to free the space (compact). Snapshots pbm did not write are listed as
 * not pbm's and never touched.
 */
export function createVaultInventory(restic: Restic, options: {leaseMs: number}): Inventory {
  let contents: Promise<VaultContents> | undefined
  const load = (signal?: AbortSignal): Promise<VaultContents> => {
    contents ??= restic
      .open(signal)
      .then(() => restic.allSnapshots(signal))
      .then((snapshots) => vaultContents(snapshots))
    contents.catch(() => {
      contents = undefined
    })
    return contents
  }

  /** The snapshots a key's removal forgets: an archive's data and record(s), or one leftover. */
  const idsOf = async (key: string): Promise<string[]> => {
    if (key.startsWith(LEFTOVER_KEY)) return [key.slice(LEFTOVER_KEY.length)]
    return ((await load()).snapshotsOf.get(key) ?? []).map((s) => s.id)
  }

  let known: VaultContents | undefined
  return {
    kind: 'restic',
    describe: (key) => `${restic.location}::${key}`,

    async *list(signal) {
      known = await load(signal)
      const objects: InventoryObject[] = [
        ...[...known.archives].map(([key, a]) => ({key, lastModified: a.snapshot.time, size: a.size ?? 0})),
        // Not pbm's: listed so that prune and verify count them, under a key no archive has.
        ...known.foreign.map((s) => ({key: `snapshot ${s.id.slice(0, 8)} ${s.paths.join(' ')}`, size: 0})),
      ]
      for (let i = 0; i < objects.length; i += LIST_PAGE) yield objects.slice(i, i + LIST_PAGE)
    },

    async recorded(keys, signal) {
      // Only archives with their completion record are listed at all.
      const {archives} = await load(signal)
      return new Set(keys.filter((k) => archives.has(k)))
    },

    async leftovers(filter, signal) {
      const found = vaultLeftovers(await load(signal), {...filter, leaseMs: options.leaseMs})
      return found.map(({reason, snapshot}): Leftover => {
        const archive = vaultArchive(snapshot)
        return {
          key: `${LEFTOVER_KEY}${snapshot.id}`,
          reason,
          size: archive?.size ?? 0,
          what: `${restic.location}::snapshot ${snapshot.id.slice(0, 8)} ${snapshot.paths.join(' ')} (${tagOf(snapshot, 'file') ?? 'pbm'})`,
        }
      })
    },

    partsOf(key) {
      if (key.startsWith(LEFTOVER_KEY)) return [key.slice(LEFTOVER_KEY.length, LEFTOVER_KEY.length + 8)]
      return known?.snapshotsOf.get(key)?.map((s) => s.id.slice(0, 8))
    },

    async *remove(keys, signal) {
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        signal?.throwIfAborted()
        const batch = keys.slice(i, i + DELETE_BATCH)
        const ids = new Map<string, string[]>()
        for (const key of batch) ids.set(key, await idsOf(key))
        let outcomes: RemoveOutcome[]
        try {
          // One call per batch: restic takes its exclusive lock once.
          const {notFound} = await restic.forget([...ids.values()].flat(), signal)
          outcomes = batch.map((key): RemoveOutcome => {
            const mine = ids.get(key)!
            if (mine.length === 0) return {alreadyGone: true, key, status: 'removed'}
            const gone = mine.every((id) => notFound.some((n) => id.startsWith(n)))
            return {key, status: 'removed', ...(gone ? {alreadyGone: true} : {})}
          })
        } catch (error) {
          if (signal?.aborted) throw error
          const code = error instanceof PbmError ? error.code : 'restic-failed'
          const message = error instanceof Error ? error.message : String(error)
          outcomes = batch.map((key) => ({code, key, message, status: 'failed'}))
        }

        yield outcomes
      }
    },

    async compact(dryRun, signal): Promise<CompactOutcome> {
      const command = 'restic prune'
      if (dryRun) return {command, status: 'planned'}
      try {
        return {command, status: 'done', ...(await restic.prune(signal))}
      } catch (error) {
        if (signal?.aborted) throw error
        const code = error instanceof PbmError ? error.code : 'restic-failed'
        return {
          command,
          error: {code, message: error instanceof Error ? error.message : String(error)},
          status: 'failed',
        }
      }
    },
  }
}

/**
 * A vault as backup:verify reads it: not archive by archive (restic keeps content, not Pantheon's
 * gzip bytes) but whole, with `restic check`; --deep reads the packs back (`--read-data-subset`,
 * with --sample's slice or share), and the snapshots that use a damaged pack name the archives hit.
 */
export function createVaultReader(restic: Restic): ObjectReader {
  return {
    kind: 'restic',
    describe: (key) => `${restic.location}::${key}`,
    async read() {
      throw new PbmError(
        'not-supported',
        "A vault's archives are checked whole by restic check, not read back one by one.",
      )
    },
    async checkAll(read: StoreCheckRead, signal): Promise<StoreCheck> {
      const subset = subsetOf(read)
      const command = ['restic check', ...(subset ? ['--read-data-subset', subset] : [])].join(' ')
      await restic.open(signal)
      const found = await restic.check(subset, signal)
      if (found.ok) return {command, damaged: [], problems: []}
      const byPack = await restic.snapshotsInPacks(found.damagedPacks, signal)
      const {archives} = vaultContents(await restic.allSnapshots(signal))
      const damaged: StoreCheck['damaged'] = []
      const tied = new Set<string>()
      for (const [key, archive] of archives) {
        const packs = [...byPack].filter(([, ids]) => ids.includes(archive.snapshot.id)).map(([pack]) => pack)
        if (packs.length === 0) continue
        for (const p of packs) tied.add(p)
        damaged.push({
          detail: `${packs.length === 1 ? 'pack' : 'packs'} ${packs.map((p) => p.slice(0, 8)).join(', ')} holding its content ${packs.length === 1 ? 'is' : 'are'} damaged (${command})`,
          key,
        })
      }

      // What no archive explains (an unreadable index, a damaged pack of trees only, ...): restic's words.
      const problems = found.errors.filter((line) => ![...tied].some((pack) => line.includes(pack)))
      if (damaged.length === 0 && problems.length === 0) problems.push('restic check found errors it did not name')
      return {command, damaged, problems}
    },
  }
}

/** --sample's slice or share as restic's `--read-data-subset` (a slice of packs, like --sample's of archives). */
export function subsetOf(read: StoreCheckRead): string | undefined {
  if (read === 'none') return undefined
  if (read === 'all') return '1/1'
  return 'percent' in read ? `${read.percent}%` : `${read.index}/${read.of}`
}
