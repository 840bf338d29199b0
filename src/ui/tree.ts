import {Listr, type ListrTask, type ListrTaskWrapper, PRESET_TIMER} from 'listr2'

import type {EventSink, JobEvent} from '../jobs/events.js'
import type {ArchiveRef, ObjectRef, SiteEnvRef} from '../jobs/results.js'
import type {Renderer} from './renderer.js'

import {archiveId, objectId, targetId} from '../jobs/events.js'
import {describeChecked, describeChosen, describeDone, describeFailed, describeProgress} from './describe.js'
import {fitAround, type LongPart, outputWidth} from './fit.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTask = ListrTaskWrapper<any, any, any>

/** The end of the events: a task still waiting when the job returned is not finished. */
const END = Symbol('end')
type Next = JobEvent | typeof END

/**
 * Events of one subject (a site.env or an archive), in order, for the task that shows it. Events that
 * arrive before the task reads them wait in the queue, so no task misses its start.
 */
class Feed {
  private readonly queue: Next[] = []
  private wake?: () => void

  push(event: Next): void {
    this.queue.push(event)
    this.wake?.()
  }

  async next(): Promise<Next> {
    while (this.queue.length === 0) {
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
      this.wake = undefined
    }

    return this.queue.shift()!
  }
}

/**
 * Everything said about one site.env, kept: each step of its task looks for the events it needs in all
 * of it, whenever they came (a backup:create may finish before the tree draws the site.env).
 */
class Log {
  private readonly events: Next[] = []
  private readonly waiters = new Set<() => void>()

  push(event: Next): void {
    this.events.push(event)
    for (const wake of this.waiters) wake()
  }

  /** The first event (so far or to come) of one of `types`, or END. */
  async find<T extends JobEvent['type']>(types: T[]): Promise<Extract<JobEvent, {type: T}> | typeof END> {
    for (;;) {
      const hit = this.events.find((e) => e === END || (types as string[]).includes(e.type))
      if (hit !== undefined) return hit as Extract<JobEvent, {type: T}> | typeof END
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake)
          resolve()
        }

        this.waiters.add(wake)
      })
    }
  }
}

class TaskFailure extends Error {}

/**
 * A task title that fits the terminal at its depth, its long names shortened (in the middle, as in
 * tables) so that what happened stays on screen: listr2 indents a level by 2, adds its icon and a space,
 * a done task's timer (` [12s]`), and cuts whatever is still too wide at the end. A `reason` (why it
 * failed) follows what happened; names are never shortened to make room for it, it is cut instead.
 */
function fitTitle(title: string, level: number, parts: LongPart[], reason = ''): string {
  const columns = outputWidth()
  return (columns > 0 ? fitAround(title, columns - level * 2 - 2 - 2 - 6, parts) : title) + reason
}

const fileName = (file: string): LongPart => ({min: 24, shrink: 'middle', text: file})
const hash = (md5: string | undefined): LongPart => ({min: 9, shrink: 'end', text: md5 ?? ''})

/**
 * The live listr2 tree at a terminal: one task per site.env (create → list → one task per archive) for
 * mirror, one per archive for pick, redrawn with progress bars. It only reads events: the job runs
 * the same without it.
 */
