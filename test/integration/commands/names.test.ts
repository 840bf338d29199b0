import {expect} from 'chai'
import {execa} from 'execa'
import {mkdtemp, readFile, rm, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {PBM} from '../../helpers/cli.js'

/**
 * pbm is installed under two names (package.json's bin): `pbm`, and `pantheon-backup-mirror` for hosts
 * whose `pbm` is Percona Backup for MongoDB's. npm installs each as a symlink to bin/run.js, as here.
 */
describe('pbm and pantheon-backup-mirror (built CLI, installed as symlinks)', function () {
  this.timeout(60_000)
  let dir: string
  const run = (name: string, args: string[]) =>
    execa(process.execPath, [path.join(dir, 'bin', name), ...args], {
      env: {NO_COLOR: '1', XDG_CACHE_HOME: path.join(dir, 'cache')},
      reject: false,
    })

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pbm-names-'))
    await execa('mkdir', ['-p', path.join(dir, 'bin')])
    for (const name of ['pbm', 'pantheon-backup-mirror']) await symlink(PBM, path.join(dir, 'bin', name))
  })

  after(async () => {
    await rm(dir, {force: true, recursive: true})
  })

  it('help and examples name the command that was typed, never pbm under the long name', async () => {
    const long = await run('pantheon-backup-mirror', ['backup:pick', '--help'])
    expect(long.exitCode, String(long.stderr)).to.equal(0)
    expect(long.stdout).to.include('$ pantheon-backup-mirror backup:pick [SITE.ENV]')
    expect(long.stdout).to.include('$ pantheon-backup-mirror backup:pick mysite.live --latest --element db')
    expect(long.stdout).to.not.match(/\$ pbm\b/)
    const short = await run('pbm', ['backup:pick', '--help'])
    expect(short.stdout).to.include('$ pbm backup:pick [SITE.ENV]')
    expect(short.stdout).to.not.include('pantheon-backup-mirror backup:pick')
    const version = await run('pantheon-backup-mirror', ['--version'])
    expect(version.stdout).to.match(/^pantheon-backup-mirror\/\d+\.\d+\.\d+ /)
  })

  it('bash completion: pbm completes both names, pantheon-backup-mirror only its own', async () => {
    const functions = path.join(dir, 'cache', 'pbm', 'autocomplete', 'functions', 'bash')
    const long = await run('pantheon-backup-mirror', ['autocomplete', 'bash'])
    expect(long.exitCode, String(long.stderr)).to.equal(0)
    const longScript = await readFile(path.join(functions, 'pantheon-backup-mirror.bash'), 'utf8')
    expect(longScript).to.include('complete -o default -F _pantheon-backup-mirror_autocomplete pantheon-backup-mirror')
    expect(longScript).to.not.match(/complete .*\bpbm$/m)
    const short = await run('pbm', ['autocomplete', 'bash'])
    expect(short.exitCode, String(short.stderr)).to.equal(0)
    const shortScript = await readFile(path.join(functions, 'pbm.bash'), 'utf8')
    expect(shortScript).to.include('complete -o default -F _pbm_autocomplete pbm')
    expect(shortScript).to.include('complete -F _pbm_autocomplete pantheon-backup-mirror')
  })
})
