import {expect} from 'chai'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {createSandbox, type Sandbox, type SandboxSpec} from '../../../sandbox/index.js'
import {terminus} from './helpers.js'

const spec: SandboxSpec = {
  orgs: [{name: 'agency'}],
  sites: [
    {
      name: 'alpha',
      org: 'agency',
      tags: ['nightly', 'vip'],
      envs: [
        {
          name: 'live',
          backups: [
            {date: '2024-05-01T03:12:44Z', sizes: {files: 432_751_821, code: 500_000}},
            {date: '2024-04-30T03:00:00Z', initiator: 'automated', elements: ['db']},
            {date: 1_400_000_000, oldFilename: true, elements: ['database']},
          ],
        },
        {name: 'dev'},
        {name: 'test', initialized: false, locked: true},
      ],
    },
    {name: 'beta', framework: 'wordpress', plan: 'Performance Small', frozen: true, envs: [{name: 'live'}]},
    {name: 'gamma', org: 'agency', envs: [{name: 'live'}]},
  ],
}

// Parsed Terminus JSON: shapes are what the tests check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Row = Record<string, any>

const boxRe = (message: string) => new RegExp(`^\\n(?:In \\S+ line \\d+:\\n)? +\\n  ${escape(message)} +\\n +\\n\\n`)

function escape(s: string): string {
  return s.replaceAll(/[$()*+.?[\\\]^{|}]/g, String.raw`\$&`)
}

