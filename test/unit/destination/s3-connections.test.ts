import {expect} from 'chai'

import {
  MAX_RETRY_DELAY_MS,
  PerRequestRetryStrategy,
  RETRY_BASE_MS,
  type RetryErrorType,
  type RetryToken,
} from '../../../src/destination/s3-connections.js'

/** Every retry a request gets before the strategy refuses, with the delays it asks for. */
async function retriesOf(
  strategy: PerRequestRetryStrategy,
  errorType: RetryErrorType,
  retryAfterHint?: Date,
): Promise<number[]> {
  let token: RetryToken = await strategy.acquireInitialRetryToken('')
  const delays: number[] = []
  for (;;) {
    try {
      token = await strategy.refreshRetryTokenForRetry(token, {errorType, ...(retryAfterHint ? {retryAfterHint} : {})})
    } catch {
      return delays
    }

    expect(token.getRetryCount()).to.equal(delays.length + 1)
    delays.push(token.getRetryDelay())
  }
}

describe('destination/s3-connections: PerRequestRetryStrategy', () => {
  it('retries a transient failure (reset, timeout, 5xx) until maxAttempts attempts in all', async () => {
    expect(await retriesOf(new PerRequestRetryStrategy(3, () => 0.5), 'TRANSIENT')).to.have.length(2)
    expect(await retriesOf(new PerRequestRetryStrategy(5, () => 0.5), 'TRANSIENT')).to.have.length(4)
    expect(await retriesOf(new PerRequestRetryStrategy(1, () => 0.5), 'TRANSIENT')).to.deep.equal([])
  })

  it('has no quota shared by requests: the 1000th failing request is retried like the first', async () => {
    // The SDK's standard strategy has 500 tokens per client, 14 per transient retry: a run whose
    // requests failed ~36 retries' worth stopped retrying altogether.
    const strategy = new PerRequestRetryStrategy(3, () => 0.5)
    for (let i = 0; i < 1000; i++) expect(await retriesOf(strategy, 'TRANSIENT'), `request ${i + 1}`).to.have.length(2)
    for (let i = 0; i < 10; i++) strategy.recordSuccess(await strategy.acquireInitialRetryToken(''))
    expect(await retriesOf(strategy, 'THROTTLING')).to.have.length(2)
  })

  it("does not retry client errors (4xx), nor the SDK's SERVER_ERROR class (as its standard strategy)", async () => {
    const strategy = new PerRequestRetryStrategy(3, () => 0.5)
    expect(await retriesOf(strategy, 'CLIENT_ERROR')).to.deep.equal([])
    expect(await retriesOf(strategy, 'SERVER_ERROR')).to.deep.equal([])
  })

  it('backs off exponentially with full jitter, from a larger base when throttled, capped', async () => {
    const top = new PerRequestRetryStrategy(20, () => 0.999_999)
    const transient = await retriesOf(top, 'TRANSIENT')
    expect(transient.slice(0, 3)).to.deep.equal([
      RETRY_BASE_MS.default * 2 - 1,
      RETRY_BASE_MS.default * 4 - 1,
      RETRY_BASE_MS.default * 8 - 1,
    ])
    expect(Math.max(...transient)).to.equal(MAX_RETRY_DELAY_MS - 1)
    const throttled = await retriesOf(top, 'THROTTLING')
    expect(throttled[0]).to.equal(RETRY_BASE_MS.throttled * 2 - 1)
    expect(await retriesOf(new PerRequestRetryStrategy(4, () => 0), 'TRANSIENT')).to.deep.equal([0, 0, 0])
  })

  it("waits at least until the server's Retry-After, within the cap", async () => {
    const strategy = new PerRequestRetryStrategy(2, () => 0)
    const [soon] = await retriesOf(strategy, 'THROTTLING', new Date(Date.now() + 5000))
    expect(soon).to.be.within(4000, 5000)
    const [capped] = await retriesOf(strategy, 'THROTTLING', new Date(Date.now() + 3_600_000))
    expect(capped).to.equal(MAX_RETRY_DELAY_MS)
  })
})
