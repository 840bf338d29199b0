/**
 * The README's "Try it yourself", run literally: its first command (`npm run sandbox`) in one process,
 * the `export` lines it prints pasted into a second shell, then the README's own login and try-it
 * commands there, each of which must succeed. The commands are read from the README, so the test and
 * the words cannot drift apart.
 */
import {expect} from 'chai'
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {listFiles, ROOT} from '../helpers/cli.js'

/** The shell blocks of one README section (from its heading to the next heading of its level or above). */
function shellBlocks(readme: string, heading: string): string[][] {
  const start = readme.indexOf(`\n${heading}\n`)
  if (start === -1) throw new Error(`README has no "${heading}" section`)
  const level = heading.split(' ')[0]
  const rest = readme.slice(start + heading.length + 2)
  const end = rest.search(new RegExp(`^#{1,${level.length}} `, 'm'))
  const section = end === -1 ? rest : rest.slice(0, end)
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) =>
    m[1]
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean),
  )
}

/** The parent's environment without what would point pbm or the AWS SDK elsewhere. */
function cleanEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(AWS_|PBM_|TERMINUS_|NODE_OPTIONS$|CI$)/.test(key)) continue
    env[key] = value
  }

  return {...env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', HOME: home, NO_COLOR: '1'}
}

describe('README: try it yourself, its commands run literally', function () {
  this.timeout(180_000)
  let server: ChildProcess | undefined
  let home: string

  before(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'pbm-readme-'))
  })

  after(async () => {
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((resolve) => {
        server!.once('exit', resolve)
      })
      process.kill(-server.pid, 'SIGINT')
      await exited
    }

    await rm(home, {force: true, recursive: true})
  })

  it('npm run sandbox prints the lines for a second shell, where the login and the three commands work', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8')
    const [[start], tryThem, login] = shellBlocks(readme, '### Try it yourself')
    expect(start).to.equal('npm run sandbox')
    expect(tryThem).to.have.length(3)
    expect(login.some((line) => line.startsWith('terminus auth:login'))).to.equal(true)

    // The first shell: the command as written, in its own process group (Ctrl-C reaches npm and node).
    server = spawn('sh', ['-c', start], {
      cwd: ROOT,
      detached: true,
      env: cleanEnv(home),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let printed = ''
    server.stderr!.on('data', (chunk: Buffer) => {
      printed += chunk.toString()
    })
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on('data', (chunk: Buffer) => {
        printed += chunk.toString()
        if (printed.includes('Ctrl-C here stops both')) resolve()
      })
      server!.once('exit', (code) => reject(new Error(`npm run sandbox exited ${code}:\n${printed}`)))
    })
    const exports = printed.split('\n').filter((line) => line.startsWith('export '))
    expect(exports.map((line) => /^export (\w+)=/.exec(line)?.[1])).to.include.members([
      'PATH',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'PBM_ENDPOINT',
      'PBM_BUCKET',
    ])

    // The second shell: the pasted lines, then each README command; every one must succeed.
    const outputs: string[] = []
    for (const command of [...login, ...tryThem]) {
      const script = [...exports, command].join('\n')
      const result = await new Promise<{code: null | number; out: string}>((resolve) => {
        const shell = spawn('bash', ['--norc', '--noprofile', '-c', script], {cwd: home, env: cleanEnv(home)})
        let out = ''
        shell.stdout.on('data', (c: Buffer) => {
          out += c.toString()
        })
        shell.stderr.on('data', (c: Buffer) => {
          out += c.toString()
        })
        shell.once('close', (code) => resolve({code, out}))
      })
      expect(result.code, `${command}\n${result.out}`).to.equal(0)
      outputs.push(result.out)
    }

    // What the three commands did: mirrored alpha and beta, verified them, and picked a database into ~/pbm-try.
    const [mirrored, verified] = outputs.slice(login.length)
    expect(mirrored).to.match(/12 transferred, 0 skipped, 0 failed/)
    expect(verified).to.match(/12 objects ok, 4 site\.envs ok\./)
    const picked = await listFiles(path.join(home, 'pbm-try'))
    expect(picked).to.have.length(1)
    expect(picked[0]).to.match(/^alpha\/live\/alpha_live_.*_database\.sql\.gz$/)
  })
})
