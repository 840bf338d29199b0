import type {ObjectStatus, TargetStatus} from '../plan/verify.js'
import type {Progress} from '../transfer/index.js'
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
    }
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
