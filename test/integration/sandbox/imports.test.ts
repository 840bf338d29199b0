import {expect} from 'chai'
import {execa} from 'execa'
import {createHash} from 'node:crypto'
import http from 'node:http'
import zlib from 'node:zlib'

import {createSandbox, type Sandbox} from '../../../sandbox/index.js'
import {KEY, shellQuote, spawnPty} from '../../helpers/pty.js'
import {terminus} from './helpers.js'

const DB = 'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz'
const FILES = 'alpha_live_2024-05-01T03-12-44_UTC_files.tar.gz'
const FROZEN =
  'This site is frozen. Its test and live environments and many commands will be unavailable while it remains frozen.'

/** A tiny HTTP server for bodies the sandbox's archive server never serves (plain text, fake gzip). */
async function serve(
  bodies: Record<string, Buffer>,
): Promise<{url: (p: string) => string; close: () => Promise<void>}> {
  const server = http.createServer((req, res) => {
    const body = bodies[req.url ?? '']
    if (!body) {
      res.writeHead(404)
      res.end('not found')
      return
    }

    res.writeHead(200, {'content-length': body.length})
    res.end(body)
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as {port: number}
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function failsWith(sb: Sandbox, args: string[], message: RegExp | string) {
  const r = await terminus(sb, args)
  expect(r.exitCode, r.stderr).to.equal(1)
  expect(r.stdout).to.equal('')
  if (typeof message === 'string') expect(r.stderr).to.equal(` [error]  ${message} \n`)
  else expect(r.stderr).to.match(message)
  return r
}

describe('sandbox terminus import:database / import:files', () => {
  let sb: Sandbox
  let other: Awaited<ReturnType<typeof serve>>

  before(async () => {
    sb = await createSandbox({
      sites: [
        {
          name: 'alpha',
          envs: [
            {name: 'live', backups: [{date: '2024-05-01T03:12:44Z', sizes: {database: 40_000, files: 70_000}}]},
            {name: 'dev'},
            {name: 'test', initialized: false},
            {name: 'multi', importFails: {files: 'Import files failed: disk quota exceeded.'}},
          ],
        },
        {name: 'beta', frozen: true, envs: [{name: 'dev'}]},
      ],
    })
    other = await serve({
      '/plain.sql': Buffer.from('DROP TABLE x;\n'),
      '/binary.gz': zlib.gzipSync(Buffer.from([1, 0, 2, 0, 3, 0])),
      // Without its trailer (CRC32 and length): the gzip stream never ends.
      '/truncated.sql.gz': zlib.gzipSync(Buffer.from('-- dump\n'.repeat(1000))).subarray(0, -8),
    })
  })

  after(async () => {
    await other.close()
    await sb.close()
  })

  afterEach(() => {
    sb.setImportLimit(500 * 1024 * 1024)
    sb.setLoggedIn(true)
  })

  it('imports a database with -n --yes: the notice Terminus prints, the MD5 of the fetched bytes recorded', async () => {
    const before = sb.imports('alpha', 'dev').length
    const r = await terminus(sb, ['import:database', '-n', '--yes', '--', 'alpha.dev', sb.url(DB)])
    expect(r).to.deep.equal({exitCode: 0, stdout: '', stderr: ' [notice] Imported database to alpha.dev.\n'})
    const rec = sb.imports('alpha', 'dev').at(-1)!
    expect(sb.imports('alpha', 'dev')).to.have.length(before + 1)
    expect(rec).to.include({element: 'database', md5: sb.archive(DB).md5, size: 40_000})
    expect(rec.source).to.match(/^http:\/\/127\.0\.0\.1:\d+\/gcs-pantheon-backups\/.+_database\.sql\.gz$/)
    expect(JSON.stringify(sb.imports('alpha', 'dev'))).not.to.include('Signature')
  })

  it('answers to the alias import:db and to -y', async () => {
    const r = await terminus(sb, ['import:db', 'alpha.dev', sb.url(DB), '-n', '-y'])
    expect(r.exitCode).to.equal(0)
    expect(r.stderr).to.equal(' [notice] Imported database to alpha.dev.\n')
  })

  it('imports a files archive', async () => {
    const r = await terminus(sb, ['import:files', '-n', '--yes', 'alpha.dev', sb.url(FILES)])
    expect(r).to.deep.equal({exitCode: 0, stdout: '', stderr: ' [notice] Imported files to alpha.dev.\n'})
    expect(sb.imports('alpha', 'dev').at(-1)).to.include({element: 'files', md5: sb.archive(FILES).md5, size: 70_000})
  })

  it('with -n and without --yes does nothing, prints nothing and exits 0 (the confirmation defaults to no)', async () => {
    const before = sb.imports('alpha', 'dev').length
    const r = await terminus(sb, ['import:database', '-n', 'alpha.dev', sb.url(DB)])
    expect(r).to.deep.equal({exitCode: 0, stdout: '', stderr: ''})
    expect(sb.imports('alpha', 'dev')).to.have.length(before)
  })

  it('without a terminal on stdin, answers the confirmation "no" at once: nothing printed, exit 0', async () => {
    const before = sb.imports('alpha', 'dev').length
    for (const input of ['y\n', '']) {
      const r = await execa(sb.terminusPath, ['import:database', 'alpha.dev', sb.url(DB)], {input, reject: false})
      expect({exitCode: r.exitCode, stderr: r.stderr, stdout: r.stdout}).to.deep.equal({
        exitCode: 0,
        stderr: '',
        stdout: '',
      })
    }

    expect(sb.imports('alpha', 'dev')).to.have.length(before)
  })

  it('at a terminal, asks on stdout: "n" does nothing, "y" imports', async () => {
    // stderr is thrown away inside the terminal: what shows is stdout alone.
    const ask = () =>
      spawnPty(
        ['sh', '-c', `${shellQuote(sb.terminusPath)} import:database alpha.dev ${shellQuote(sb.url(DB))} 2>/dev/null`],
        {
          env: {PATH: process.env.PATH ?? ''},
        },
      )
    const before = sb.imports('alpha', 'dev').length
    const no = ask()
    await no.waitFor('Are you sure you overwrite the database for dev on alpha? (yes/no) [no]:')
    await no.type('n', KEY.enter)
    expect((await no.exited).exitCode).to.equal(0)
    expect(sb.imports('alpha', 'dev')).to.have.length(before)
    const yes = ask()
    await yes.waitFor('(yes/no) [no]:')
    await yes.type('y', KEY.enter)
    expect((await yes.exited).exitCode).to.equal(0)
    expect(sb.imports('alpha', 'dev')).to.have.length(before + 1)
  })

  describe('failures, in Terminus wording, exit 1, nothing recorded', () => {
    let before: number

    beforeEach(() => {
      before = sb.imports('alpha', 'dev').length
    })

    afterEach(() => {
      expect(sb.imports('alpha', 'dev')).to.have.length(before)
    })

    it('a URL the server refuses (bad signature: 403; unknown object: 404), with the URL in the message', async () => {
      const forged = sb.url(DB).replace(/Signature=[^&]+/, 'Signature=forged')
      await failsWith(
        sb,
        ['import:database', '-n', '-y', 'alpha.dev', forged],
        `Could not download the archive at ${forged}: HTTP 403.`,
      )
      await failsWith(
        sb,
        ['import:database', '-n', '-y', 'alpha.dev', other.url('/missing.sql.gz')],
        `Could not download the archive at ${other.url('/missing.sql.gz')}: HTTP 404.`,
      )
    })

    it('a URL nobody answers, and something that is not a URL', async () => {
      await failsWith(
        sb,
        ['import:database', '-n', '-y', 'alpha.dev', 'http://127.0.0.1:9/x.sql.gz'],
        'Could not download the archive at http://127.0.0.1:9/x.sql.gz: connection refused.',
      )
      await failsWith(
        sb,
        ['import:database', '-n', '-y', 'alpha.dev', '/tmp/x.sql.gz'],
        '400 Bad Request response: "Bad params"',
      )
    })

    it('an archive that is not gzip, is truncated, or is not what the element needs', async () => {
      const plain = other.url('/plain.sql')
      await failsWith(
        sb,
        ['import:database', '-n', '-y', 'alpha.dev', plain],
        `The archive at ${plain} is not a gzip archive.`,
      )
      const cut = other.url('/truncated.sql.gz')
      await failsWith(
        sb,
        ['import:database', '-n', '-y', 'alpha.dev', cut],
        `The archive at ${cut} is not a gzip archive.`,
      )
      const bin = other.url('/binary.gz')
      await failsWith(
        sb,
        ['import:database', '-n', '-y', 'alpha.dev', bin],
        `The archive at ${bin} is not a gzip'd SQL dump.`,
      )
      const files = sb.url(FILES)
      await failsWith(
        sb,
        ['import:database', '-n', '-y', 'alpha.dev', files],
        `The archive at ${files} is not a gzip'd SQL dump.`,
      )
      const db = sb.url(DB)
      await failsWith(
        sb,
        ['import:files', '-n', '-y', 'alpha.dev', db],
        `The archive at ${db} is not a gzip'd tar archive.`,
      )
    })

    it('an archive above the import size limit', async () => {
      sb.setImportLimit(39_999)
      const url = sb.url(DB)
      await failsWith(
        sb,
        ['import:database', '-n', '-y', 'alpha.dev', url],
        `The archive at ${url} is larger than the 39999 byte import limit.`,
      )
      sb.setImportLimit(40_000)
      expect((await terminus(sb, ['import:database', '-n', '-y', 'alpha.dev', url])).exitCode).to.equal(0)
      before++
    })

    it('the workflow fails as configured (spec or setImportFails), per element', async () => {
      await failsWith(
        sb,
        ['import:files', '-n', '-y', 'alpha.multi', sb.url(FILES)],
        'Import files failed: disk quota exceeded.',
      )
      expect((await terminus(sb, ['import:database', '-n', '-y', 'alpha.multi', sb.url(DB)])).exitCode).to.equal(0)
      sb.setImportFails('alpha', 'dev', 'Workflow failed.')
      try {
        await failsWith(sb, ['import:database', '-n', '-y', 'alpha.dev', sb.url(DB)], 'Workflow failed.')
      } finally {
        sb.setImportFails('alpha', 'dev', null)
      }
    })

    it('uninitialized environments, frozen sites (database only), unknown sites and envs', async () => {
      await failsWith(sb, ['import:database', '-n', '-y', 'alpha.test', sb.url(DB)], 'Workflow failed.')
      await failsWith(sb, ['import:database', '-n', '-y', 'beta.dev', sb.url(DB)], FROZEN)
      await failsWith(
        sb,
        ['import:database', '-n', '-y', 'nope.dev', sb.url(DB)],
        'Could not locate a site your user may access identified by nope: Not Found',
      )
      await failsWith(
        sb,
        ['import:files', '-n', '-y', 'alpha.nope', sb.url(FILES)],
        'Could not find an environment identified by nope.',
      )
      expect((await terminus(sb, ['import:files', '-n', '-y', 'beta.dev', sb.url(FILES)])).exitCode).to.equal(0)
      expect(sb.imports('beta', 'dev').map((i) => i.element)).to.deep.equal(['files'])
    })

    it('missing or extra arguments and not logged in: Symfony boxes', async () => {
      await failsWith(sb, ['import:database', '-n', '-y', 'alpha.dev'], /Not enough arguments \(missing: "url"\)\./)
      await failsWith(sb, ['import:files', '-n', '-y'], /Not enough arguments \(missing: "site_env, url"\)\./)
      await failsWith(
        sb,
        ['import:files', '-n', '-y', 'alpha.dev', 'http://x/a', 'b'],
        /Too many arguments to "import:files" command, expected arguments "site_env" "url"\./,
      )
      sb.setLoggedIn(false)
      await failsWith(sb, ['import:database', '-n', '-y', 'alpha.dev', sb.url(DB)], /In Authorizer\.php line 37:/)
    })
  })

  it('records what was fetched, not what the sandbox expects: a dump from elsewhere has its own MD5', async () => {
    const dump = zlib.gzipSync(Buffer.from('-- MySQL dump\nCREATE TABLE t (id int);\n'))
    const server = await serve({'/d.sql.gz': dump})
    try {
      const r = await terminus(sb, ['import:database', '-n', '-y', 'alpha.dev', server.url('/d.sql.gz')])
      expect(r.exitCode, r.stderr).to.equal(0)
      expect(sb.imports('alpha', 'dev').at(-1)).to.include({
        md5: createHash('md5').update(dump).digest('hex'),
        size: dump.length,
      })
    } finally {
      await server.close()
    }
  })
})
