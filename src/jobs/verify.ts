import {setMaxListeners} from 'node:events'

import type {Backup, Element} from '../catalog/types.js'
import type {Destination} from '../destination/index.js'
import type {StoreCheckRead} from '../destination/read.js'
import type {Terminus} from '../terminus/index.js'
import type {VerifyStore} from './destinations.js'
import type {EventSink} from './events.js'
import type {MirrorTargets} from './mirror.js'

import {groupIntoSets, newestSet} from '../catalog/index.js'
import {EXIT, InterruptedError, isAbortError, PbmError} from '../errors.js'
import {archiveKey} from '../plan/destination.js'
import {parseArchiveKey, SeriesCollector} from '../plan/series.js'
import {
  inSample,
  judgeChanged,
  judgeReadBack,
  judgeRecord,
  judgeTargetFacts,
  type ObjectStatus,
  type Recorded,
  type Sample,
  TARGET_PROBLEMS,
  type TargetStatus,
} from '../plan/verify.js'
import {StreamVerifier} from '../transfer/index.js'
import {ProgressReporter} from '../transfer/progress.js'
import {createLimit} from '../util/limit.js'
import {plural} from '../util/plural.js'
import {formatUtc} from '../util/utc.js'
import {
  type ArchiveRef,
  type ArchiveResult,
  baseOf,
  describeFailure,
  type ObjectRef,
  type SiteEnvRef,
} from './results.js'
import {transferOne} from './transfer.js'

export interface VerifyPlan {
  /** The site.envs to check; undefined: every site.env found in the mirror. */
  targets?: MirrorTargets
  elements: Element[]
  /** Read every (sampled) archive back and recompute its checksums and gzip integrity. */
  deep: boolean
  /** With deep: which archives are read (the others get the quick check). */
  sample?: Sample
  /** A site.env whose newest mirrored backup is older than this is stale. */
  maxAgeHours?: number
  /** No Terminus: coverage and age from the mirror alone. */
  offline: boolean
  /** Re-mirror what is missing or corrupt from Pantheon (corrupt objects are replaced). */
  repair: boolean
  /** Archives read back (or repaired) at the same time. */
  concurrency: number
  /** For tests: the clock of --max-age. */
  now?: Date
}

export interface VerifyDeps {
  /** Absent with --offline. */
  terminus?: Pick<Terminus, 'backupUrl' | 'listBackups' | 'listOrgSites'>
  stores: VerifyStore[]
  events: EventSink
  /** The random source of --sample P% (tests pass their own). */
  random?: () => number
}

/** One stored object's verdict: a row of the table and of --json's `objects`. */
export interface VerifiedObject {
  site: string
  env: string
  element: string
  file: string
  /** The backup's time, the one in its filename. */
  date: Date
  location: string
  status: ObjectStatus
  /** Why the status, when there is something to say (as `note` in every command's rows). */
  note?: string
}

/** One site.env's verdict: --json's `targets`. */
export interface VerifiedTarget {
  site: string
  env: string
  status: TargetStatus
  /** The newest backup in the mirror (the oldest such of all destinations), ISO 8601. */
  newest?: string
  note?: string
}

export interface VerifySummary {
  /** Objects looked at: present ones checked, plus expected ones found missing. */
  objects: number
  ok: number
  missing: number
  corrupt: number
  unverifiable: number
  repaired: number
  /** Objects read back in full (--deep), and their bytes. */
  read: number
  bytesRead: number
  targets: number
  stale: number
  targetsMissing: number
  /** Site.envs whose newest backup set on Pantheon is not whole in the mirror. */
  incomplete: number
  /** Site.envs Pantheon no longer has, kept in the mirror: reported, not a problem. */
  gone: number
  /** Of `problems`: objects (missing, corrupt, unverifiable) and site.envs (incomplete, stale, missing). */
  objectProblems: number
  targetProblems: number
  /** What could not be verified (Terminus or the store failed): the run cannot vouch for it. */
  errors: number
  /** Objects and site.envs that are not ok (and not repaired). */
  problems: number
  /** Objects in the mirror that are not pbm's archives (left alone). */
  foreign: number
  /** Stores whose own check (restic check) found damage no archive explains: problems too. */
  storeProblems: number
  seconds: number
  deep: boolean
  sample?: string
}