describe('sandbox terminus stand-in', () => {
  let sb: Sandbox

  before(async () => {
    sb = await createSandbox(spec)
  })

  after(async () => {
    await sb.close()
  })

  describe('--version and options', () => {
    it('prints the version', async () => {
      const r = await terminus(sb, ['--version'])
      expect(r).to.deep.equal({exitCode: 0, stderr: '', stdout: 'Terminus 3.6.1\n'})
    })

    it('accepts -n, --no-ansi, -y, --yes, --format=json and -- before positionals', async () => {
      const r = await terminus(sb, ['env:list', '-n', '--no-ansi', '-y', '--yes', '--format=json', '--', 'alpha'])
      expect(r.exitCode).to.equal(0)
      expect(Object.keys(JSON.parse(r.stdout))).to.deep.equal(['live', 'dev', 'test'])
    })

    it('rejects an unknown option with a boxed Symfony error', async () => {
      const r = await terminus(sb, ['backup:list', 'alpha.live', '--bogus'])
      expect(r.exitCode).to.equal(1)
      expect(r.stdout).to.equal('')
      expect(r.stderr).to.match(boxRe('The "--bogus" option does not exist.'))
      expect(r.stderr).to.include('backup:list [--element [ELEMENT]]')
    })

    it('rejects a missing argument', async () => {
      const r = await terminus(sb, ['backup:list', '-n'])
      expect(r.exitCode).to.equal(1)
      expect(r.stderr).to.match(boxRe('Not enough arguments (missing: "site_env").'))
    })

    it('rejects an unknown command', async () => {
      const r = await terminus(sb, ['backup:frobnicate'])
      expect(r.exitCode).to.equal(1)
      expect(r.stderr).to.match(boxRe('Command "backup:frobnicate" is not defined.'))
    })

    it('honours the latency setting', async () => {
      sb.setLatency(300)
      try {
        const t0 = Date.now()
        const r = await terminus(sb, ['auth:whoami', '-n'])
        expect(r.exitCode).to.equal(0)
        expect(Date.now() - t0).to.be.at.least(300)
      } finally {
        sb.setLatency(0)
      }
    })
  })

  describe('site:list, org:site:list, env:list', () => {
    it('site:list is an object keyed by site ID with the nine fields in order', async () => {
      const r = await terminus(sb, ['site:list', '--format=json', '-n'])
      expect(r.exitCode).to.equal(0)
      const data = JSON.parse(r.stdout)
      expect(Object.values<Row>(data).map((s) => s.name)).to.deep.equal(['alpha', 'beta', 'gamma'])
      for (const [id, s] of Object.entries<Row>(data)) {
        expect(s.id).to.equal(id)
        expect(id).to.match(/^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/)
        expect(Object.keys(s)).to.deep.equal([
          'name',
          'id',
          'plan_name',
          'framework',
          'region',
          'owner',
          'created',
          'memberships',
          'frozen',
        ])
        expect(Number.isInteger(s.created)).to.equal(true)
        expect(s.frozen).to.be.a('boolean')
      }

      const beta = Object.values<Row>(data).find((s) => s.name === 'beta')
      expect(beta).to.include({framework: 'wordpress', plan_name: 'Performance Small', frozen: true})
      expect(r.stdout).to.match(/^{\n {4}"/)
    })

    it('org:site:list lists the org sites with comma-joined tags, and filters by --tag', async () => {
      const all = JSON.parse((await terminus(sb, ['org:site:list', '--format=json', '--', 'agency'])).stdout)
      expect(Object.values<Row>(all).map((s) => s.name)).to.deep.equal(['alpha', 'gamma'])
      const alpha = Object.values<Row>(all)[0]
      expect(Object.keys(alpha)).to.deep.equal([
        'name',
        'id',
        'plan_name',
        'framework',
        'owner',
        'created',
        'tags',
        'frozen',
      ])
      expect(alpha.tags).to.equal('nightly,vip')
      const tagged = JSON.parse(
        (await terminus(sb, ['org:site:list', 'agency', '--tag', 'nightly', '--format=json'])).stdout,
      )
      expect(Object.values<Row>(tagged).map((s) => s.name)).to.deep.equal(['alpha'])
      const none = await terminus(sb, ['org:site:list', 'agency', '--tag=nope', '--format=json'])
      expect(none.stdout).to.equal('[]\n')
      expect(none.exitCode).to.equal(0)
    })

    it('env:list is keyed by env name with the six fields in order', async () => {
      const r = await terminus(sb, ['env:list', 'alpha', '--format=json'])
      const data = JSON.parse(r.stdout)
      expect(Object.keys(data.live)).to.deep.equal([
        'id',
        'created',
        'domain',
        'connection_mode',
        'locked',
        'initialized',
      ])
      expect(data.test).to.include({id: 'test', locked: true, initialized: false})
      expect(data.live).to.include({domain: 'live-alpha.pantheonsite.io', locked: false, initialized: true})
    })

    it('env:list of an unknown site fails', async () => {
      const r = await terminus(sb, ['env:list', 'nosuch', '--format=json'])
      expect(r).to.deep.equal({
        exitCode: 1,
        stderr: ' [error]  Could not locate a site your user may access identified by nosuch: Not Found \n',
        stdout: '',
      })
    })
  })

  describe('backup:list', () => {
    it('prints an object keyed by catalog ID, five fields in order, sizes in MB, float epochs', async () => {
      const r = await terminus(sb, ['backup:list', 'alpha.live', '--format=json', '-n', '--no-ansi'])
      expect(r.exitCode).to.equal(0)
      expect(r.stderr).to.equal('')
      const data = JSON.parse(r.stdout)
      expect(Object.keys(data)).to.have.members([
        '1714533164_backup_code',
        '1714533164_backup_files',
        '1714533164_backup_database',
        '1714446000_automated_database',
        '1400000000_backup_database',
      ])
      for (const [id, b] of Object.entries<Row>(data)) {
        expect(Object.keys(b)).to.deep.equal(['file', 'size', 'date', 'expiry', 'initiator'])
        expect(b.date).to.be.a('number')
        expect(Number.isInteger(b.date)).to.equal(false)
        expect(b.expiry).to.be.a('number')
        expect(b.size).to.match(/^\d+\.\dMB$/)
        expect(id.endsWith(b.file.match(/_(code|files|database)\.(tar|sql)\.gz$/)[1])).to.equal(true)
      }

      expect(data['1714533164_backup_files']).to.include({
        file: 'alpha_live_2024-05-01T03-12-44_UTC_files.tar.gz',
        size: '412.7MB',
        initiator: 'manual',
      })
      expect(data['1714533164_backup_code'].size).to.equal('0.5MB')
      expect(data['1714533164_backup_database'].size).to.equal('0.1MB')
      expect(data['1714533164_backup_database'].file).to.equal('alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz')
      expect(data['1714446000_automated_database']).to.include({
        file: 'alpha_live_2024-04-30T03-00-00_UTC_database.sql.gz',
        initiator: 'automated',
      })
      expect(data['1400000000_backup_database'].file).to.equal('alpha_2014-05-13T16-53-20_UTC_database.sql.gz')
      const b = data['1714533164_backup_code']
      expect(b.date).to.be.greaterThan(1_714_533_164)
      expect(b.expiry - b.date).to.be.closeTo(365 * 86_400, 1)
      // PHP's pretty print: four spaces, `"key": value`.
      expect(r.stdout).to.match(/^{\n {4}"\d+_backup_code": {\n {8}"file": "alpha_live_/)
      expect(r.stdout.endsWith('}\n')).to.equal(true)
    })

    it('prints [] and a warning when there are no backups', async () => {
      const r = await terminus(sb, ['backup:list', 'alpha.dev', '--format=json'])
      expect(r).to.deep.equal({exitCode: 0, stderr: ' [warning] You have no backups.\n', stdout: '[]\n'})
    })

    it('filters with --element (db too) and --filter=type=...', async () => {
      for (const args of [['--element=db'], ['--element', 'database'], ['--filter=type=database']]) {
        const data = JSON.parse((await terminus(sb, ['backup:list', 'alpha.live', '--format=json', ...args])).stdout)
        expect(Object.keys(data)).to.have.members([
          '1714533164_backup_database',
          '1714446000_automated_database',
          '1400000000_backup_database',
        ])
      }
    })

    it('prints one filename a line with --field=file', async () => {
      const r = await terminus(sb, ['backup:list', 'alpha.live', '--element=code', '--field=file'])
      expect(r.stdout).to.equal('alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz\n')
    })

    it('fails without a dot, for an unknown site and for an unknown env', async () => {
      expect(await terminus(sb, ['backup:list', 'alpha', '--format=json'])).to.deep.equal({
        exitCode: 1,
        stderr: ' [error]  The environment argument must be given as <site_name>.<environment> \n',
        stdout: '',
      })
      expect(await terminus(sb, ['backup:list', 'nosuch.live', '--format=json'])).to.deep.equal({
        exitCode: 1,
        stderr: ' [error]  Could not locate a site your user may access identified by nosuch: Not Found \n',
        stdout: '',
      })
      expect(await terminus(sb, ['backup:list', 'alpha.nosuch', '--format=json'])).to.deep.equal({
        exitCode: 1,
        stderr: ' [error]  Could not find an environment identified by nosuch. \n',
        stdout: '',
      })
    })
  })

  describe('backup:get and backup:info', () => {
    const urlRe =
      /^http:\/\/127\.0\.0\.1:\d+\/gcs-pantheon-backups\/[\da-f-]{36}\/live\/(\d+_(?:backup|automated))\/([^/?]+)\?Expires=(\d+)&GoogleAccessId=[^&]+&Signature=[^&]+\n$/

    it('prints a freshly signed URL for the newest files backup by default', async () => {
      const r = await terminus(sb, ['backup:get', 'alpha.live', '-n'])
      expect(r.exitCode).to.equal(0)
      expect(r.stderr).to.equal('')
      const m = urlRe.exec(r.stdout)
      expect(m, r.stdout).to.not.equal(null)
      expect(m![1]).to.equal('1714533164_backup')
      expect(m![2]).to.equal('alpha_live_2024-05-01T03-12-44_UTC_files.tar.gz')
      expect(Number(m![3]) - Date.now() / 1000).to.be.closeTo(3600, 5)
      expect(r.stdout.startsWith(sb.serverUrl)).to.equal(true)
    })

    it('picks the newest of --element and matches --file by filename or catalog ID', async () => {
      const db = await terminus(sb, ['backup:get', 'alpha.live', '--element=db'])
      expect(urlRe.exec(db.stdout)![2]).to.equal('alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz')
      const byName = await terminus(sb, [
        'backup:get',
        'alpha.live',
        '--file=alpha_live_2024-04-30T03-00-00_UTC_database.sql.gz',
      ])
      expect(urlRe.exec(byName.stdout)![1]).to.equal('1714446000_automated')
      const byId = await terminus(sb, ['backup:get', 'alpha.live', '--file', '1400000000_backup_database'])
      expect(urlRe.exec(byId.stdout)![2]).to.equal('alpha_2014-05-13T16-53-20_UTC_database.sql.gz')
    })

    it('fails for an unknown file, an invalid element and when there are no backups', async () => {
      expect(await terminus(sb, ['backup:get', 'alpha.live', '--file=alpha_live_*'])).to.deep.equal({
        exitCode: 1,
        stderr: ' [error]  Could not find a backup identified by alpha_live_*. \n',
        stdout: '',
      })
      expect(await terminus(sb, ['backup:get', 'alpha.live', '--element=logs'])).to.deep.equal({
        exitCode: 1,
        stderr: ' [error]  Element should be one of the following items: code, files, database, db \n',
        stdout: '',
      })
      expect(await terminus(sb, ['backup:get', 'alpha.dev', '--element=database'])).to.deep.equal({
        exitCode: 1,
        stderr: ' [error]  No backups available. Create one with `terminus backup:create alpha.dev` \n',
        stdout: '',
      })
    })

    it('backup:info prints file, size, date, expiry, initiator and a url', async () => {
      const r = await terminus(sb, ['backup:info', 'alpha.live', '--element=code', '--format=json'])
      const info = JSON.parse(r.stdout)
      expect(Object.keys(info)).to.deep.equal(['file', 'size', 'date', 'expiry', 'initiator', 'url'])
      expect(info.file).to.equal('alpha_live_2024-05-01T03-12-44_UTC_code.tar.gz')
      expect(`${info.url}\n`).to.match(urlRe)
      // Unescaped slashes, as Terminus prints them.
      expect(r.stdout).to.include('"url": "http://127.0.0.1:')
    })

    it('--to saves to a file or into a directory, and refuses an existing target', async () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pbm-sb-to-'))
      try {
        const file = 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'
        const r = await terminus(sb, ['backup:get', 'alpha.live', '--element=db', `--to=${tmp}`])
        expect(r).to.deep.equal({exitCode: 0, stderr: '', stdout: ''})
        expect(fs.statSync(path.join(tmp, file)).size).to.equal(sb.archive(file).size)
        const target = path.join(tmp, 'x.sql.gz')
        expect((await terminus(sb, ['backup:get', 'alpha.live', '--element=db', '--to', target])).exitCode).to.equal(0)
        expect(fs.statSync(target).size).to.equal(sb.archive(file).size)
        expect(await terminus(sb, ['backup:get', 'alpha.live', '--element=db', `--to=${target}`])).to.deep.equal({
          exitCode: 1,
          stderr: ` [error]  Target file ${target} already exists. \n`,
          stdout: '',
        })
      } finally {
        fs.rmSync(tmp, {force: true, recursive: true})
      }
    })
  })

  describe('auth', () => {
    it('whoami prints the email, or a notice with exit 0 when logged out', async () => {
      expect(await terminus(sb, ['auth:whoami', '-n'])).to.deep.equal({
        exitCode: 0,
        stderr: '',
        stdout: 'dev@example.com\n',
      })
      sb.setLoggedIn(false)
      try {
        expect(await terminus(sb, ['auth:whoami', '-n'])).to.deep.equal({
          exitCode: 0,
          stderr: ' [notice] You are not logged in.\n',
          stdout: '',
        })
      } finally {
        sb.setLoggedIn(true)
      }
    })

    it('commands need a session: the boxed Authorizer error, exit 1', async () => {
      sb.setLoggedIn(false)
      try {
        const r = await terminus(sb, ['backup:list', 'alpha.live', '--format=json'])
        expect(r.exitCode).to.equal(1)
        expect(r.stdout).to.equal('')
        expect(r.stderr).to.match(
          boxRe('You are not logged in. Run `auth:login` to authenticate or `help auth:login` for more info.'),
        )
        expect(r.stderr).to.include('\nIn Authorizer.php line 37:\n')
        // Symfony wraps the box at the terminal width (80 without a terminal).
        const narrow = await terminus(sb, ['site:list'], {COLUMNS: '80'})
        expect(narrow.stderr).to.include(
          '  You are not logged in. Run `auth:login` to authenticate or `help auth:login`  \n',
        )
      } finally {
        sb.setLoggedIn(true)
      }
    })

    it('logs in with the machine token or the email, rejects a bad token, logs out', async () => {
      expect(await terminus(sb, ['auth:logout'])).to.deep.equal({
        exitCode: 0,
        stderr: ' [notice] Your saved machine tokens have been deleted and you have been logged out.\n',
        stdout: '',
      })
      expect((await terminus(sb, ['auth:whoami'])).stdout).to.equal('')
      const bad = await terminus(sb, ['auth:login', '--machine-token=wrong', '-n'])
      expect(bad.exitCode).to.equal(1)
      expect(bad.stderr).to.include(' [error]  No user ID. Please login via terminus auth:login \n')
      expect((await terminus(sb, ['auth:whoami'])).stdout).to.equal('')
      const good = await terminus(sb, ['auth:login', '--machine-token=sandbox-machine-token', '-n'])
      expect(good).to.deep.equal({exitCode: 0, stderr: ' [notice] Logging in via machine token.\n', stdout: ''})
      expect((await terminus(sb, ['auth:whoami'])).stdout).to.equal('dev@example.com\n')
      await terminus(sb, ['auth:logout'])
      expect((await terminus(sb, ['auth:login', '--email=dev@example.com'])).exitCode).to.equal(0)
      expect((await terminus(sb, ['auth:whoami'])).stdout).to.equal('dev@example.com\n')
    })
  })
})

describe('sandbox terminus backup:create', () => {
  let sb: Sandbox

  beforeEach(async () => {
    sb = await createSandbox({
      sites: [
        {
          name: 'alpha',
          envs: [
            {
              name: 'live',
              backups: [{date: '2024-05-01T03:12:44Z', sizes: {code: 10_000, files: 20_000, database: 5000}}],
            },
            {name: 'dev'},
            {name: 'test'},
          ],
        },
        {name: 'beta', envs: [{name: 'dev'}, {name: 'test'}, {name: 'live'}]},
        {name: 'frozen', frozen: true, envs: [{name: 'live'}]},
        {name: 'broken', createFails: 'Workflow failed.', envs: [{name: 'live'}]},
      ],
    })
  })

  afterEach(async () => {
    await sb.close()
  })

  it('creates a new folder of real archives, sized like the newest set, and reports it', async () => {
    const before = Math.floor(Date.now() / 1000)
    const r = await terminus(sb, ['backup:create', 'alpha.live', '-n'])
    expect(r).to.deep.equal({exitCode: 0, stderr: ' [notice] Created a backup of the live environment.\n', stdout: ''})
    const list = JSON.parse((await terminus(sb, ['backup:list', 'alpha.live', '--format=json'])).stdout)
    const fresh = Object.keys(list).filter((k) => !k.startsWith('1714533164_'))
    expect(fresh).to.have.length(3)
    const folder = fresh[0].replace(/_(code|files|database)$/, '')
    expect(folder).to.match(/^\d+_backup$/)
    expect(Number(folder.split('_')[0])).to.be.within(before, before + 5)
    const created = sb.archives().filter((a) => a.folder === folder)
    expect(created.map((a) => [a.element, a.size])).to.deep.equal([
      ['code', 10_000],
      ['files', 20_000],
      ['database', 5000],
    ])
    expect(created[0].file).to.match(/^alpha_live_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d_UTC_code\.tar\.gz$/)
    expect(list[`${folder}_code`].expiry - list[`${folder}_code`].date).to.be.closeTo(365 * 86_400, 1)
    // backup:get without --file now picks the new one.
    expect((await terminus(sb, ['backup:get', 'alpha.live', '--element=code'])).stdout).to.include(`/${folder}/`)
  })

  it('--element=db makes a db-only folder; --keep-for sets the expiry; createMs delays it', async () => {
    sb.setCreateMs(400)
    const t0 = Date.now()
    const r = await terminus(sb, ['backup:create', 'alpha.dev', '--element=db', '--keep-for=7'], {
      TERMINUS_WORKFLOW_POLLING_DELAY_MS: '10',
    })
    expect(Date.now() - t0).to.be.at.least(400)
    expect(r.exitCode).to.equal(0)
    const list = JSON.parse((await terminus(sb, ['backup:list', 'alpha.dev', '--format=json'])).stdout)
    const ids = Object.keys(list)
    expect(ids).to.have.length(1)
    expect(ids[0]).to.match(/^\d+_backup_database$/)
    expect(list[ids[0]].expiry - list[ids[0]].date).to.be.closeTo(7 * 86_400, 1)
  })

  it('fails on a frozen site, a failed workflow and an invalid element', async () => {
    expect(await terminus(sb, ['backup:create', 'frozen.live'])).to.deep.equal({
      exitCode: 1,
      stderr:
        ' [error]  This site is frozen. Its test and live environments and many commands will be unavailable while it remains frozen. \n',
      stdout: '',
    })
    expect(await terminus(sb, ['backup:create', 'broken.live'])).to.deep.equal({
      exitCode: 1,
      stderr: ' [error]  Workflow failed. \n',
      stdout: '',
    })
    const bad = await terminus(sb, ['backup:create', 'alpha.live', '--element=logs'])
    expect(bad.exitCode).to.equal(1)
    expect(bad.stderr).to.equal(
      ' [error]  Element should be one of the following items: code, files, database, db, all \n',
    )
    expect(sb.archives().filter((a) => a.site !== 'alpha' || a.env !== 'live')).to.deep.equal([])
  })

  it('is safe under concurrency: parallel creates on six site.envs and on one site.env all land', async () => {
    const targets = ['alpha.live', 'alpha.dev', 'alpha.test', 'beta.dev', 'beta.test', 'beta.live']
    const results = await Promise.all([
      ...targets.map((t) => terminus(sb, ['backup:create', t, '-n'])),
      ...[1, 2, 3].map(() => terminus(sb, ['backup:create', 'beta.live', '--element=db', '-n'])),
    ])
    expect(results.map((r) => r.exitCode)).to.deep.equal(Array.from({length: 9}, () => 0))
    for (const t of targets) {
      const list = JSON.parse((await terminus(sb, ['backup:list', t, '--format=json'])).stdout)
      const expected = t === 'alpha.live' ? 6 : t === 'beta.live' ? 6 : 3
      expect(Object.keys(list), t).to.have.length(expected)
    }

    const beta = sb.archives().filter((a) => a.site === 'beta' && a.env === 'live')
    expect(new Set(beta.map((a) => a.folder)).size).to.equal(4)
    expect(new Set(beta.map((a) => a.file)).size).to.equal(6)
  })
})
