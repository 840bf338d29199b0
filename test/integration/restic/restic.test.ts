import {expect} from 'chai'
import {chmodSync, existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {createVaultDestination} from '../../../src/destination/vault.js'
import {Restic} from '../../../src/restic/index.js'
import {initVault, VAULT_PASSWORD} from '../../helpers/restic.js'
import {failure} from '../terminus/helpers.js'

/** A stand-in `restic` that prints a version and nothing else. */
function fakeRestic(version: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pbm-fake-restic-'))
  const bin = path.join(dir, 'restic')
  writeFileSync(bin, `#!/bin/sh\necho "restic ${version} compiled with go1.19 on linux/amd64"\n`)
  chmodSync(bin, 0o755)
  return bin
}

describe('restic adapter (real restic)', () => {
  it('refuses a restic older than 0.14, and a missing one, before touching the repository', async () => {
    const vault = initVault()
    const old = await failure(new Restic({bin: fakeRestic('0.13.1'), repo: vault.repo, env: vault.env}).open())
    expect(old).to.include({code: 'restic-too-old'})
    expect(old.message).to.include('0.13.1').and.include('0.14.0')
    const missing = await failure(new Restic({bin: '/nonexistent/restic', repo: vault.repo, env: vault.env}).open())
    expect(missing).to.include({code: 'restic-missing'})
    expect(missing.hint).to.include('--restic-bin')
    expect(await new Restic({bin: fakeRestic('0.14.0'), repo: vault.repo, env: vault.env}).version()).to.equal('0.14.0')
  })

  it('never creates a repository: a missing one is an error naming restic init', async () => {
    const {env} = initVault()
    const repo = path.join(mkdtempSync(path.join(tmpdir(), 'pbm-novault-')), 'typo')
    const error = await failure(new Restic({repo, env}).open())
    expect(error).to.include({code: 'vault-missing'})
    expect(error.hint).to.include(`restic init -r ${repo}`)
    expect(existsSync(repo)).to.equal(false)
  })

  it('needs a password from restic variables, and never shows a wrong one', async () => {
    const vault = initVault()
    const none = await failure(new Restic({repo: vault.repo, env: {PATH: process.env.PATH}}).open())
    expect(none).to.include({code: 'usage'})
    expect(none.hint).to.include('RESTIC_PASSWORD_FILE')
    const wrong = await failure(
      new Restic({repo: vault.repo, env: {PATH: process.env.PATH, RESTIC_PASSWORD: 'not-the-password'}}).open(),
    )
    expect(wrong).to.include({code: 'vault-password'})
    expect(`${wrong.message} ${wrong.hint}`).not.to.include('not-the-password').and.not.include(VAULT_PASSWORD)
    // A password that is one of restic's own words is scrubbed from what is shown, not from what is read.
    const word = await failure(
      new Restic({repo: vault.repo, env: {PATH: process.env.PATH, RESTIC_PASSWORD: 'wrong'}}).open(),
    )
    expect(word).to.include({code: 'vault-password'})
  })

  it('saves a snapshot only when its input ends: a stopped backup leaves none, and no lock', async () => {
    const vault = initVault()
    const restic = new Restic({repo: vault.repo, env: vault.env})
    await restic.open()
    const tags = ['pbm', 'site=s1', 'file=s1_live_2024-05-01T03-12-44_UTC_files.tar.gz']
    const time = new Date('2024-05-01T03:12:44Z')
    const stopped = restic.backup({path: '/s1/live/files.tar', signal: new AbortController().signal, tags, time})
    await stopped.write(Buffer.alloc(3 * 1024 * 1024, 7))
    await stopped.drained()
    await stopped.stop()
    expect(await restic.snapshots()).to.deep.equal([])
    expect(vault.restic('list', 'locks').trim()).to.equal('')

    const saved = restic.backup({path: '/s1/live/files.tar', signal: new AbortController().signal, tags, time})
    await saved.write(Buffer.from('the tar'))
    const {snapshot} = await saved.finish()
    const [listed] = await restic.snapshots()
    expect(listed.id.startsWith(snapshot)).to.equal(true)
    expect(listed).to.deep.include({paths: ['/s1/live/files.tar'], tags, hostname: 'pbm'})
    expect(listed.time.toISOString()).to.equal('2024-05-01T03:12:44.000Z')
    expect(vault.restic('dump', snapshot, '/s1/live/files.tar')).to.equal('the tar')
  })

  it('an aborted signal stops restic without a snapshot', async () => {
    const vault = initVault()
    const restic = new Restic({repo: vault.repo, env: vault.env})
    const controller = new AbortController()
    const backup = restic.backup({
      path: '/s/e/database.sql',
      signal: controller.signal,
      tags: ['pbm'],
      time: new Date(),
    })
    await backup.write(Buffer.from('CREATE TABLE t;'))
    controller.abort()
    const error = await failure(backup.finish())
    expect(error).to.include({code: 'interrupted'})
    expect(await restic.snapshots()).to.deep.equal([])
  })

  it("a vault sink keeps restic's input open through flush(): aborted then, it leaves no snapshot", async () => {
    const vault = initVault()
    const destination = createVaultDestination(new Restic({repo: vault.repo, env: vault.env}))
    await destination.preflight()
    const meta = {
      site: 's1',
      env: 'live',
      element: 'database' as const,
      folder: '1714533164_backup',
      file: 's1_live_2024-05-01T03-12-44_UTC_database.sql.gz',
      size: 100,
    }
    const sink = await destination.open(`s1/live/${meta.file}`, meta, new AbortController().signal)
    expect(sink.takes).to.equal('content')
    await sink.write(Buffer.from('INSERT INTO t VALUES (1);\n'))
    await sink.flush?.()
    await sink.abort()
    expect(vault.snapshots()).to.deep.equal([])
    const kept = await destination.open(`s1/live/${meta.file}`, meta, new AbortController().signal)
    await kept.write(Buffer.from('INSERT INTO t VALUES (1);\n'))
    await kept.flush?.()
    await kept.commit({bytes: 100, md5: 'a'.repeat(32), content: {bytes: 26, sha256: 'b'.repeat(64)}})
    // Both have the backup run's time: restic lists them in either order.
    const snapshot = vault.snapshots().find((s) => !s.tags.includes('pbm-record'))!
    const record = vault.snapshots().find((s) => s.tags.includes('pbm-record'))!
    expect(snapshot.paths).to.deep.equal(['/s1/live/database.sql'])
    expect(snapshot.time).to.equal('2024-05-01T03:12:44Z')
    expect(record.paths).to.deep.equal(['/s1/live/database.pbm.json'])
    expect(record.time).to.equal('2024-05-01T03:12:44Z')
    expect(record.tags).to.include.members(['pbm', 'pbm-record', `of=${snapshot.short_id}`, `sha256=${'b'.repeat(64)}`])
    expect(JSON.parse(vault.dump(record.id, '/s1/live/database.pbm.json').toString())).to.deep.equal({
      snapshot: snapshot.short_id,
      file: meta.file,
      archive: {bytes: 100, md5: 'a'.repeat(32)},
      content: {bytes: 26, sha256: 'b'.repeat(64)},
    })
  })

  it('a completion record that cannot be saved fails the commit, clearly; its data snapshot does not count as in the vault', async () => {
    const vault = initVault()
    // The real restic, except that saving a completion record fails as a full or read-only backend would.
    const dir = mkdtempSync(path.join(tmpdir(), 'pbm-record-fails-'))
    const bin = path.join(dir, 'restic')
    writeFileSync(
      bin,
      '#!/bin/sh\ncase "$*" in *pbm-record*) echo "Fatal: unable to save snapshot: disk full" >&2; exit 1;; esac\nexec restic "$@"\n',
    )
    chmodSync(bin, 0o755)
    const meta = {
      site: 's1',
      env: 'live',
      element: 'code' as const,
      folder: '1714533164_backup',
      file: 's1_live_2024-05-01T03-12-44_UTC_code.tar.gz',
      size: 100,
    }
    const key = `s1/live/${meta.file}`
    const failing = createVaultDestination(new Restic({bin, repo: vault.repo, env: vault.env}))
    await failing.preflight()
    const sink = await failing.open(key, meta, new AbortController().signal)
    await sink.write(Buffer.from('tar bytes'))
    let error: undefined | {code: string; message: string}
    try {
      await sink.commit({bytes: 100, content: {bytes: 9, sha256: 'c'.repeat(64)}})
    } catch (error_) {
      error = error_ as {code: string; message: string}
    }

    expect(error?.code).to.equal('vault-record-failed')
    expect(error?.message).to.match(/was saved as snapshot [\da-f]{8}, but its completion record was not \(.*disk full/)
    await sink.abort()
    // The orphan is there, and a new run does not take it for the archive.
    expect(vault.snapshots().map((s) => s.paths[0])).to.deep.equal(['/s1/live/code.tar'])
    const again = createVaultDestination(new Restic({repo: vault.repo, env: vault.env}))
    await again.preflight()
    expect(await again.inspect(key)).to.equal(undefined)
  })
})