/** A store that checks itself whole (a vault: `restic check`): what ran and what it found. */
export interface VerifiedStore {
  location: string
  command: string
  /** `ok`; `damaged` (archives marked corrupt, or damage no archive explains: `problems`); `error` (could not check). */
  status: 'damaged' | 'error' | 'ok'
  /** Damage the check could not tie to an archive, in the store's words. */
  problems: string[]
  /** Archives it found damaged (marked corrupt in `objects`). */
  damaged: number
}

/** backup:verify's result, and its --json document. */
export interface VerifyResult {
  objects: VerifiedObject[]
  /** Stores checked whole (vaults), beside their archives' rows; empty for S3 and folders. */
  stores: VerifiedStore[]
  targets: VerifiedTarget[]
  summary: VerifySummary
  /** Why the run could not vouch for some of the mirror (also counted in summary.errors). */
  errors: Array<{site?: string; env?: string; location?: string; code: string; message: string}>
}

/** Terminus errors that every call would repeat: the run stops once, up front, with one message. */
const TERMINUS_UNUSABLE = new Set(['not-logged-in', 'terminus-not-found'])
/** Terminus errors that mean Pantheon no longer has the site or env (throttling is told apart first). */
const PANTHEON_GONE = new Set(['unknown-env', 'unknown-site'])

/** HEAD requests (or stat calls) of the quick check at once: cheap, but each is a round trip. */
const INSPECT_CONCURRENCY = 16

interface Present {
  store: VerifyStore
  ref: ObjectRef
  key: string
  date: Date
}

/**
 * backup:verify: list every destination, check each pbm archive against pbm's record (quick) or read it
 * back through the transfer's verifier (deep), check that the newest backup set on Pantheon is in the
 * mirror and that nothing is too old, and with --repair re-mirror what is missing or corrupt.
 */
