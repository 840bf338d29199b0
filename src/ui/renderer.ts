/**
 * Which listr2 renderer draws the task tree. The animated one takes over the terminal, so it is only
 * for a person at a real terminal; cron and CI get one line per change; --json and --quiet get none.
 */
export type RendererName = 'default' | 'silent' | 'simple'

export interface OutputMode {
  renderer: RendererName
  /** How often a running transfer's progress line may change: often when redrawn, rarely when appended. */
  progressEveryMs: number
  /** Output is appended line by line (no redraws, no carriage returns). */
  lineMode: boolean
}

export function chooseOutputMode(
  options: {json?: boolean; quiet?: boolean},
  env = process.env,
  isTTY = Boolean(process.stdout.isTTY),
): OutputMode {
  if (options.json || options.quiet)
    return {lineMode: true, progressEveryMs: Number.POSITIVE_INFINITY, renderer: 'silent'}
  const plain = !isTTY || Boolean(env.CI) || env.NODE_ENV === 'test' || env.TERM === 'dumb'
  if (plain) return {lineMode: true, progressEveryMs: lineProgressInterval(env), renderer: 'simple'}
  return {lineMode: false, progressEveryMs: 150, renderer: 'default'}
}

/** PBM_PROGRESS_INTERVAL (seconds) sets how often cron logs get a progress line; 5 s by default. */
function lineProgressInterval(env: NodeJS.ProcessEnv): number {
  const seconds = Number(env.PBM_PROGRESS_INTERVAL)
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 5000
}
