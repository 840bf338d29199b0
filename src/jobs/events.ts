import type {ObjectStatus, TargetStatus} from '../plan/verify.js'
import type {Progress} from '../transfer/index.js'
import type {PruneSummary} from './prune.js'
import type {ArchiveRef, ArchiveResult, FailureInfo, ObjectRef, RunSummary, SiteEnvRef} from './results.js'

/**
 * What a job tells the world while it works. Every event is plain data that names its site.env (and
 * archive), so that any renderer (the listr2 tree, one line per change, JSON lines, a test's recorder)
 * can show it without knowing the job. Jobs emit; they never draw.
 */
export type JobEvent =
  /** The run knows its work: the target site.envs (mirror) or the archives (pick), and whether backups are created first. */
  | {
      type: 'run:started'
      command: string
      archives?: ArchiveRef[]
      create?: boolean
      targets?: SiteEnvRef[]
      /** verify --deep: the stored objects it reads back. */
      objects?: ObjectRef[]
      /** A run made of steps (verify): each step's id and title, in order. */
      steps?: Array<{step: string; title: string}>
    }
  /**
   * One step of such a run begins (its title now with counts); `objects` are the stored objects it
   * reads back (verify --deep), each with events of its own.
   */
  | {type: 'step:started'; step: string; title: string; objects?: ObjectRef[]}
  /** How far the step is, in words ("12 of 40 site.envs"). */
  | {type: 'step:progress'; step: string; note: string}
  /** `failed`: the step ended, but not well (some of it, or all of it when the run stops there). */
  | {type: 'step:done'; step: string; title: string; note: string; failed?: boolean}
  | {type: 'target:started'; target: SiteEnvRef}
  /** The site.env has nothing to do (frozen, uninitialized, no backups to mirror): not a failure. */
  | {type: 'target:skipped'; target: SiteEnvRef; reason: string}
  | {type: 'target:failed'; target: SiteEnvRef; error: FailureInfo}
  | {type: 'target:done'; target: SiteEnvRef; status: 'failed' | 'mirrored' | 'planned'}
  | {type: 'backup:creating'; target: SiteEnvRef}
  | {type: 'backup:created'; target: SiteEnvRef; seconds: number}
  /** `backup:create` was asked for but not run (dry run). */
  | {type: 'backup:create-skipped'; target: SiteEnvRef; reason: string}
  /** The archives chosen for a site.env; `newest` is the date of the newest of them. */
  | {type: 'backups:chosen'; target: SiteEnvRef; archives: ArchiveRef[]; newest: Date; older: boolean}
  /** Waiting for a transfer slot. */
  | {type: 'archive:queued'; archive: ArchiveRef}
  | {type: 'archive:started'; archive: ArchiveRef}
  | {type: 'archive:progress'; archive: ArchiveRef; progress: Progress}
  /** A dropped connection or a server error, retried (with Range: resumed where it stopped). */
  | {type: 'archive:resumed'; archive: ArchiveRef; note: string}
  /** The signed URL expired or was refused: a fresh one was asked of Terminus. */
  | {type: 'archive:refreshed'; archive: ArchiveRef; note: string}
  /** Transferred (or skipped at every destination); one row per destination. */
  | {type: 'archive:done'; archive: ArchiveRef; rows: ArchiveResult[]; skipped: boolean}
  | {type: 'archive:failed'; archive: ArchiveRef; rows: ArchiveResult[]; error: FailureInfo}
  | {type: 'run:summary'; summary: RunSummary}
  /** Pantheon throttled a Terminus call: every Terminus call waits until `until`. */
  | {type: 'terminus:paused'; command: string; attempt: number; delayMs: number; until: Date}
  /** Something worth a line that is not a failure (a health ping that could not be sent, say). */
  | {type: 'run:warning'; message: string}
  /** backup:restore knows what goes into the target (`archives` are the source's), and whether a backup comes first. */
  | {type: 'restore:started'; target: SiteEnvRef; archives: ArchiveRef[]; backupFirst: boolean; dryRun: boolean}
  | {type: 'restore:verifying'; target: SiteEnvRef; archive: ArchiveRef; deep: boolean}
  /** The mirrored archive is what pbm stored (its record; with `deep`, read back in full). */
  | {type: 'restore:verified'; target: SiteEnvRef; archive: ArchiveRef; bytes: number; md5?: string; deep: boolean}
  /** A local archive was uploaded for Pantheon to fetch; `where` is `s3://bucket/key`, never the URL. */
  | {type: 'restore:staged'; target: SiteEnvRef; archive: ArchiveRef; where: string}
  /** `terminus import:*` runs; `from` says where Pantheon fetches (never the URL), valid until `expiresAt`. */
  | {type: 'restore:importing'; target: SiteEnvRef; archive: ArchiveRef; from: string; expiresAt: Date}
  | {type: 'restore:imported'; target: SiteEnvRef; archive: ArchiveRef; seconds: number}
  | {type: 'restore:failed'; target: SiteEnvRef; archive: ArchiveRef; error: FailureInfo}
  /** backup:restore --output: the archive is in `file` (`unchanged`: the same archive was there already). */
  | {type: 'restore:saved'; target: SiteEnvRef; archive: ArchiveRef; file: string; bytes: number; unchanged: boolean}
  /** The stage is gone (or, with `error`, could not be deleted: the message says how to). */
  | {type: 'restore:unstaged'; target: SiteEnvRef; archive: ArchiveRef; where: string; error?: FailureInfo}
  /**
   * A restore stage that a crashed or twice-interrupted restore left, found by a later restore or prune
   * after its URL expired: deleted, or (with `error`) still there and how to delete it.
   */
  | {type: 'stage:swept'; where: string; expiredAt?: Date; error?: FailureInfo}
  /** backup:prune (and mirror --prune) listed a destination and sorted it into series. */
  | {type: 'prune:listed'; location: string; listed: number; series: number; archives: number; foreign: number}
  /** The policy applied to one series (site.env and element): how many it keeps and removes. */
  | {type: 'prune:planned'; target: SiteEnvRef; element: string; kept: number; removed: number}
  | {type: 'prune:removed'; target: SiteEnvRef; element: string; file: string; deleteMarker: boolean}
  /** Object Lock retention or a legal hold refused the removal: the backup stays, not a failure. */
  | {type: 'prune:locked'; target: SiteEnvRef; element: string; file: string; until?: Date; legalHold?: boolean}
  | {type: 'prune:failed'; target: SiteEnvRef; element: string; file: string; error: FailureInfo}
  /** The totals of one destination's prune; `stopped` when nothing was removed on purpose. */
  | {type: 'prune:summary'; location: string; summary: PruneSummary; stopped?: 'max-delete' | 'not-confirmed'}
  /** verify: a stored object is read back (--deep). */
  | {type: 'object:started'; object: ObjectRef}
  | {type: 'object:progress'; object: ObjectRef; progress: Progress}
  /** verify: the verdict on one stored (or expected and missing) object; `deep` when it was read back. */
  | {type: 'object:checked'; object: ObjectRef; status: ObjectStatus; detail?: string; deep: boolean}
  /** verify: the verdict on a site.env as a whole (coverage and age). */
  | {type: 'target:checked'; target: SiteEnvRef; status: TargetStatus; newest?: Date; detail?: string}