export async function verify(plan: VerifyPlan, deps: VerifyDeps, signal: AbortSignal): Promise<VerifyResult> {
  setMaxListeners(0, signal)
  const started = Date.now()
  const {events, stores, terminus} = deps
  const now = plan.now ?? new Date()
  const errors: VerifyResult['errors'] = []

  /** Terminus, unless --offline: what coverage and --repair ask. */
  const online = plan.offline ? undefined : terminus
  const steps = [
    {step: 'list', title: 'list the mirror'},
    ...(online ? [{step: 'pantheon', title: "ask Pantheon for each site.env's backups"}] : []),
    {step: 'check', title: "check each archive against pbm's record"},
  ]
  events.emit({command: 'verify', steps, type: 'run:started'})
  events.emit({step: 'list', title: `list ${stores.map((s) => s.location).join(' and ')}`, type: 'step:started'})

  // 1. The site.envs, then every destination's listing of them.
  let targets: SiteEnvRef[] | undefined
  if (plan.targets && !Array.isArray(plan.targets)) {
    if (!terminus) throw new PbmError('offline', '--org needs Terminus, and --offline was given.', {exitCode: 2})
    const {envs, org, tag} = plan.targets
    const sites = await terminus.listOrgSites(org, tag, {signal})
    targets = sites.flatMap((s) => envs.map((env) => ({env, site: s.name})))
  } else if (plan.targets) targets = plan.targets

  let foreign = 0
  const present: Present[] = []
  for (const store of stores) {
    const collector = new SeriesCollector({elements: plan.elements, targets})
    for await (const page of store.inventory.list(signal)) collector.add(page)
    const listing = collector.result()
    foreign += listing.foreign.count
    for (const series of listing.series) {
      for (const entry of series.entries) {
        const parsed = parseArchiveKey(entry.key)!
        present.push({
          date: entry.date,
          key: entry.key,
          ref: {
            date: entry.date,
            destination: store.destination.kind,
            element: series.element,
            env: series.env,
            file: entry.file,
            folder: folderOf(entry.file, parsed.date),
            location: store.destination.describe(entry.key),
            site: series.site,
          },
          store,
        })
      }
    }
  }

  targets ??= uniqueTargets(present.map((p) => p.ref))
  events.emit({
    note: `${plural(present.length, 'archive')} of ${plural(targets.length, 'site.env')}${foreign ? `, ${plural(foreign, 'object')} not pbm's (left alone)` : ''}`,
    step: 'list',
    title: 'listed the mirror',
    type: 'step:done',
  })

  // 2. What Pantheon has (online): every listed backup, and the newest set of the wanted elements.
  const pantheon = new Map<string, Backup[]>()
  const failedTargets = new Map<string, string>()
  /** Site.envs Pantheon no longer has (what it said): the mirror keeps them. */
  const goneTargets = new Map<string, string>()
  if (online) {
    const asking = `ask Pantheon for the backups of ${plural(targets.length, 'site.env')}`
    events.emit({step: 'pantheon', title: asking, type: 'step:started'})
    // Not logged in, or no Terminus to run: every call would fail alike. Stop at the first, once.
    // One controller for the calls, aborted by Ctrl-C (the run's signal) or by an unusable Terminus.
    const unusable = new AbortController()
    const calls = unusable.signal
    setMaxListeners(0, calls)
    const interrupt = () => unusable.abort(signal.reason)
    signal.addEventListener('abort', interrupt, {once: true})
    let unusableError: unknown
    let answered = 0
    try {
      await Promise.all(
        targets.map(async (t) => {
          try {
            pantheon.set(idOf(t), await online.listBackups(t.site, t.env, {signal: calls}))
          } catch (error) {
            if (signal.aborted) throw error
            if (unusable.signal.aborted) return
            if (isAbortError(error)) throw error
            if (error instanceof PbmError && TERMINUS_UNUSABLE.has(error.code)) {
              unusableError = error
              unusable.abort()
              return
            }

            if (error instanceof PbmError && PANTHEON_GONE.has(error.code)) {
              goneTargets.set(idOf(t), error.message.replace(/\.$/, ''))
            } else {
              const failure = describeFailure(error)
              failedTargets.set(idOf(t), failure.message)
              errors.push({...t, ...failure})
            }
          }

          events.emit({note: `${++answered} of ${targets.length} site.envs`, step: 'pantheon', type: 'step:progress'})
        }),
      )
    } finally {
      signal.removeEventListener('abort', interrupt)
    }

    if (unusableError) {
      events.emit({
        failed: true,
        // The reason is the run's one error message, printed once after this.
        note: 'Terminus cannot be used, so nothing was checked',
        step: 'pantheon',
        title: 'could not ask Pantheon',
        type: 'step:done',
      })
      throw unusableError
    }

    const notListed = [
      goneTargets.size > 0 ? `${goneTargets.size} no longer on Pantheon` : '',
      failedTargets.size > 0 ? `${failedTargets.size} could not be` : '',
    ].filter(Boolean)
    events.emit({
      failed: failedTargets.size > 0,
      note: `${plural(pantheon.size, 'site.env')} listed${notListed.length > 0 ? `, ${notListed.join(', ')}` : ''}`,
      step: 'pantheon',
      title: 'asked Pantheon',
      type: 'step:done',
    })
  }

  const deepKeys = new Set<string>()
  if (plan.deep) {
    for (const p of present) {
      // A store that checks itself whole reads its data back in its own check, below.
      if (!p.store.reader.checkAll && inSample(p.key, plan.sample, deps.random)) deepKeys.add(p.ref.location)
    }
  }

  const reading = present.filter((p) => deepKeys.has(p.ref.location))
  events.emit({
    objects: reading.map((p) => p.ref),
    step: 'check',
    title:
      `check ${plural(present.length, 'archive')} against pbm's record` +
      (reading.length === 0 ? '' : `, reading ${reading.length === present.length ? 'each' : reading.length} back`),
    type: 'step:started',
  })

  // 3a. Stores that check themselves whole (a vault): once each, the same --deep and --sample.
  const storeRows: VerifiedStore[] = []
  const damagedAt = new Map<string, string>()
  const presentAt = new Set(present.map((p) => p.ref.location))
  for (const store of stores) {
    if (!store.reader.checkAll) continue
    const read = plan.deep ? (plan.sample ? sampleRead(plan.sample) : 'all') : 'none'
    try {
      const found = await store.reader.checkAll(read, signal)
      const problems = [...found.problems]
      for (const d of found.damaged) {
        const location = store.destination.describe(d.key)
        // The check reads the whole store: damage to an archive this run does not list is still damage.
        if (presentAt.has(location)) damagedAt.set(location, d.detail)
        else problems.push(`${d.key} (not selected in this run): ${d.detail}`)
      }

      storeRows.push({
        command: found.command,
        damaged: found.damaged.length,
        location: store.location,
        problems,
        status: found.damaged.length > 0 || problems.length > 0 ? 'damaged' : 'ok',
      })
    } catch (error) {
      if (signal.aborted || isAbortError(error)) throw signal.reason ?? new InterruptedError()
      const failure = describeFailure(error)
      errors.push({location: store.location, ...failure})
      storeRows.push({
        command: 'check',
        damaged: 0,
        location: store.location,
        problems: [failure.message],
        status: 'error',
      })
    }
  }

  // 3. Every present object: its record (quick), then its bytes (deep, when sampled).
  const objects: VerifiedObject[] = []
  let bytesRead = 0
  let read = 0
  const inspectSlot = createLimit(INSPECT_CONCURRENCY)
  const readSlot = createLimit(plan.concurrency)
  const record = (ref: ObjectRef, status: ObjectStatus, detail: string | undefined, deep: boolean) => {
    objects.push({...rowOf(ref), status, ...(detail ? {note: detail} : {})})
    events.emit({deep, object: ref, status, type: 'object:checked', ...(detail ? {detail} : {})})
  }

  const couldNotVerify = (p: Present, error: unknown) => {
    if (signal.aborted || isAbortError(error)) throw signal.reason ?? new InterruptedError()
    const failure = describeFailure(error)
    errors.push({env: p.ref.env, location: p.ref.location, site: p.ref.site, ...failure})
    record(p.ref, 'unverifiable', `could not verify: ${failure.message}`, false)
  }

  const checkOne = async (p: Present): Promise<void> => {
    let existing
    try {
      existing = await inspectSlot(() => p.store.destination.inspect(p.key, signal), signal)
    } catch (error) {
      couldNotVerify(p, error)
      return
    }

    if (!existing) {
      // Gone between the listing and the look: as good as missing.
      record(p.ref, 'missing', 'listed, then gone before it was checked', false)
      return
    }

    let quick = judgeRecord(existing)
    let recorded: Recorded | undefined = existing.complete
      ? {crc32c: existing.crc32c, md5: existing.md5, size: existing.recordedSize}
      : undefined
    if (!existing.complete && p.store.reader.recorded) {
      // A local record that no longer matches the file: say how, and let --deep compare the bytes.
      const written = await p.store.reader.recorded(p.key)
      if (written) {
        quick = judgeChanged(existing.size, written)
        recorded = written
      }
    }

    const damaged = damagedAt.get(p.ref.location)
    if (damaged) {
      record(p.ref, 'corrupt', damaged, plan.deep)
      return
    }

    if (quick.status === 'corrupt' || !deepKeys.has(p.ref.location)) {
      record(p.ref, quick.status, quick.detail, false)
      return
    }

    try {
      const outcome = await readSlot(async () => {
        if (signal.aborted) throw signal.reason ?? new InterruptedError()
        return readBack(p, recorded, events, signal)
      }, signal)
      read++
      bytesRead += outcome.bytes
      record(p.ref, outcome.status, outcome.detail, true)
    } catch (error) {
      couldNotVerify(p, error)
    }
  }

  let checked = 0
  const checkedOne = () => {
    events.emit({note: `${++checked} of ${present.length} archives`, step: 'check', type: 'step:progress'})
  }

  await Promise.all(present.map((p) => checkOne(p).finally(checkedOne)))
  const problems = objects.filter((o) => o.status !== 'ok').length
  events.emit({
    note: `${objects.length - problems} ok${problems > 0 ? `, ${problems} not` : ''}${read > 0 ? ` (${read} read back)` : ''}`,
    step: 'check',
    title: `checked ${plural(objects.length, 'archive')}`,
    type: 'step:done',
  })

  // 4. Coverage: the newest set on Pantheon, at every destination.
  const newestSets = new Map<string, {folder: string; uncovered: Array<{kind: string; object: VerifiedObject}>}>()
  for (const t of targets) {
    const listed = pantheon.get(idOf(t))
    if (!listed) continue
    const newest = newestSet(groupIntoSets(listed.filter((b) => plan.elements.includes(b.element))))
    if (!newest) continue
    const uncovered: Array<{kind: string; object: VerifiedObject}> = []
    for (const backup of newest.backups) {
      const key = archiveKey(backup)
      for (const store of stores) {
        const location = store.destination.describe(key)
        if (presentAt.has(location)) continue
        const ref = {...baseOf(backup), destination: store.destination.kind, location}
        record(ref, 'missing', `in the newest backup on Pantheon (${formatUtc(newest.date)}), not in the mirror`, false)
        uncovered.push({kind: store.destination.kind, object: objects.at(-1)!})
      }
    }

    newestSets.set(idOf(t), {folder: newest.folder, uncovered})
  }

  // 5. Repair: re-mirror what is missing or corrupt, when Pantheon still has it.
  if (plan.repair && online) {
    await repair(objects, {pantheon, plan, signal, stores, terminus: online}, events)
  }

  // 6. Each site.env: its newest mirrored backup (the oldest such of all destinations) and its age.
  // One pass over the listing: the newest backup of each site.env at each destination.
  const newestAt = new Map<string, Date>()
  for (const p of present) {
    const id = `${stores.indexOf(p.store)} ${idOf(p.ref)}`
    const seen = newestAt.get(id)
    if (!seen || seen < p.date) newestAt.set(id, p.date)
  }

  const targetRows: VerifiedTarget[] = targets.map((t) => {
    const newestPerStore = stores.map((_store, i) => newestAt.get(`${i} ${idOf(t)}`))
    const missingAt = stores.filter((_s, i) => !newestPerStore[i])
    const newest = missingAt.length > 0 ? undefined : newestPerStore.reduce((a, d) => (a && a <= d! ? a : d))
    const set = newestSets.get(idOf(t))
    let verdict = judgeTargetFacts(
      {
        failed: failedTargets.get(idOf(t)),
        gone: goneTargets.get(idOf(t)),
        newest: goneTargets.has(idOf(t)) ? newestPerStore.find(Boolean) : newest,
        ...(set
          ? {
              newestSet: {
                folder: set.folder,
                // What --repair brought back is whole again.
                lacking: set.uncovered
                  .filter(({object}) => object.status === 'missing')
                  .map(({kind, object}) => `${object.element} at ${kind}`),
              },
            }
          : {}),
      },
      plan.maxAgeHours,
      now,
    )
    if (verdict.status === 'missing' && stores.length > 1 && missingAt.length < stores.length) {
      verdict = {...verdict, detail: `no backup of it at ${missingAt.map((s) => s.destination.kind).join(', ')}`}
    }

    if (verdict.status === 'error' && !failedTargets.has(idOf(t))) {
      // Neither Pantheon nor the mirror knows it: the run cannot vouch for it.
      errors.push({...t, code: 'unknown-site-env', message: `${idOf(t)}: ${verdict.detail}`})
    }

    const row: VerifiedTarget = {
      env: t.env,
      site: t.site,
      status: verdict.status,
      ...(newest ? {newest: newest.toISOString()} : {}),
      ...(verdict.detail ? {note: verdict.detail} : {}),
    }
    events.emit({
      status: row.status,
      target: t,
      type: 'target:checked',
      ...(newest ? {newest} : {}),
      ...(row.note ? {detail: row.note} : {}),
    })
    return row
  })

  const summary = summarizeVerify(objects, targetRows, errors, {
    bytesRead,
    deep: plan.deep,
    foreign,
    read,
    storeProblems: storeRows.filter((r) => r.status === 'damaged' && r.problems.length > 0).length,
    sample: plan.deep && plan.sample ? describeSample(plan.sample) : undefined,
    seconds: (Date.now() - started) / 1000,
  })
  return {errors, objects: sortObjects(objects), stores: storeRows, summary, targets: targetRows}
}

