/**
 * `npm run demo` as a newcomer sees it, at an 80-column terminal (a PTY): it mirrors and picks on the
 * sandbox, nothing it prints wraps, and its last lines say the sandbox is stopped and how to start one
 * that stays up, never a command to run against the sandbox it has just stopped.
 */
import {expect} from 'chai'

import {ROOT} from '../helpers/cli.js'
import {finishedCleanly, type PtySession, spawnPty, terminalEnv} from '../helpers/pty.js'
import {wrappedLines} from '../helpers/screen.js'

describe('npm run demo (PTY, 80 columns)', function () {
  this.timeout(180_000)
  let session: PtySession | undefined

  after(() => {
    session?.stop()
  })

  it('fits 80 columns and ends by pointing at npm run sandbox, after saying the sandbox is stopped', async () => {
    // The demo's own script, on the dist/ the suite built (npm run demo builds first, then runs this).
    session = spawnPty([process.execPath, '--import', 'tsx', 'demo/run.ts'], {
      cols: 80,
      cwd: ROOT,
      env: terminalEnv({}),
      rows: 50,
      timeoutMs: 170_000,
    })
    const exit = await finishedCleanly(session)
    const text = session.text()
    expect(exit.exitCode, text.slice(-3000)).to.equal(0)
    expect(wrappedLines(session.raw(), 80), 'lines wider than 80 columns').to.deep.equal([])

    const lines = text
      .split(/\r?\n/)
      .map((line) => line.trimEnd())
      .filter(Boolean)
    expect(lines.at(-1)).to.equal('To try pbm yourself: npm run sandbox (README: "Try it yourself").')
    const stopped = lines.indexOf('The sandbox and the S3 server are stopped.')
    expect(stopped, lines.slice(-5).join('\n')).to.equal(lines.length - 2)
    expect(lines.slice(stopped).join('\n')).to.not.match(/\bpbm backup:|npm run demo/)
  })
})
