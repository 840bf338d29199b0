import {expect} from 'chai'

import {UsageError} from '../../../src/errors.js'
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  errorFromFailedCall,
  isThrottledOutput,
  parseTerminusRate,
  TerminusBudget,
  TerminusError,
  type TerminusPause,
} from '../../../src/terminus/index.js'
import {FakeClock} from '../../helpers/clock.js'

const throttled = () => new TerminusError('throttled', 'Pantheon refused terminus backup:list for too many requests')
const backoff = {baseMs: 1000, maxMs: 8000, maxAttempts: 4}

/** A call that records when it ran and fails throttled on the tries listed. */
function call(clock: FakeClock, log: number[], throttledTries: Set<number> = new Set()) {
  let tries = 0
  return async () => {
    tries++
    log.push(clock.now())
    if (throttledTries.has(tries)) throw throttled()
    return tries
  }
}

function failed(stderr: string, command = 'backup:list') {
  return errorFromFailedCall({command, commandLine: `terminus ${command} alpha.live`, stderr, stdout: ''})
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }

  throw new Error('expected a rejection')
}

describe('terminus budget: rate, throttling pauses, back-off', () => {
  describe('rate (token bucket)', () => {
    it('spaces calls evenly at CALLS/MIN with the default burst of 1', async () => {
      const clock = new FakeClock(5000)
      const budget = new TerminusBudget({callsPerMinute: 60, clock})
      const starts: number[] = []
      await clock.run(Promise.all(Array.from({length: 5}, () => budget.run(call(clock, starts)))))
      expect(starts).to.deep.equal([5000, 6000, 7000, 8000, 9000])
    })

    it('lets `burst` calls go together after an idle spell, then keeps the rate', async () => {
      const clock = new FakeClock()
      const budget = new TerminusBudget({callsPerMinute: 120, burst: 3, clock})
      const starts: number[] = []
      await clock.run(Promise.all(Array.from({length: 6}, () => budget.run(call(clock, starts)))))
      expect(starts).to.deep.equal([0, 0, 0, 500, 1000, 1500])
      // After a long idle spell the bucket is full again, and no fuller.
      clock.advanceTo(60_000)
      const later: number[] = []
      await clock.run(Promise.all(Array.from({length: 4}, () => budget.run(call(clock, later)))))
      expect(later).to.deep.equal([60_000, 60_000, 60_000, 60_500])
    })

    it('does not limit without a rate', async () => {
      const clock = new FakeClock()
      const budget = new TerminusBudget({clock})
      const starts: number[] = []
      await clock.run(Promise.all(Array.from({length: 50}, () => budget.run(call(clock, starts)))))
      expect(new Set(starts)).to.deep.equal(new Set([0]))
      expect(budget.stats).to.deep.equal({calls: 50, throttled: 0, pauses: 0, pausedMs: 0})
    })
  })

  describe('throttling', () => {
    it('pauses and tries the call again after the jittered delay', async () => {
      const clock = new FakeClock()
      const pauses: TerminusPause[] = []
      const budget = new TerminusBudget({backoff, clock, random: () => 0.5, onPause: (p) => pauses.push(p)})
      const starts: number[] = []
      const result = await clock.run(budget.run(call(clock, starts, new Set([1])), {command: 'backup:list'}))
      expect(result).to.equal(2)
      // Step 1000 ms, equal jitter at 0.5: 500 + 250.
      expect(starts).to.deep.equal([0, 750])
      expect(pauses).to.deep.equal([{command: 'backup:list', level: 1, attempt: 1, delayMs: 750, until: 750}])
      expect(budget.stats).to.deep.equal({calls: 2, throttled: 1, pauses: 1, pausedMs: 750})
    })

    it('pauses every call, not only the refused one', async () => {
      const clock = new FakeClock()
      const budget = new TerminusBudget({backoff, clock, random: () => 0})
      const starts: number[] = []
      const refused = budget.run(call(clock, starts, new Set([1])))
      await clock.settle()
      // Another site's call arrives while the pause is in force.
      const other: number[] = []
      const second = budget.run(call(clock, other))
      await clock.run(Promise.all([refused, second]))
      expect(starts).to.deep.equal([0, 500])
      expect(other).to.deep.equal([500])
    })

    it('counts calls throttled together as one episode: one pause, no faster escalation', async () => {
      const clock = new FakeClock()
      const pauses: TerminusPause[] = []
      const budget = new TerminusBudget({backoff, clock, random: () => 1, onPause: (p) => pauses.push(p)})
      const gates: Array<() => void> = []
      // Four calls in flight at once, all refused when they come back.
      const inFlight = (log: number[]) => {
        let tries = 0
        return async () => {
          tries++
          log.push(clock.now())
          if (tries === 1) {
            await new Promise<void>((resolve) => {
              gates.push(resolve)
            })
            throw throttled()
          }
        }
      }

      const logs = [[], [], [], []] as number[][]
      const all = Promise.all(logs.map((log) => budget.run(inFlight(log))))
      await clock.settle()
      expect(gates).to.have.length(4)
      for (const open of gates) open()
      await clock.run(all)
      expect(pauses.map((p) => p.level)).to.deep.equal([1])
      expect(logs).to.deep.equal([
        [0, 1000],
        [0, 1000],
        [0, 1000],
        [0, 1000],
      ])
    })

    it('doubles the step for throttling seen after a pause, up to maxMs, and gives up after maxAttempts', async () => {
      const clock = new FakeClock()
      const pauses: TerminusPause[] = []
      const budget = new TerminusBudget({
        backoff: {baseMs: 1000, maxMs: 3000, maxAttempts: 4},
        clock,
        random: () => 1,
        onPause: (p) => pauses.push(p),
      })
      const starts: number[] = []
      const error = await clock.run(rejection(budget.run(call(clock, starts, new Set([1, 2, 3, 4])))))
      expect(error).to.be.instanceOf(TerminusError).with.property('code', 'throttled')
      expect(pauses.map((p) => [p.level, p.delayMs])).to.deep.equal([
        [1, 1000],
        [2, 2000],
        [3, 3000],
      ])
      expect(starts).to.deep.equal([0, 1000, 3000, 6000])
      expect(budget.stats.throttled).to.equal(4)
    })

    it('starts again from the first step once a call goes through', async () => {
      const clock = new FakeClock()
      const pauses: TerminusPause[] = []
      const budget = new TerminusBudget({backoff, clock, random: () => 1, onPause: (p) => pauses.push(p)})
      await clock.run(budget.run(call(clock, [], new Set([1, 2]))))
      await clock.run(budget.run(call(clock, [], new Set([1]))))
      expect(pauses.map((p) => p.level)).to.deep.equal([1, 2, 1])
    })

    it('passes other errors through at once', async () => {
      const clock = new FakeClock()
      const budget = new TerminusBudget({backoff, clock})
      let tries = 0
      const error = await clock.run(
        rejection(
          budget.run(async () => {
            tries++
            throw new TerminusError('unknown-site', 'No site "x"')
          }),
        ),
      )
      expect(error).to.have.property('code', 'unknown-site')
      expect(tries).to.equal(1)
      expect(budget.paused).to.equal(false)
    })

    it('stops waiting the moment the signal aborts, during a pause or a token wait, leaving no timer behind', async () => {
      const clock = new FakeClock()
      const budget = new TerminusBudget({callsPerMinute: 1, backoff, clock})
      const controller = new AbortController()
      const starts: number[] = []
      const paused = budget.run(call(clock, starts, new Set([1])), {signal: controller.signal})
      const waiting = budget.run(call(clock, []), {signal: controller.signal})
      const results = Promise.allSettled([paused, waiting])
      await clock.settle()
      expect(clock.pending).to.equal(2)
      const reason = new Error('stop')
      controller.abort(reason)
      const [a, b] = await results
      expect(a).to.deep.equal({status: 'rejected', reason})
      expect(b).to.deep.equal({status: 'rejected', reason})
      expect(clock.now()).to.equal(0)
      expect(clock.pending).to.equal(0)
      expect(starts).to.deep.equal([0])
    })

    it('does not start a call when the signal is already aborted', async () => {
      const budget = new TerminusBudget({clock: new FakeClock()})
      let ran = false
      const error = await rejection(
        budget.run(
          async () => {
            ran = true
          },
          {signal: AbortSignal.abort(new Error('gone'))},
        ),
      )
      expect(error).to.have.property('message', 'gone')
      expect(ran).to.equal(false)
    })
  })

  describe('backoffDelay', () => {
    it('keeps every pause between half and all of its step', () => {
      for (const level of [1, 2, 3, 4, 5, 6, 10]) {
        const step = Math.min(DEFAULT_BACKOFF.maxMs, DEFAULT_BACKOFF.baseMs * 2 ** (level - 1))
        expect(backoffDelay(level, DEFAULT_BACKOFF, () => 0)).to.equal(step / 2)
        expect(backoffDelay(level, DEFAULT_BACKOFF, () => 0.999_999)).to.be.within(step - 1, step)
      }

      expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0)).to.equal(15_000)
      expect(backoffDelay(6, DEFAULT_BACKOFF, () => 0)).to.equal(300_000)
    })
  })

  describe('recognizing throttling in what Terminus printed', () => {
    it('knows Terminus 3.x/4.x after its retries, the 1.x/2.x Guzzle 429 box, and the historic 403', () => {
      const outputs = [
        ' [error]  HTTP request GET https://terminus.pantheon.io:443/api/sites/abc/environments/live/backups/catalog has failed with error . \n' +
          ' [error]  HTTP request has failed with error "Maximum retry attempts reached". \n',
        '\nIn RequestException.php line 113:\n\n  Client error: `GET https://terminus.pantheon.io:443/api/sites/abc` resulted in a `429 Too Many Reques  \n  ts` response:  \n',
        '\nIn RequestException.php line 113:\n\n  Client error: `GET https://terminus.pantheon.io:443/api/x` resulted in a `429 Too Many Requests`\n  response:\n',
        ' [warning] Retrying GET https://terminus.pantheon.io/api/x 5 out of 5 (reason: status code - 429)\n [error]  x \n',
        ' [error]  Request failed: 403 "You have already made 1,000 requests in the past hour. Slow your roll." \n',
        ' [error]  too many requests \n',
      ]
      for (const stderr of outputs) {
        const error = failed(stderr)
        expect(error.code, stderr).to.equal('throttled')
        expect(error.hint).to.match(/--terminus-rate/)
      }

      // A throttled backup:create is throttled, not a failed workflow.
      expect(failed(outputs[0], 'backup:create').code).to.equal('throttled')
    })

    it('does not take other failures or a 429 in a name for throttling', () => {
      for (const stderr of [
        ' [error]  Could not locate a site your user may access identified by site429. \n',
        ' [error]  Workflow failed. \n',
        ' [error]  HTTPS request has failed with error "cURL error 6: Could not resolve host". \n',
        ' [notice] Requests: 429 so far\n',
      ]) {
        expect(isThrottledOutput(stderr), stderr).to.equal(false)
      }
    })
  })

  describe('parseTerminusRate', () => {
    it('reads calls per minute', () => {
      expect(parseTerminusRate('60/min')).to.equal(60)
      expect(parseTerminusRate('60')).to.equal(60)
      expect(parseTerminusRate(' 30 / m ')).to.equal(30)
      expect(parseTerminusRate('2/s')).to.equal(120)
      expect(parseTerminusRate('900/h')).to.equal(15)
      expect(parseTerminusRate('0.5/min')).to.equal(0.5)
      expect(parseTerminusRate('0')).to.equal(0)
      expect(parseTerminusRate('off')).to.equal(0)
    })

    it('is a usage error otherwise', () => {
      for (const bad of ['', 'fast', '-5', '60/day', '1e3', '60/min/2']) {
        const error = (() => {
          try {
            parseTerminusRate(bad)
          } catch (error_) {
            return error_
          }
        })()
        expect(error, bad).to.be.instanceOf(UsageError)
        expect((error as UsageError).exitCode).to.equal(2)
      }
    })
  })
})
