import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {type Sandbox} from '../../../sandbox/index.js'
import {Terminus, type TerminusOptions} from '../../../src/terminus/index.js'

/** An adapter pointed at a sandbox's `terminus`. */
export function terminusFor(sb: Sandbox, options: TerminusOptions = {}): Terminus {
  return new Terminus({bin: sb.terminusPath, ...options, env: {...sb.env, ...options.env}})
}

/** Catch the rejection of a promise that must fail, to assert on the error. */
export async function failure(
  promise: Promise<unknown>,
): Promise<Error & {code?: string; hint?: string; terminusMessage?: string}> {
  try {
    await promise
  } catch (error) {
    return error as Error & {code?: string}
  }

  throw new Error('expected the call to fail, but it succeeded')
}

export interface RecordedCall {
  pid: string
  start: number
  end?: number
  cwd: string
  args: string[]
  /** The variables the adapter sets or passes through; `-` when unset. */
  env: {TERMINUS_USER: string; TERMINUS_WORKFLOW_POLLING_DELAY_MS: string; AWS: string}
}

/**
 * A `terminus` that records each call (start and end times, working directory, arguments) and then
 * runs the sandbox's: what the adapter really spawned, seen from outside it.
 */
export class CallRecorder {
  readonly bin: string
  private readonly dir: string
  private readonly gate: string
  private readonly logFile: string

  /**
   * `exec`: replace the recording shell with Terminus (no end time is recorded), so that a signal
   * sent to the spawned process reaches Terminus itself. `holdCreates`: each backup:create, once
   * recorded as started, waits until release() is called, so that tests order calls by events.
   */
  constructor(sb: Sandbox, options: {exec?: boolean; holdCreates?: boolean} = {}) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'pbm-recorder-'))
    this.logFile = path.join(this.dir, 'calls.log')
    writeFileSync(this.logFile, '')
    this.bin = path.join(this.dir, 'terminus')
    this.gate = path.join(this.dir, 'release')
    writeFileSync(
      this.bin,
      [
        '#!/bin/sh',
        `log=${JSON.stringify(this.logFile)}`,
        // One line per event; arguments are NUL-free, so tabs are a safe separator here.
        String.raw`tab=$(printf '\t')`,
        // AWS: the names of any AWS_* variables Terminus received, comma-separated, or `-`.
        String.raw`aws=$(env | sed -n "s/^\(AWS_[A-Za-z0-9_]*\)=.*/\1/p" | tr "\n" "," | sed "s/,$//")`,
        // eslint-disable-next-line no-template-curly-in-string
        'line="start $$ $(date +%s%N) ${TERMINUS_WORKFLOW_POLLING_DELAY_MS:--} ${TERMINUS_USER:--} ${aws:--} $PWD"',
        'for a in "$@"; do line="$line$tab$a"; done',
        String.raw`printf '%s\n' "$line" >> "$log"`,
        ...(options.holdCreates
          ? [`if [ "$1" = backup:create ]; then while [ ! -e ${JSON.stringify(this.gate)} ]; do sleep 0.02; done; fi`]
          : []),
        ...(options.exec
          ? [`exec ${JSON.stringify(sb.terminusPath)} "$@"`]
          : [`${JSON.stringify(sb.terminusPath)} "$@"`, 'rc=$?', 'echo "end $$ $(date +%s%N)" >> "$log"', 'exit $rc']),
        '',
      ].join('\n'),
    )
    chmodSync(this.bin, 0o755)
  }

  /** Let the held backup:create calls (holdCreates) go on. */
  release(): void {
    writeFileSync(this.gate, '')
  }

  /** The calls recorded, without `terminus --version` (asked once per adapter when a create or import needs it) unless asked. */
  calls(options: {withVersion?: boolean} = {}): RecordedCall[] {
    const calls = new Map<string, RecordedCall>()
    for (const line of readFileSync(this.logFile, 'utf8').split('\n').filter(Boolean)) {
      const [head, ...args] = line.split('\t')
      const [event, pid, ns, pollingDelay, user, aws, ...cwd] = head.split(' ')
      if (event === 'start') {
        calls.set(pid, {
          pid,
          start: Number(BigInt(ns) / 1_000_000n),
          cwd: cwd.join(' '),
          args,
          env: {TERMINUS_WORKFLOW_POLLING_DELAY_MS: pollingDelay, TERMINUS_USER: user, AWS: aws},
        })
      } else {
        const call = calls.get(pid)
        if (call) call.end = Number(BigInt(ns) / 1_000_000n)
      }
    }

    return [...calls.values()].filter((call) => options.withVersion || call.args[0] !== '--version')
  }

  /** The most calls that were running at the same moment. */
  maxOverlap(filter: (call: RecordedCall) => boolean = () => true): number {
    const events = this.calls()
      .filter((call) => filter(call))
      .flatMap((call) => [
        {t: call.start, d: 1},
        {t: call.end ?? Number.POSITIVE_INFINITY, d: -1},
      ])
      .sort((a, b) => a.t - b.t || a.d - b.d)
    let running = 0
    let max = 0
    for (const e of events) {
      running += e.d
      max = Math.max(max, running)
    }

    return max
  }

  close(): void {
    rmSync(this.dir, {force: true, recursive: true})
  }
}

/** Resolve once `condition()` holds, checking every 10 ms: waiting for an event, never for a guessed time. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) {
    await new Promise((resolve) => {
      setTimeout(resolve, 10)
    })
  }
}

export {createSandbox, type Sandbox, type SandboxSpec} from '../../../sandbox/index.js'