function summarizeVerify(
  objects: VerifiedObject[],
  targets: VerifiedTarget[],
  errors: VerifyResult['errors'],
  extra: {
    bytesRead: number
    deep: boolean
    foreign: number
    read: number
    sample?: string
    seconds: number
    storeProblems?: number
  },
): VerifySummary {
  const count = (status: ObjectStatus) => objects.filter((o) => o.status === status).length
  const countTargets = (status: TargetStatus) => targets.filter((t) => t.status === status).length
  const summary: VerifySummary = {
    bytesRead: extra.bytesRead,
    corrupt: count('corrupt'),
    deep: extra.deep,
    errors: errors.length,
    foreign: extra.foreign,
    missing: count('missing'),
    objects: objects.length,
    ok: count('ok'),
    problems: 0,
    read: extra.read,
    repaired: count('repaired'),
    seconds: Math.round(extra.seconds * 10) / 10,
    stale: countTargets('stale'),
    targets: targets.length,
    targetsMissing: countTargets('missing'),
    incomplete: countTargets('incomplete'),
    gone: countTargets('gone'),
    objectProblems: 0,
    targetProblems: 0,
    unverifiable: count('unverifiable'),
    storeProblems: extra.storeProblems ?? 0,
    ...(extra.sample ? {sample: extra.sample} : {}),
  }
  summary.objectProblems = summary.missing + summary.corrupt + summary.unverifiable
  summary.targetProblems = targets.filter((t) => TARGET_PROBLEMS.includes(t.status)).length
  summary.problems = summary.objectProblems + summary.targetProblems + summary.storeProblems
  return summary
}

