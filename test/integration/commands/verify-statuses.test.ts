/**
 * `pbm backup:verify`'s site.env statuses, as a dashboard reads them (the built CLI against the sandbox
 * and a local folder): ok, incomplete, stale, missing, gone; and a Terminus that cannot be used (not
 * logged in, not there) stops the run once, up front.
 */
import type {Result} from 'execa'

import {expect} from 'chai'
import {unlink} from 'node:fs/promises'
import path from 'node:path'

import type {SandboxArchive} from '../../../sandbox/index.js'

import {daysAgo, json, startWorld, type World} from '../../helpers/cli.js'

interface VerifyJson {
  objects: Array<{site: string; env: string; element: string; file: string; status: string; note?: string}>
  targets: Array<{site: string; env: string; status: string; newest?: string; note?: string}>
  summary: Record<string, number | string | boolean>
  errors: Array<{code: string; message: string}>
}

function describeRun(result: Result): string {
  return `exit ${result.exitCode}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`
}

const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString()
const statuses = (doc: VerifyJson) => Object.fromEntries(doc.targets.map((t) => [`${t.site}.${t.env}`, t.status]))
const live = (name: string, date: string) => ({envs: [{backups: [{date}], name: 'live'}], name})

describe('pbm backup:verify: what a dashboard needs', function () {
  this.timeout(180_000)
  let world: World
  let folder: string
  let lacking: SandboxArchive

  before(async () => {
    world = await startWorld({
      latencyMs: 0,
      sites: [
        live('whole', hoursAgo(2)),
        live('part', hoursAgo(2)),
        live('oldie', daysAgo(3)),
        live('dropped', hoursAgo(2)),
        live('unmirrored', hoursAgo(2)),
        {
          envs: [
            {backups: [{date: hoursAgo(2)}], name: 'live'},
            {backups: [{date: hoursAgo(2)}], name: 'dev'},
          ],
          name: 'envgone',
        },
      ],
    })
    folder = path.join(world.tmp, 'mirror')
    const mirrored = await world.pbm([
      'backup:mirror',
      'whole.live',
      'part.live',
      'oldie.live',
      'dropped.live',
      'envgone.live',
      'envgone.dev',
      '--to',
      folder,
      '--yes',
    ])
    expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
    // part.live: its newest set loses its database archive; dropped and envgone.dev leave Pantheon.
    lacking = world.sandbox.archives().find((a) => a.site === 'part' && a.element === 'database')!
    await unlink(path.join(folder, 'part', 'live', lacking.file))
    world.sandbox.removeSite('dropped')
    world.sandbox.removeSite('envgone', 'dev')
  })

  after(async () => world?.close())

  it('ok, incomplete, stale, missing and gone, each counted once in the summary; exit 3', async () => {
    const targets = ['whole.live', 'part.live', 'oldie.live', 'dropped.live', 'envgone.dev', 'unmirrored.live']
    const result = await world.pbm(['backup:verify', ...targets, '--to', folder, '--max-age', '26', '--json'])
    expect(result.exitCode, describeRun(result)).to.equal(3)
    const doc = json<VerifyJson>(result)
    expect(statuses(doc)).to.deep.equal({
      'dropped.live': 'gone',
      'envgone.dev': 'gone',
      'oldie.live': 'stale',
      'part.live': 'incomplete',
      'unmirrored.live': 'missing',
      'whole.live': 'ok',
    })
    const part = doc.targets.find((t) => t.site === 'part')!
    expect(part.note).to.match(
      /^the newest backup on Pantheon \(\d+_backup\) is not whole in the mirror: database at local missing$/,
    )
    expect(doc.targets.find((t) => t.site === 'dropped')!.note, JSON.stringify(doc.targets)).to.match(
      /^Pantheon no longer has it \(No site "dropped" that your Pantheon user can access\); the mirror keeps its backups$/,
    )
    expect(doc.targets.find((t) => t.site === 'envgone')!.note).to.match(/Site envgone has no environment "dev"/)
    // Problems: part's missing archive and unmirrored's three (objects), then part, oldie, unmirrored (site.envs).
    expect(doc.summary).to.include({
      errors: 0,
      gone: 2,
      incomplete: 1,
      missing: 4,
      objectProblems: 4,
      problems: 7,
      stale: 1,
      targetProblems: 3,
      targets: 6,
      targetsMissing: 1,
    })
    expect(doc.errors).to.deep.equal([])

    // In words: the table names each site.env that is not ok, the footer counts as the JSON does.
    const words = await world.pbm(['backup:verify', ...targets, '--to', folder, '--max-age', '26'])
    expect(words.exitCode, describeRun(words)).to.equal(3)
    const out = String(words.stdout)
    expect(out).to.match(/incomplete\s+part\.live\s+\S+ \S+ UTC\s+the newest backup on Pantheon/)
    expect(out).to.match(/gone\s+dropped\.live\s+\S+ \S+ UTC\s+Pantheon no longer has it/)
    expect(out).to.match(/missing\s+unmirrored\.live\s+-\s+no backup of it in the mirror/)
    expect(out).to.include('1 site.env ok, 2 gone from Pantheon (kept in the mirror).')
    expect(out).to.match(
      /; 7 problems: 4 objects missing, 1 site\.env missing, 1 site\.env incomplete, 1 site\.env stale; 6 site\.envs \(2 gone from Pantheon, kept in the mirror\) in /,
    )
    expect(out).to.match(/✔ asked Pantheon: 4 site\.envs listed, 2 no longer on Pantheon/)
  })

  it('gone alone is no problem: exit 0', async () => {
    const result = await world.pbm(['backup:verify', 'whole.live', 'dropped.live', '--to', folder, '--json'])
    expect(result.exitCode, describeRun(result)).to.equal(0)
    const doc = json<VerifyJson>(result)
    expect(statuses(doc)).to.deep.equal({'dropped.live': 'gone', 'whole.live': 'ok'})
    expect(doc.summary).to.include({gone: 1, problems: 0})
  })

  it('not logged in: one message, exit 1, no per-site.env repeats and no "no problems"', async () => {
    world.sandbox.setLoggedIn(false)
    try {
      const result = await world.pbm(['backup:verify', '--to', folder])
      expect(result.exitCode, describeRun(result)).to.equal(1)
      const all = `${result.stdout}\n${result.stderr}`
      expect(all.match(/not logged in/gi), describeRun(result)).to.have.length(1)
      expect(String(result.stderr)).to.include('Terminus is not logged in to Pantheon.')
      expect(String(result.stderr)).to.include('terminus auth:login')
      expect(all).to.not.include('no problems')
      expect(String(result.stdout)).to.not.match(/✔ asked Pantheon/)

      const doc = await world.pbm(['backup:verify', '--to', folder, '--json'])
      expect(doc.exitCode, describeRun(doc)).to.equal(1)
      expect(json<{error: {code: string}}>(doc).error.code).to.equal('not-logged-in')
    } finally {
      world.sandbox.setLoggedIn(true)
    }
  })

  it('no Terminus to run: one message, exit 1', async () => {
    const result = await world.pbm(['backup:verify', '--to', folder], {
      env: {PBM_TERMINUS: path.join(world.tmp, 'no-such-terminus')},
    })
    expect(result.exitCode, describeRun(result)).to.equal(1)
    expect(String(result.stderr).match(/Terminus was not found/g), describeRun(result)).to.have.length(1)
    expect(String(result.stdout)).to.not.include('no problems')
  })
})
