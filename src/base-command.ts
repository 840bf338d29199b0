import {Command, Errors, Flags, Interfaces} from '@oclif/core'
import chalk from 'chalk'
import {setMaxListeners} from 'node:events'

import type {EventSink} from './jobs/events.js'
import type {JsonShape} from './jobs/json.js'
import type {Terminus} from './terminus/index.js'

import {nearestNames} from './catalog/index.js'
import {EXIT, InterruptedError, PbmError} from './errors.js'
import {swallowedBy} from './flags.js'
import {completeDocument} from './jobs/json.js'
import {redact} from './redact.js'
import {openRenderer} from './ui/renderer.js'
import {openTerminus, type OpenTerminusOptions} from './ui/terminus.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>

/** Listed in every command's help, so scripts know what to expect. */
export const EXIT_CODES_HELP = `Exit codes: 0 everything done (or already there), 1 a failure (reasons listed), 2 a usage error (a missing or bad flag), 130 interrupted (Ctrl-C).`

/** backup:restore's: nothing is ever "already there" in an import. */
export const RESTORE_EXIT_CODES_HELP = `Exit codes: 0 imported (or written, with --output; planned, with --dry-run; or cancelled at the question), 1 a failure (reasons listed), 2 a usage error (a missing or bad flag), 130 interrupted (Ctrl-C).`

/** backup:prune's (and mirror --prune's) own meaning of the exit codes. */
export const PRUNE_EXIT_CODES_HELP = `Exit codes: 0 pruned (or nothing to remove, or a dry run), 1 a removal failed or --max-delete stopped the prune (then nothing was removed), 2 a usage error (no policy, a bad count or duration, removing without --yes and no terminal), 130 interrupted (Ctrl-C).`

/**
 * What every pbm command shares: --json, --yes, --terminus, one error path that keeps exit codes right
 * (with and without --json), NO_COLOR, and one AbortSignal that Ctrl-C fires.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override baseFlags = {
    'log-format': Flags.option({
      default: 'text',
      env: 'PBM_LOG_FORMAT',
      helpGroup: 'GLOBAL',
      options: ['text', 'json'] as const,
      summary: 'json: one JSON object per event on stderr, for log collectors (the --json result stays on stdout).',
    })(),
    terminus: Flags.string({
      env: 'PBM_TERMINUS',
      helpGroup: 'GLOBAL',
      helpValue: 'PATH',
      summary: 'Terminus executable to run (default: terminus on PATH).',
    }),
    'terminus-timeout': Flags.integer({
      env: 'PBM_TERMINUS_TIMEOUT',
      helpGroup: 'GLOBAL',
      helpValue: 'SECONDS',
      min: 1,
      summary:
        'Seconds one Terminus lookup (list, get) may take before it is stopped; default 300, since Terminus retries a throttled request for about 2 minutes in silence. A lookup stopped before it printed anything is tried once more after a pause. backup:create and imports have their own limits.',
    }),
    yes: Flags.boolean({
      char: 'y',
      env: 'PBM_YES',
      helpGroup: 'GLOBAL',
      summary: 'Never prompt: use flags and environment variables only; a missing choice is a usage error.',
    }),
  }
  static override enableJsonFlag = true
  /** The optional fields of this command's --json document (present as null when they do not apply). */
  static jsonShape?: JsonShape
  protected args!: Interfaces.InferredArgs<T['args']>
  protected flags!: BaseFlags<T>
  /** Fired by the first Ctrl-C; everything long-running takes it. */
  protected readonly abort = new AbortController()
  private onSigint?: () => void

  public override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      args: this.ctor.args,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      flags: this.ctor.flags,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as Interfaces.InferredArgs<T['args']>
    // chalk 5 does not honour NO_COLOR by itself.
    if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') chalk.level = 0
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    // Every transfer, Terminus call and prompt listens on this one signal.
    setMaxListeners(0, this.abort.signal)
    let interrupts = 0
    this.onSigint = () => {
      interrupts++
      if (interrupts === 1) {
        this.abort.abort(new InterruptedError())
        return
      }

      // A second Ctrl-C: the user does not want to wait for the clean-up.
      process.exit(EXIT.interrupted)
    }

    process.on('SIGINT', this.onSigint)
    process.on('SIGTERM', this.onSigint)
  }

  /** The run's one Terminus adapter, with --terminus and --terminus-timeout. */
  protected openTerminus(options: Omit<OpenTerminusOptions, 'timeoutSeconds'> = {}): Terminus {
    return openTerminus(this.flags.terminus, {...options, timeoutSeconds: this.flags['terminus-timeout']})
  }

  /** True when a person can answer prompts: a TTY both ways, no --yes, no --json. */
  protected get interactive(): boolean {
    return !this.flags?.yes && !this.jsonEnabled() && Boolean(process.stdin.isTTY) && Boolean(process.stdout.isTTY)
  }

  /**
   * Run a job with its events drawn as this run's output mode asks (live tree, lines, or nothing under
   * --json/--quiet); the renderer has shown everything before the result comes back.
   */
  protected async withRenderer<R>(
    options: {lines?: boolean; quiet?: boolean},
    work: (events: EventSink) => Promise<R>,
  ): Promise<R> {
    const renderer = await openRenderer(
      {json: this.jsonEnabled(), logFormat: this.flags['log-format'], lines: options.lines, quiet: options.quiet},
      // Straight to stderr: oclif's logToStderr is silent under --json, and the log must still flow.
      {err: (line) => process.stderr.write(line + '\n'), out: (line) => this.log(line)},
    )
    try {
      return await work(renderer)
    } finally {
      await renderer.close()
    }
  }

  /** The --json document, every optional field present (src/jobs/json.ts), when the command names its shape. */
  protected override toSuccessJson(result: unknown): unknown {
    const {jsonShape} = this.ctor as typeof BaseCommand
    return jsonShape ? completeDocument(result, jsonShape) : result
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    if (this.onSigint) {
      process.off('SIGINT', this.onSigint)
      process.off('SIGTERM', this.onSigint)
    }

    return super.finally(error)
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    const mapped = toCliError(error, this.usageHelp())
    // oclif 4 exits 1 under --json whatever the error says: set the code ourselves first.
    process.exitCode = mapped.oclif.exit ?? EXIT.failure
    if (this.jsonEnabled()) {
      const pbm = error instanceof PbmError ? error : undefined
      this.logJson({
        error: {
          code: pbm?.code ?? (mapped.oclif.exit === EXIT.usage ? 'usage' : 'failed'),
          exitCode: process.exitCode,
          hint: pbm?.hint === undefined ? undefined : redact(pbm.hint),
          message: redact(mapped.message),
        },
      })
      throw new Errors.ExitError(process.exitCode as number)
    }

    if (mapped.oclif.exit === EXIT.interrupted) {
      // A person pressed Ctrl-C: that is no error, and needs no " ›   Error:" banner.
      process.stderr.write(`${mapped.message}\n`)
      throw new Errors.ExitError(EXIT.interrupted)
    }

    throw mapped
  }

  /**
   * What a usage error shows instead of oclif's whole help: this command's usage line, and where the
   * rest is. Also the flag names a mistyped one is compared with.
   */
  private usageHelp(): UsageHelp {
    const {ctor} = this
    const {bin} = this.config
    const args = Object.entries(ctor.args ?? {}).map(([name, arg]) => {
      const shown = (arg.name ?? name).toUpperCase()
      return arg.required ? shown : `[${shown}${ctor.strict === false ? '...' : ''}]`
    })
    const flags = Object.entries({...ctor.baseFlags, ...ctor.flags}).flatMap(([name, flag]) => [
      `--${name}`,
      ...(flag.type === 'boolean' && flag.allowNo ? [`--no-${name}`] : []),
      ...(flag.char ? [`-${flag.char}`] : []),
    ])
    return {
      flags: [...flags, '--json', '--help'],
      usage: `Usage: ${bin} ${[this.id, ...args].join(' ')} [FLAGS]  (see --help)`,
    }
  }
}