/**
 * backup:mirror --verify: the quick check of what the mirror just stored or found already there, one
 * object per result row (transferred or skipped): it is there, and its size agrees with pbm's record.
 */
export async function verifyStored(
  rows: ArchiveResult[],
  destinations: Destination[],
  events: EventSink,
  signal: AbortSignal,
): Promise<VerifyResult> {
  const started = Date.now()
  const errors: VerifyResult['errors'] = []
  const objects: VerifiedObject[] = []
  const slot = createLimit(INSPECT_CONCURRENCY)
  const stored = rows.filter((r) => r.status === 'transferred' || r.status === 'skipped')
  events.emit({command: 'verify', type: 'run:started'})
  await Promise.all(
    stored.map(async (row) => {
      const key = archiveKey(row)
      const destination = destinations.find((d) => d.kind === row.destination && d.describe(key) === row.location)
      const ref: ObjectRef = {...baseRefOfRow(row), destination: row.destination, location: row.location}
      let verdict: {detail?: string; status: ObjectStatus}
      try {
        const existing = destination ? await slot(() => destination.inspect(key, signal), signal) : undefined
        verdict = existing ? judgeRecord(existing) : {detail: 'not there after the mirror', status: 'missing'}
      } catch (error) {
        if (signal.aborted || isAbortError(error)) throw signal.reason ?? new InterruptedError()
        const failure = describeFailure(error)
        errors.push({env: row.env, location: row.location, site: row.site, ...failure})
        verdict = {detail: `could not verify: ${failure.message}`, status: 'unverifiable'}
      }

      objects.push({...rowOf(ref), status: verdict.status, ...(verdict.detail ? {note: verdict.detail} : {})})
      events.emit({
        deep: false,
        object: ref,
        status: verdict.status,
        type: 'object:checked',
        ...(verdict.detail ? {detail: verdict.detail} : {}),
      })
    }),
  )
  const summary = summarizeVerify(objects, [], errors, {
    bytesRead: 0,
    deep: false,
    foreign: 0,
    read: 0,
    seconds: (Date.now() - started) / 1000,
  })
  return {errors, objects: sortObjects(objects), stores: [], summary, targets: []}
}