export function treeRenderer(options: {progressEveryMs: number}): Renderer {
  const feeds = new Map<string, Feed>()
  const logs = new Map<string, Log>()
  let closed = false
  const log = (id: string) => {
    let l = logs.get(id)
    if (!l) {
      l = new Log()
      logs.set(id, l)
      if (closed) l.push(END)
    }

    return l
  }

  const feed = (id: string) => {
    let f = feeds.get(id)
    if (!f) {
      f = new Feed()
      feeds.set(id, f)
      if (closed) f.push(END)
    }

    return f
  }

  let running: Promise<void> | undefined

  const archiveTask = (archive: ArchiveRef, title: string, level: number): ListrTask => ({
    async task(_ctx, task) {
      const events = feed(archiveId(archive))
      let last = 0
      for (;;) {
        const e = await events.next()
        if (e === END) throw new TaskFailure(`${title}: ${archive.file} not finished`)
        switch (e.type) {
          case 'archive:queued': {
            task.title = `${title}: waiting for a transfer slot`
            break
          }

          case 'archive:started': {
            task.title = fitTitle(`${title}: ${archive.file}`, level, [fileName(archive.file)])
            break
          }

          case 'archive:progress': {
            const now = Date.now()
            if (now - last < options.progressEveryMs && e.progress.phase === 'downloading') break
            last = now
            task.output = describeProgress(e.progress)
            break
          }

          case 'archive:resumed':
          case 'archive:refreshed': {
            task.output = e.note
            break
          }

          case 'archive:done': {
            const md5 = e.rows.find((r) => r.md5)?.md5
            task.title = fitTitle(`${title}: ${describeDone(archive, e.rows, e.skipped)}`, level, [
              hash(md5),
              fileName(archive.file),
            ])
            if (e.skipped) task.skip(task.title)
            return
          }

          case 'archive:failed': {
            const where = e.rows
              .filter((r) => r.status === 'failed')
              .map((r): LongPart => ({min: 20, shrink: 'middle', text: r.location}))
            const failed = describeFailed(archive, e.rows, e.error)
            const reason = failed.endsWith(`: ${e.error.message}`) ? `: ${e.error.message}` : ''
            task.title = fitTitle(
              `${title}: ${failed.slice(0, failed.length - reason.length)}`,
              level,
              [fileName(archive.file), ...where],
              reason,
            )
            throw new TaskFailure(e.error.message)
          }

          default:
        }
      }
    },
    title,
  })

  /** verify --deep: one stored object read back, with its progress and verdict. */
  const objectTask = (object: ObjectRef, level: number): ListrTask => ({
    async task(_ctx, task) {
      const events = feed(objectId(object))
      const location: LongPart = {min: 24, shrink: 'middle', text: object.location}
      let last = 0
      for (;;) {
        const e = await events.next()
        if (e === END) throw new TaskFailure(`${object.file}: not checked`)
        switch (e.type) {
          case 'object:started': {
            task.title = fitTitle(`${object.site}.${object.env} ${object.element}: reading ${object.location}`, level, [
              location,
            ])
            break
          }

          case 'object:progress': {
            const now = Date.now()
            if (now - last < options.progressEveryMs && e.progress.phase === 'downloading') continue
            last = now
            task.output = describeProgress(e.progress)
            break
          }

          case 'object:checked': {
            task.title = fitTitle(
              `${object.site}.${object.env} ${object.element}: ${describeChecked(object.location, e.status)}`,
              level,
              [location],
              e.detail ? ` (${e.detail})` : '',
            )
            if (e.status !== 'ok') throw new TaskFailure(task.title)
            return
          }

          default:
        }
      }
    },
    title: fitTitle(`${object.site}.${object.env} ${object.element}: ${object.file}`, level, [fileName(object.file)]),
  })

  /**
   * One step of a run made of steps (verify): its title with counts once it starts, its progress, what
   * it found; a step that reads objects back holds one task per object instead.
   */
  const stepTask = (step: string, title: string): ListrTask => ({
    async task(_ctx, task) {
      const events = feed(`step:${step}`)
      let started = false
      for (;;) {
        const e = await events.next()
        // The run stopped (an error, Ctrl-C): a step it never began is left neutral, one it began is not done.
        if (e === END) {
          if (started) throw new TaskFailure(`${task.title}: not finished`)
          task.skip(task.title)
          return
        }

        switch (e.type) {
          case 'step:started': {
            started = true
            task.title = e.title
            if (e.objects && e.objects.length > 0) {
              return task.newListr(
                e.objects.map((o) => objectTask(o, 1)),
                {concurrent: true, exitOnError: false},
              )
            }

            break
          }

          case 'step:progress': {
            task.output = e.note
            break
          }

          case 'step:done': {
            if (e.failed) throw new Error(`${e.title}: ${e.note}`)
            task.title = `${e.title}: ${e.note}`
            return
          }

          default:
        }
      }
    },
    title,
  })

  const targetTask = (target: SiteEnvRef, create: boolean): ListrTask => ({
    async task(_ctx, task) {
      const events = log(targetId(target))
      /**
       * The first of `types` said of this site.env; a failure throws, and a skip or the end come back
       * as what they are, for the step to show.
       */
      const find = async <T extends JobEvent['type']>(...types: T[]) => {
        const e: JobEvent | typeof END = await events.find<JobEvent['type']>([
          ...types,
          'target:failed',
          'target:skipped',
        ])
        if (e === END) throw new TaskFailure('not finished')
        if (e.type === 'target:failed') throw new TaskFailure(e.error.message)
        return e as Extract<JobEvent, {type: 'target:skipped' | T}>
      }

      const first = await find('target:started', 'backup:creating')
      if (first.type === 'target:skipped') {
        task.skip(`${task.title}: skipped, ${first.reason}`)
        return
      }

      const steps: ListrTask[] = []
      if (create) {
        steps.push({
          async task(_c, step: AnyTask) {
            const e = await find('backup:created', 'backup:create-skipped')
            if (e.type === 'backup:created') step.title = 'create backup: done'
            else step.skip(`create backup: skipped (${e.reason})`)
          },
          title: 'create backup',
        })
      }

      steps.push(
        {
          async task(_c, step: AnyTask) {
            const e = await find('backups:chosen')
            if (e.type === 'target:skipped') {
              step.skip(e.reason)
              // The site.env itself ends skipped (a neutral mark), not done with a green ✔.
              task.skip(`${targetId(target)}: skipped, ${e.reason}`)
              return
            }

            step.title = describeChosen(e.archives.length, e.newest, e.older)
            return step.newListr(
              e.archives.map((a) => archiveTask(a, a.element, 2)),
              {concurrent: true, exitOnError: false},
            )
          },
          title: 'list backups',
        },
        {
          async task() {
            await find('target:done')
          },
        },
      )
      return task.newListr(steps, {concurrent: false, exitOnError: true})
    },
    title: targetId(target),
  })

  const start = (e: Extract<JobEvent, {type: 'run:started'}>) => {
    const tasks = e.steps
      ? e.steps.map((s) => stepTask(s.step, s.title))
      : e.targets
        ? e.targets.map((t) => targetTask(t, Boolean(e.create)))
        : e.objects
          ? e.objects.map((o) => objectTask(o, 0))
          : (e.archives ?? []).map((a) => archiveTask(a, a.element, 0))
    const list = new Listr(tasks, {
      collectErrors: false,
      // Steps follow one another; targets, archives and objects run side by side.
      concurrent: !e.steps,
      exitOnError: false,
      // pbm handles Ctrl-C itself: abort the transfers, clean up, then exit 130.
      registerSignalListeners: false,
      renderer: 'default',
      rendererOptions: {
        collapseErrors: false,
        collapseSubtasks: false,
        formatOutput: 'truncate',
        persistentOutput: false,
        showErrorMessage: true,
        timer: PRESET_TIMER,
      },
    } as never)
    running = list.run().then(
      () => {},
      () => {},
    )
  }

  const sink: EventSink = {
    emit(e) {
      // backup:restore's few sequential steps are drawn as lines (openRenderer's `steps`), not as a tree.
      if (e.type.startsWith('restore:')) return
      if (e.type === 'run:started') start(e)
      else if ('step' in e) feed(`step:${e.step}`).push(e)
      else if ('object' in e) feed(objectId(e.object)).push(e)
      else if ('archive' in e) feed(archiveId(e.archive)).push(e)
      else if ('target' in e) log(targetId(e.target)).push(e)
    },
  }
  return {
    ...sink,
    async close() {
      closed = true
      for (const f of feeds.values()) f.push(END)
      for (const l of logs.values()) l.push(END)
      await running
    },
  }
}
