import {expect} from 'chai'

import {groupIntoSets, parseFilename} from '../../../src/catalog/index.js'
import {signedUrlExpiry, type Terminus} from '../../../src/terminus/index.js'
import {CallRecorder, createSandbox, type Sandbox, terminusFor} from './helpers.js'

async function outcome(promise: Promise<unknown>): Promise<{code?: string}> {
  return promise.then(
    () => ({}),
    (error: unknown) => error as {code: string},
  )
}

describe('terminus adapter against the sandbox: reading', () => {
  let sb: Sandbox
  let terminus: Terminus

  before(async () => {
    sb = await createSandbox({
      user: {email: 'ops@example.com'},
      orgs: [{name: 'acme'}, {name: 'empty-org'}],
      sites: [
        {
          name: 'alpha',
          org: 'acme',
          tags: ['eu', 'prod'],
          plan: 'Performance Small',
          framework: 'wordpress',
          envs: [
            {
              name: 'live',
              backups: [
                {date: '2024-04-30T03:00:00Z', initiator: 'automated', sizes: {database: 5 * 1024 * 1024}},
                {date: '2024-05-01T03:12:44Z', initiator: 'manual'},
                {date: '2024-05-02T10:00:00Z', elements: ['db']},
                {date: '2014-03-02T10:00:00Z', oldFilename: true},
              ],
            },
            {name: 'test', initialized: false},
            {name: 'dev', locked: true},
            {name: 'pr-12', backups: [{date: '2024-05-01T00:00:00Z', elements: ['code']}]},
          ],
        },
        {name: 'beta-2', org: 'acme', tags: ['us'], frozen: true},
        {name: 'gamma'},
      ],
    })
    terminus = terminusFor(sb)
  })

  after(async () => {
    await sb.close()
  })

  it('lists sites, sorted by name, with plan, framework and frozen', async () => {
    const sites = await terminus.listSites()
    expect(sites.map((s) => s.name)).to.deep.equal(['alpha', 'beta-2', 'gamma'])
    expect(sites[0]).to.include({plan: 'Performance Small', framework: 'wordpress', frozen: false})
    expect(sites[0].id).to.match(/^[\da-f-]{36}$/)
    expect(sites[1].frozen).to.equal(true)
  })

  it('lists the sites of an organization, with their tags, and filters by tag', async () => {
    const sites = await terminus.listOrgSites('acme')
    expect(sites.map((s) => [s.name, s.tags])).to.deep.equal([
      ['alpha', ['eu', 'prod']],
      ['beta-2', ['us']],
    ])
    expect((await terminus.listOrgSites('acme', 'us')).map((s) => s.name)).to.deep.equal(['beta-2'])
    expect(await terminus.listOrgSites('acme', 'nothing-tagged')).to.deep.equal([])
    expect(await terminus.listOrgSites('empty-org')).to.deep.equal([])
  })

  it('lists environments: dev, test, live first, then multidevs', async () => {
    const envs = await terminus.listEnvironments('alpha')
    expect(envs.map((e) => e.name)).to.deep.equal(['dev', 'test', 'live', 'pr-12'])
    expect(envs[0]).to.include({locked: true, initialized: true, connectionMode: 'sftp'})
    expect(envs[1]).to.include({initialized: false})
    expect(envs[2]).to.include({id: 'live', domain: 'live-alpha.pantheonsite.io', connectionMode: 'git'})
  })

  it('lists backups with element, folder, float dates, sizes and initiator', async () => {
    const backups = await terminus.listBackups('alpha', 'live')
    const archives = sb.archives().filter((a) => a.site === 'alpha' && a.env === 'live')
    expect(backups).to.have.length(archives.length).and.to.have.length(10)
    for (const archive of archives) {
      const b = backups.find((x) => x.id === archive.id)
      expect(b, archive.id).to.include({
        site: 'alpha',
        env: 'live',
        element: archive.element,
        folder: archive.folder,
        file: archive.file,
        initiator: archive.initiator,
      })
      // Terminus' date is the finish time (a detail); the backup's time is the one in its filename.
      expect(b!.finished?.getTime()).to.equal(Math.round(archive.date * 1000))
      expect(b!.date.getTime()).to.be.at.most(b!.finished!.getTime())
      expect(b!.expiry?.getTime()).to.equal(archive.expiry === null ? undefined : Math.round(archive.expiry * 1000))
      // Terminus reports tenths of a MB: the approximate size is within 0.05 MB (or is 0.1MB for tiny files).
      expect(Math.abs(b!.sizeBytes - archive.size)).to.be.at.most(0.1 * 1024 * 1024)
    }

    const db = backups.find((b) => b.element === 'database' && b.initiator === 'automated')
    expect(db).to.include({sizeText: '5.0MB', sizeBytes: 5 * 1024 * 1024})
    expect(backups.some((b) => !String(b.finished?.getTime()).endsWith('000'))).to.equal(true)
  })

  it('groups the list into sets: a db-only folder and an old filename without env', async () => {
    const sets = groupIntoSets(await terminus.listBackups('alpha', 'live'))
    expect(sets.map((s) => s.backups.map((b) => b.element))).to.deep.equal([
      ['database'],
      ['code', 'files', 'database'],
      ['code', 'files', 'database'],
      ['code', 'files', 'database'],
    ])
    expect(sets[0].date.getTime()).to.be.greaterThan(sets[1].date.getTime())
    const old = sets.at(-1)!
    expect(parseFilename(old.backups[0].file)).to.include({site: 'alpha', element: 'code'}).and.not.have.property('env')
    expect(sets[2].initiator).to.equal('automated')
  })

  it('lists the backups of a multidev', async () => {
    const [b] = await terminus.listBackups('alpha', 'pr-12')
    expect(parseFilename(b.file)).to.include({site: 'alpha', env: 'pr-12', element: 'code'})
  })

  it('returns [] for an environment without backups', async () => {
    expect(await terminus.listBackups('alpha', 'dev')).to.deep.equal([])
  })

  it('gets a freshly signed URL per call, for the element asked', async () => {
    const newestDb = sb
      .archives()
      .find((a) => a.env === 'live' && a.folder.startsWith(String(Date.parse('2024-05-02T10:00:00Z') / 1000)))!
    const gets = () => sb.calls().filter((c) => c.command === 'backup:get').length
    const calls = gets()
    const first = await terminus.backupUrl('alpha', 'live', {element: 'db'})
    const second = await terminus.backupUrl('alpha', 'live', {element: 'database'})
    // Each URL comes from its own backup:get (nothing cached), signed at that call's second: the
    // signature covers the expiry in whole seconds, so the URLs differ exactly when the expiries do.
    expect(gets()).to.equal(calls + 2)
    expect(new URL(first).pathname.endsWith(`/${newestDb.file}`)).to.equal(true)
    expect(new URL(second).pathname).to.equal(new URL(first).pathname)
    const [e1, e2] = [signedUrlExpiry(first)!.getTime(), signedUrlExpiry(second)!.getTime()]
    expect(e2).to.be.at.least(e1)
    expect(second === first).to.equal(e2 === e1)
    const expires = signedUrlExpiry(first)!
    expect(expires.getTime()).to.be.within(Date.now() + 30 * 60_000, Date.now() + 2 * 3600_000)
    const response = await fetch(first)
    expect(response.status).to.equal(200)
    expect(Number(response.headers.get('content-length'))).to.equal(newestDb.size)
    await response.body?.cancel()
  })

  it('gets the URL of an older archive by filename or catalog ID', async () => {
    const backups = await terminus.listBackups('alpha', 'live')
    const old = groupIntoSets(backups).at(-1)!.backups[1]
    const byFile = await terminus.backupUrl('alpha', 'live', {element: old.element, file: old.file})
    const byId = await terminus.backupUrl('alpha', 'live', {element: old.element, file: old.id})
    expect(new URL(byFile).pathname.endsWith(`/${old.file}`)).to.equal(true)
    expect(new URL(byId).pathname.endsWith(`/${old.file}`)).to.equal(true)
  })

  it('always passes -n --no-ansi, --element, --format=json where there is data, and -- before values', async () => {
    const recorder = new CallRecorder(sb)
    try {
      const recorded = terminusFor(sb, {bin: recorder.bin})
      await recorded.listBackups('alpha', 'live')
      await recorded.backupUrl('alpha', 'live', {element: 'code'})
      await recorded.listOrgSites('acme', 'eu')
      const [list, get, org] = recorder.calls().map((c) => c.args)
      expect(list).to.deep.equal(['backup:list', '--format=json', '-n', '--no-ansi', '--', 'alpha.live'])
      expect(get).to.deep.equal(['backup:get', '--element=code', '-n', '--no-ansi', '--', 'alpha.live'])
      expect(org).to.deep.equal(['org:site:list', '--tag=eu', '--format=json', '-n', '--no-ansi', '--', 'acme'])
    } finally {
      recorder.close()
    }
  })

  it('treats a value that looks like an option as a value', async () => {
    // Site names follow the one strict rule and never reach Terminus; an org name is passed after `--`.
    expect((await outcome(terminus.listEnvironments('--help'))).code).to.equal('bad-site-env')
    expect((await outcome(terminus.listOrgSites('--help'))).code).to.equal('failed')
  })
})