function baseRefOfRow(row: ArchiveRef): ArchiveRef {
  return {date: row.date, element: row.element, env: row.env, file: row.file, folder: row.folder, site: row.site}
}

/** Read one object back through the transfer's verifier: MD5, CRC32C, gzip to its trailer. */
async function readBack(
  p: Present,
  fromInspect: Recorded | undefined,
  events: EventSink,
  signal: AbortSignal,
): Promise<{bytes: number; detail?: string; status: 'corrupt' | 'ok' | 'unverifiable'}> {
  const object = p.ref
  events.emit({object, type: 'object:started'})
  const stored = await p.store.reader.read(p.key, signal)
  const progress = new ProgressReporter((update) => events.emit({object, progress: update, type: 'object:progress'}))
  progress.setTotal(stored.size)
  progress.set('downloading')
  const verifier = new StreamVerifier(object.file)
  let verified
  try {
    for await (const chunk of stored.body) {
      const wait = verifier.update(chunk)
      if (wait) await wait
      progress.tick(verifier.bytes)
      if (signal.aborted) throw signal.reason ?? new InterruptedError()
    }

    if (verifier.bytes !== stored.size) {
      throw new PbmError('read-failed', `read ${verifier.bytes} of ${stored.size} bytes of ${object.location}.`)
    }

    verified = await verifier.finish({hash: {}})
  } catch (error) {
    verifier.dispose()
    const {code} = error as PbmError
    // The stored bytes are not a whole gzip stream: damaged, whatever pbm recorded.
    if (error instanceof PbmError && ['corrupt', 'not-gzip', 'truncated'].includes(code)) {
      return {bytes: verifier.bytes, detail: error.message, status: 'corrupt'}
    }

    throw error
  } finally {
    // Stop a body that was not read to its end (failure, Ctrl-C).
    ;(stored.body as {destroy?: () => void}).destroy?.()
  }

  progress.set('done')
  const recorded = fromInspect || stored.recorded ? {...stored.recorded, ...defined(fromInspect)} : undefined
  return {bytes: verified.bytes, ...judgeReadBack(verified, recorded)}
}

