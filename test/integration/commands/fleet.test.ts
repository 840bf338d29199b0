/**
 * backup:mirror at fleet scale, through the built CLI against the sandbox (which counts every Terminus
 * call it answers) and s3rver: Terminus calls per site.env, shards, a throttling Pantheon, JSON logs
 * and health pings.
 */
import {expect} from 'chai'
import http from 'node:http'

import {daysAgo, json, startWorld, type World} from '../../helpers/cli.js'

interface MirrorJson {
  archives: Array<{file: string; site: string; env: string; status: string}>
  targets: Array<{site: string; env: string; status: string}>
  summary: {failed: number; skipped: number; transferred: number}
  shard?: string
}

const SITES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']

describe('pbm backup:mirror at fleet scale (built CLI, sandbox + s3rver)', function () {
  // Whole mirrors of 36 archives, several per test: minutes on a loaded 2-core machine.
  this.timeout(300_000)
  let world: World

  before(async () => {
    world = await startWorld({
      sites: SITES.map((name) => ({
        envs: [
          {backups: [{date: daysAgo(2)}, {date: daysAgo(1)}], name: 'dev'},
          {backups: [{date: daysAgo(1)}], name: 'live'},
        ],
        name,
      })),
    })
  })

  after(async () => world?.close())

  const mirror = (args: string[], env?: Record<string, string>) =>
    world.pbm(['backup:mirror', '--site', ...SITES.flatMap((s, i) => (i === 0 ? [s] : ['--site', s])), ...args], {env})

  it('a run costs one list and one get per archive; a no-op re-run one call per site.env plus one', async () => {
    world.sandbox.resetCalls()
    const first = await mirror(['--bucket', world.bucket, '--prefix', 'calls/', '--json'])
    expect(first.exitCode, String(first.stderr)).to.equal(0)
    const targets = SITES.length * 2
    expect(json<MirrorJson>(first).summary.transferred).to.equal(targets * 3)
    const counts = world.sandbox.callCounts()
    expect(counts['site:list'], 'site:list').to.equal(1)
    expect(counts['env:list'] ?? 0, 'env:list').to.equal(0)
    expect(counts['backup:list'], 'backup:list').to.equal(targets)
    // Each archive's URL is asked for once (fetched ahead of its slot, or in it): at most 4 per site.env.
    expect(counts['backup:get'], 'backup:get').to.equal(targets * 3)

    world.sandbox.resetCalls()
    world.sandbox.resetStats()
    const again = await mirror(['--bucket', world.bucket, '--prefix', 'calls/', '--json'])
    expect(again.exitCode, String(again.stderr)).to.equal(0)
    expect(json<MirrorJson>(again).summary.skipped).to.equal(targets * 3)
    const calls = world.sandbox.calls()
    expect(calls.length, calls.map((c) => c.command).join(' ')).to.be.at.most(targets + 1)
    expect(calls.filter((c) => c.command === 'backup:get')).to.deep.equal([])
  })

  it('--shard K/N: shards are disjoint, cover every site.env, keep a site whole, and --dry-run --json shows them', async () => {
    const seen = new Map<string, string>()
    for (let k = 1; k <= 3; k++) {
      const run = await mirror(['--bucket', world.bucket, '--prefix', 'shards/', '--dry-run', '--json'], {
        PBM_SHARD: `${k}/3`,
      })
      expect(run.exitCode, String(run.stderr)).to.equal(0)
      const out = json<MirrorJson>(run)
      expect(out.shard).to.equal(`${k}/3`)
      for (const t of out.targets) {
        const id = `${t.site}.${t.env}`
        expect(seen.has(id), `${id} in two shards`).to.equal(false)
        seen.set(id, `${k}/3`)
      }
    }

    expect([...seen.keys()].sort()).to.deep.equal(SITES.flatMap((s) => [`${s}.dev`, `${s}.live`]).sort())
    for (const site of SITES) expect(seen.get(`${site}.dev`), site).to.equal(seen.get(`${site}.live`))
  })

  it('a bad --shard is a usage error (exit 2)', async () => {
    for (const shard of ['0/3', '4/3', 'x', '2']) {
      const run = await mirror(['--bucket', world.bucket, '--shard', shard])
      expect(run.exitCode, `${shard}: ${run.stderr}`).to.equal(2)
    }
  })

  it('a throttling Pantheon slows the run down but fails no site', async () => {
    // Four a second: what pbm's 4 concurrent calls exceed on a quiet machine (CI). Tighter limits (2 or 3 a
    // second) exhaust the 6 attempts of some call and fail its site; on a loaded machine the calls may
    // never reach 4 a second (the test then says so rather than pass).
    world.sandbox.setThrottle({calls: 4, windowMs: 1000})
    try {
      world.sandbox.resetCalls()
      const run = await mirror(
        ['--bucket', world.bucket, '--prefix', 'throttled/', '--element', 'db', '--json', '--log-format', 'json'],
        {
          // Short pauses for the test; the defaults are Pantheon-sized (30 s and up).
          PBM_TERMINUS_BACKOFF_MS: '500',
        },
      )
      expect(run.exitCode, String(run.stderr)).to.equal(0)
      expect(json<MirrorJson>(run).summary).to.include({failed: 0, transferred: SITES.length * 2})
      const refused = world.sandbox.calls().filter((c) => c.throttled)
      expect(refused.length, 'the sandbox never throttled: the test proves nothing').to.be.greaterThan(0)
      const log = String(run.stderr)
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as {event: string; level: string})
      expect(log.some((r) => r.event === 'terminus:paused' && r.level === 'warn')).to.equal(true)
    } finally {
      world.sandbox.setThrottle(null)
    }
  })

  it('--log-format json: one JSON object per event on stderr, each naming its site.env; the result on stdout', async () => {
    const run = await mirror([
      '--bucket',
      world.bucket,
      '--prefix',
      'jsonlog/',
      '--element',
      'db',
      '--json',
      '--log-format',
      'json',
    ])
    expect(run.exitCode, String(run.stderr)).to.equal(0)
    expect(json<MirrorJson>(run).summary.transferred).to.equal(SITES.length * 2)
    const records = String(run.stderr)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as {event: string; site?: string; env?: string; file?: string; time: string})
    const done = records.filter((r) => r.event === 'archive:done')
    expect(done).to.have.length(SITES.length * 2)
    for (const r of done) expect(r.file).to.match(new RegExp(`^${r.site}_${r.env}_.*_database\\.sql\\.gz$`))
    expect(records.at(-1)?.event).to.equal('run:summary')
  })

  it('--ping: start, then success with the counts; a failing run pings /fail; a dead ping URL is only a warning', async () => {
    const pings: Array<{path: string; body: string}> = []
    const server = http.createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c.toString()
      })
      req.on('end', () => {
        pings.push({body, path: new URL(req.url ?? '/', 'http://x').pathname})
        res.end('OK')
      })
    })
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve)
    })
    const {port} = server.address() as {port: number}
    try {
      const ok = await mirror([
        '--bucket',
        world.bucket,
        '--prefix',
        'ping/',
        '--element',
        'db',
        '--ping',
        `http://127.0.0.1:${port}/check`,
      ])
      expect(ok.exitCode, String(ok.stderr)).to.equal(0)
      expect(pings.map((p) => p.path)).to.deep.equal(['/check/start', '/check'])
      expect(pings[1].body).to.match(/transferred/)

      pings.length = 0
      const bad = await world.pbm(
        [
          'backup:mirror',
          'alpha.live',
          'ghost.live',
          '--bucket',
          world.bucket,
          '--prefix',
          'ping/',
          '--ping',
          `http://127.0.0.1:${port}/check`,
        ],
        {},
      )
      expect(bad.exitCode).to.equal(1)
      expect(pings.map((p) => p.path)).to.deep.equal(['/check/start', '/check/1'])
      expect(pings[1].body).to.include('ghost')
    } finally {
      server.close()
    }

    const dead = await mirror([
      '--bucket',
      world.bucket,
      '--prefix',
      'ping/',
      '--element',
      'db',
      '--ping',
      `http://127.0.0.1:${port}/check`,
    ])
    expect(dead.exitCode, 'a failed ping failed the backup').to.equal(0)
    expect(String(dead.stderr)).to.match(/ping/i)
  })
})