interface UsageHelp {
  /** Every flag the command takes, as typed (`--latest`, `-e`). */
  flags: string[]
  /** One line: the command, its arguments, and where its help is. */
  usage: string
}

/** One line of advice and the right exit code, never a stack trace. */
export function toCliError(error: unknown, help?: UsageHelp): Errors.CLIError {
  if (help && isParseError(error)) return shortUsageError(error, help)
  if (error instanceof Errors.CLIError) return error
  if (isPromptExit(error)) return new Errors.CLIError('Interrupted.', {exit: EXIT.interrupted})
  if (error instanceof PbmError) {
    return new Errors.CLIError(redact(error.message), {
      exit: error.exitCode,
      suggestions: error.hint ? [redact(error.hint)] : undefined,
    })
  }

  const message = error instanceof Error ? error.message : String(error)
  return new Errors.CLIError(redact(message), {exit: EXIT.failure})
}

/** The prompts of `@inquirer/prompts` reject with ExitPromptError on Ctrl-C and AbortPromptError when its signal fires. */
export function isPromptExit(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')
}

type ParseError = Errors.CLIError & {flags?: string[]; parse?: unknown; showHelp?: boolean}

/** oclif's own usage errors (unknown flag, unexpected argument, bad option): each would print the whole help. */
function isParseError(error: unknown): error is ParseError {
  return error instanceof Errors.CLIError && 'parse' in error
}

/**
 * oclif's usage error in two lines instead of ~100: what is wrong (with "did you mean" for a mistyped
 * flag, by the edit distance the backup filenames use), then the usage line. Exit 2.
 */
function shortUsageError(error: ParseError, help: UsageHelp): Errors.CLIError {
  // oclif adds "See more help with --help"; the usage line says it.
  const message = error.message.replace(/\nSee more help with --help$/, '')
  const unknown = error.flags
  // `--element db alpha.live`: a repeatable flag took the SITE.ENV as one more value.
  const badOption = /^Expected --([\w-]+)=(.*) to be one of: /.exec(message)
  const swallowed = badOption ? swallowedBy(badOption[1], [badOption[2]]) : undefined
  const lines =
    unknown && unknown.length > 0
      ? unknown.map((flag) => {
          const name = flag.split('=')[0]
          const [near] = nearestNames(help.flags, name, 1)
          return `Unknown flag ${name}${near ? `: did you mean ${near}?` : '.'}`
        })
      : swallowed
        ? [`${swallowed.message} ${swallowed.hint}`]
        : [message]
  return new Errors.CLIError([...lines, help.usage].join('\n'), {exit: EXIT.usage})
}