interface RepairContext {
  pantheon: Map<string, Backup[]>
  plan: VerifyPlan
  signal: AbortSignal
  stores: VerifyStore[]
  terminus: NonNullable<VerifyDeps['terminus']>
}

/**
 * Re-mirror each missing or corrupt object from Pantheon into its own destination. A corrupt object is
 * replaced (force): the one case pbm overwrites without --force, because the object is provably
 * damaged. What Pantheon no longer lists (or has expired) cannot be repaired, and says so.
 */
async function repair(objects: VerifiedObject[], run: RepairContext, events: EventSink): Promise<void> {
  const slot = createLimit(run.plan.concurrency)
  const broken = objects.filter((o) => o.status === 'missing' || o.status === 'corrupt')
  await Promise.all(
    broken.map(async (o) => {
      const store = run.stores.find((s) => s.destination.describe(archiveKey(o)) === o.location)
      const backup = run.pantheon.get(idOf(o))?.find((b) => b.file === o.file)
      const was = `${o.status}${o.note ? ` (${o.note})` : ''}`
      if (!run.pantheon.has(idOf(o))) {
        o.note = `${was}; not repaired: Terminus could not list the backups of ${idOf(o)}`
        return
      }

      if (!store || !backup || (backup.expiry && backup.expiry.getTime() < Date.now())) {
        o.note = `${was}; not repaired: Pantheon no longer has it${backup?.expiry ? ` (expired ${backup.expiry.toISOString()})` : ''}`
        return
      }

      const [row] = await transferOne(
        {backup, key: archiveKey(backup)},
        {
          destinations: [store.destination],
          events,
          force: o.status === 'corrupt',
          signal: run.signal,
          slot,
          terminus: run.terminus,
        },
      )
      if (row.status === 'transferred') {
        o.status = 'repaired'
        o.note = `was ${was}; mirrored again from Pantheon (md5 ${row.md5 ?? '-'})`
      } else {
        if (row.error?.code === 'interrupted') throw run.signal.reason ?? new InterruptedError()
        o.note = `${was}; not repaired: ${row.error?.message ?? row.note ?? row.status}`
      }
    }),
  )
}

