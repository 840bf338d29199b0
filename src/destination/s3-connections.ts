/**
 * How pbm's S3 clients retry and keep connections: the two rules that decide whether a long,
 * unattended run survives an S3 endpoint's hiccups.
 *
 * Retries: the SDK's standard strategy keeps ONE retry quota per client (500 tokens, 14 per transient
 * retry, refunded only when that retry succeeds). A mirror shares one client among all its uploads,
 * so a burst of resets at --concurrency 32 (measured: s3rver on a loaded 2-core machine) drained the
 * quota and every later reset failed its archive at the first attempt ("socket hang up", attempts: 1)
 * — 118 to 172 of 300 archives. The quota protects a fleet of clients from retry storms; for one
 * backup run, each request gets its own attempts (maxAttempts) with jittered exponential back-off.
 *
 * Connections: Node 20's http.Agent keeps an idle keep-alive socket forever unless the agent has a
 * timeout (the server's `Keep-Alive: timeout=N` hint is only used to shorten the agent's own). A
 * server that closes idle connections (Node servers after 5 s, s3rver, many proxies) then races the
 * next request on that socket: ECONNRESET. Idle sockets are closed after IDLE_SOCKET_MS, before them.
 */
/** Idle keep-alive sockets are closed after this long: under the 5 s of Node servers, s3rver included. */
export const IDLE_SOCKET_MS = 4000

/** The SDK's retry classification (smithy's RetryErrorType). */
export type RetryErrorType = 'CLIENT_ERROR' | 'SERVER_ERROR' | 'THROTTLING' | 'TRANSIENT'

/** The SDK's retry token, as its retry middleware reads it. */
export interface RetryToken {
  getRetryCount(): number
  getRetryDelay(): number
}

/** First back-off (ms), and its base when the server asked to slow down; both doubled per retry. */
export const RETRY_BASE_MS = {default: 100, throttled: 500}
export const MAX_RETRY_DELAY_MS = 20_000

/**
 * The SDK's RetryStrategyV2 without a shared quota: every request may be retried up to maxAttempts
 * times in all when the failure is transient (connection reset or timeout, 5xx) or throttling, after
 * a full-jitter exponential delay (the middleware waits getRetryDelay()). Client errors (4xx) are not
 * retried. `random` is for tests.
 */
export class PerRequestRetryStrategy {
  readonly mode = 'standard'

  constructor(
    private readonly maxAttempts: number,
    private readonly random: () => number = Math.random,
  ) {}

  async acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    return token(0, 0)
  }

  async refreshRetryTokenForRetry(
    previous: RetryToken,
    info: {errorType: RetryErrorType; retryAfterHint?: Date},
  ): Promise<RetryToken> {
    const retries = previous.getRetryCount() + 1
    if ((info.errorType !== 'TRANSIENT' && info.errorType !== 'THROTTLING') || retries >= this.maxAttempts) {
      throw new Error('No retry token available')
    }

    const base = info.errorType === 'THROTTLING' ? RETRY_BASE_MS.throttled : RETRY_BASE_MS.default
    let delay = Math.floor(this.random() * Math.min(MAX_RETRY_DELAY_MS, base * 2 ** retries))
    if (info.retryAfterHint) {
      delay = Math.max(delay, Math.min(MAX_RETRY_DELAY_MS, info.retryAfterHint.getTime() - Date.now()))
    }

    return token(retries, delay)
  }

  recordSuccess(_token: RetryToken): void {}
}

function token(retries: number, delay: number): RetryToken {
  return {getRetryCount: () => retries, getRetryDelay: () => delay}
}

/**
 * Options of the client's http and https agents (the SDK adds keepAlive and 50 sockets, and destroys
 * them with the client). An agent's `timeout` is also each new socket's first idle timeout: the SDK
 * replaces it with the request's socketTimeout within 3 s, before it can fire.
 */
export const AGENT_OPTIONS = {timeout: IDLE_SOCKET_MS}