export type JobEventType = JobEvent['type']

/** The one small interface a job reports through. */
export interface EventSink {
  emit(event: JobEvent): void
}

/** A sink that drops everything (a job run for its result only). */
export const NO_EVENTS: EventSink = {emit() {}}

/**
 * A sink to hand out before the renderer exists (to the Terminus adapter, say): it forwards to whatever
 * sink is attached, and holds what comes before that (a pause or a warning while the targets are still
 * being listed) for the first sink attached.
 */
export function createRelay(): EventSink & {attach(sink: EventSink): void} {
  let target: EventSink | undefined
  const held: JobEvent[] = []
  return {
    attach(sink) {
      target = sink
      for (const event of held.splice(0)) sink.emit(event)
    },
    emit(event) {
      if (target) target.emit(event)
      else held.push(event)
    },
  }
}

/** One sink that forwards to several (the screen and a JSON-lines log, say). */
export function fanOut(...sinks: EventSink[]): EventSink {
  return {
    emit(event) {
      for (const sink of sinks) sink.emit(event)
    },
  }
}

/** A stable identity for an archive within a run: site.env plus filename. */
export function archiveId(archive: ArchiveRef): string {
  return `${archive.site}.${archive.env}/${archive.file}`
}

/** A stored object: the archive at one destination. */
export function objectId(object: ObjectRef): string {
  return `${archiveId(object)}@${object.location}`
}

export function targetId(target: SiteEnvRef): string {
  return `${target.site}.${target.env}`
}