/**
 * backup:verify's exit code, restic-style: 130 interrupted, 1 when something could not be verified
 * (the run cannot vouch for the mirror), 3 when problems were found, 0 when all is well.
 */
export function verifyExitCode(summary: VerifySummary, signal: AbortSignal): number {
  if (signal.aborted && signal.reason instanceof InterruptedError) return EXIT.interrupted
  if (summary.errors > 0) return EXIT.failure
  return summary.problems > 0 ? EXIT.problems : EXIT.ok
}

/** --sample as what a store that checks itself whole reads: the same slice (of its packs) or share. */
function sampleRead(sample: Sample): StoreCheckRead {
  return sample.kind === 'slice' ? {index: sample.index, of: sample.of} : {percent: sample.percent}
}

function describeSample(sample: Sample): string {
  return sample.kind === 'slice' ? `${sample.index}/${sample.of}` : `${sample.percent}%`
}

function rowOf(ref: ObjectRef): Omit<VerifiedObject, 'status'> {
  return {date: ref.date, element: ref.element, env: ref.env, file: ref.file, location: ref.location, site: ref.site}
}

/** The mirror does not know Pantheon's folder (catalog ID); the filename's time stands in for it. */
function folderOf(file: string, date: Date): string {
  return `${Math.floor(date.getTime() / 1000)}_${file.includes('_automated') ? 'automated' : 'backup'}`
}

function idOf(t: SiteEnvRef): string {
  return `${t.site}.${t.env}`
}

function uniqueTargets(refs: SiteEnvRef[]): SiteEnvRef[] {
  const seen = new Map<string, SiteEnvRef>()
  for (const r of refs) if (!seen.has(idOf(r))) seen.set(idOf(r), {env: r.env, site: r.site})
  return [...seen.values()].sort((a, b) => cmp(a.site, b.site) || cmp(a.env, b.env))
}

const ELEMENT_ORDER = ['code', 'files', 'database']

/** By site, env, newest file first, code/files/database, S3 before local. */
function sortObjects(objects: VerifiedObject[]): VerifiedObject[] {
  return [...objects].sort(
    (a, b) =>
      cmp(a.site, b.site) ||
      cmp(a.env, b.env) ||
      cmp(b.file.replace(/_\w+\.\w+\.gz$/, ''), a.file.replace(/_\w+\.\w+\.gz$/, '')) ||
      ELEMENT_ORDER.indexOf(a.element) - ELEMENT_ORDER.indexOf(b.element) ||
      cmp(b.location, a.location),
  )
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function defined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>
}
