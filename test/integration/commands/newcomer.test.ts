/**
 * A newcomer's first hour, from a script (issue 19): errors that help (one line and the usage, the
 * nearest names, usage errors before any Terminus or S3 call), words that are true (help, the
 * autocomplete note) and `~` in --to. The built CLI against the sandbox and s3rver; the interactive
 * half is in newcomer-interactive.test.ts.
 */
import type {Result} from 'execa'

import {expect} from 'chai'
import {mkdir, readdir} from 'node:fs/promises'
import path from 'node:path'

import {daysAgo, listFiles, startWorld, type World} from '../../helpers/cli.js'

/** A human-mode message: oclif's ` ›   ` margins and line wrapping removed. */
function errorText(result: Result): string {
  return String(result.stderr)
    .replaceAll(/^ ›\s*/gm, '')
    .replaceAll(/\s+/g, ' ')
    .trim()
}

/** A run that must be a usage error (exit 2) without any Terminus call. */
async function refusedBy(world: World, args: string[], env?: Record<string, string>) {
  const before = world.sandbox.calls().length
  const result = await world.pbm(args, {env})
  expect(result.exitCode, errorText(result)).to.equal(2)
  expect(world.sandbox.calls().length, 'Terminus was called').to.equal(before)
  return {result, text: errorText(result)}
}

describe('pbm for a newcomer, from a script', function () {
  this.timeout(60_000)
  let world: World

  before(async () => {
    world = await startWorld({
      sites: [
        {
          envs: [
            {backups: [{date: daysAgo(2)}, {date: daysAgo(1)}], name: 'live'},
            {backups: [{date: daysAgo(1)}], name: 'dev'},
          ],
          name: 'alpha',
        },
        {envs: [{backups: [{date: daysAgo(1)}], name: 'live'}], name: 'bravo'},
      ],
    })
  })

  after(async () => {
    await world?.close()
  })

  describe('typos', () => {
    it('an unknown flag says "did you mean" in one line, then the usage line, not the whole help', async () => {
      const result = await world.pbm(['backup:pick', 'alpha.live', '--lates'])
      expect(result.exitCode).to.equal(2)
      const lines = String(result.stderr).trim().split('\n')
      expect(lines[0]).to.match(/Unknown flag --lates: did you mean --latest\?$/)
      expect(lines.join(' ')).to.match(/Usage: pbm backup:pick \[SITE\.ENV\] \[FLAGS\]/)
      expect(lines.length, String(result.stderr)).to.be.at.most(3)
      expect(String(result.stderr)).to.not.include('FLAGS\n')
    })

    it('an unexpected argument gets the usage line too, not the whole help', async () => {
      const result = await world.pbm(['backup:pick', 'alpha.live', 'bravo.live'])
      expect(result.exitCode).to.equal(2)
      expect(errorText(result)).to.match(/^Error: Unexpected argument: bravo\.live Usage: pbm backup:pick/)
      expect(String(result.stderr).split('\n').length).to.be.at.most(4)
    })

    it('an unknown command suggests the nearest, with or without its topic', async () => {
      const typo = await world.pbm(['backup:pik'])
      expect(typo.exitCode).to.equal(2)
      expect(errorText(typo)).to.include('backup:pik is not a pbm command. Did you mean backup:pick?')
      const bare = await world.pbm(['mirror'])
      expect(bare.exitCode).to.equal(2)
      expect(errorText(bare)).to.include('Did you mean backup:mirror?')
    })

    it('pbm version and pbm -v print the version', async () => {
      for (const word of ['version', '-v', '--version']) {
        const result = await world.pbm([word])
        expect(result.exitCode, word).to.equal(0)
        expect(String(result.stdout), word).to.match(/^pantheon-backup-mirror\/\d+\.\d+\.\d+ /)
      }
    })

    it('an unknown site or environment suggests the nearest names Pantheon lists', async () => {
      const site = await world.pbm(['backup:pick', 'alpah.live', '--latest', '--to', 'x', '--yes'])
      expect(site.exitCode).to.equal(1)
      expect(errorText(site)).to.include('No site "alpah"').and.include('Did you mean alpha?')
      const env = await world.pbm(['backup:pick', 'alpha.lve', '--latest', '--to', 'x', '--yes'])
      expect(env.exitCode).to.equal(1)
      expect(errorText(env)).to.include('Did you mean alpha.live? alpha has: dev, live')
      const mirrored = await world.pbm(['backup:mirror', 'alpah.live', '--to', 'x', '--yes'])
      expect(mirrored.exitCode).to.equal(1)
      expect(String(mirrored.stderr)).to.include('Did you mean alpha?')
    })
  })

  describe('usage errors exit 2 before any Terminus or S3 call', () => {
    it('a malformed --endpoint (or PBM_ENDPOINT)', async () => {
      const {text} = await refusedBy(world, [
        'backup:pick',
        'alpha.live',
        '--latest',
        '--bucket',
        'b-1',
        '--endpoint',
        'localhost:9000',
        '--yes',
      ])
      expect(text).to.include('--endpoint takes the URL of an S3-compatible store, not "localhost:9000"')
      const fromEnv = await refusedBy(world, ['backup:mirror', 'alpha.live', '--bucket', 'b-1', '--yes'], {
        PBM_ENDPOINT: 'http//x',
      })
      expect(fromEnv.text).to.include('--endpoint takes the URL')
      const restore = await refusedBy(world, [
        'backup:restore',
        'alpha.dev',
        '--latest',
        '-e',
        'db',
        '--bucket',
        'b-1',
        '--endpoint',
        'ftp://x',
        '--yes',
      ])
      expect(restore.text).to.include('--endpoint takes the URL')
    })

    it('a --file that is not a Pantheon archive filename', async () => {
      const pathLike = await refusedBy(world, [
        'backup:pick',
        'alpha.live',
        '--file',
        '../alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz',
        '--to',
        'x',
        '--yes',
      ])
      expect(pathLike.text).to.include("--file takes an archive's name as Pantheon gives it, not a path")
      const slash = await refusedBy(world, [
        'backup:restore',
        'alpha.dev',
        '--file',
        'alpha/live/x.sql.gz',
        '--bucket',
        'b-1',
        '--yes',
      ])
      expect(slash.text).to.include("--file takes an archive's name as Pantheon gives it, not a path")
      // A catalog ID is a name Terminus takes: not refused (it fails later, not found).
      const id = await world.pbm([
        'backup:pick',
        'alpha.live',
        '--file',
        '1714533164_backup_database',
        '--to',
        'x',
        '--yes',
      ])
      expect(id.exitCode).to.equal(1)
    })

    it('a SITE.ENV swallowed by a repeatable flag names that flag', async () => {
      const element = await refusedBy(world, ['backup:pick', '--element', 'db', 'alpha.live', '--latest', '--to', 'x'])
      expect(element.text).to.include(
        '--element took "alpha.live" as its value, but it looks like the SITE.ENV argument.',
      )
      expect(element.text).to.include('Put alpha.live before the flags, or write --element=VALUE.')
      const file = await refusedBy(world, [
        'backup:pick',
        '--file',
        'alpha_live_2024-05-01T03-12-44_UTC_database.sql.gz',
        'alpha.live',
        '--to',
        'x',
      ])
      expect(file.text).to.include('--file took "alpha.live" as its value')
      const env = await refusedBy(world, [
        'backup:mirror',
        '--site',
        'alpha',
        '--env',
        'live',
        'bravo.live',
        '--to',
        'x',
      ])
      expect(env.text).to.include('--env took "bravo.live" as its value')
    })

    it('backup:restore without its target (and no terminal) names the argument', async () => {
      const {text} = await refusedBy(world, ['backup:restore', '--latest', '-e', 'db', '--bucket', 'b-1', '--yes'])
      expect(text).to.include('Restore into which site environment? The TARGET_SITE.ENV argument is missing.')
    })
  })

  it('no AWS credentials at all says so, and how to provide them', async () => {
    const result = await world.pbm(['backup:pick', 'alpha.live', '--latest', '--bucket', world.bucket, '--yes'], {
      env: {AWS_ACCESS_KEY_ID: undefined, AWS_EC2_METADATA_DISABLED: 'true', AWS_SECRET_ACCESS_KEY: undefined},
    })
    expect(result.exitCode).to.equal(1)
    const text = errorText(result)
    expect(text).to.include('No AWS credentials were found')
    expect(text).to.include(
      'Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile with AWS_PROFILE or --profile',
    )
    expect(text).to.not.include('rejected')
  })

  it('a mirror with an unknown environment does not say "Nothing to transfer." before its failure', async () => {
    const result = await world.pbm(['backup:mirror', 'alpha.nope', '--to', path.join(world.tmp, 'nope'), '--yes'])
    expect(result.exitCode).to.equal(1)
    expect(String(result.stdout)).to.not.include('Nothing to transfer.')
    expect(String(result.stderr)).to.include('alpha.nope: Site alpha has no environment "nope".')
  })

  it('~ and ~/x in --to mean the home folder, not a folder named ~', async () => {
    const home = path.join(world.tmp, 'home')
    await mkdir(home)
    const result = await world.pbm(['backup:pick', 'alpha.live', '--latest', '-e', 'db', '--to=~/pbmtest', '--yes'], {
      env: {HOME: home},
    })
    expect(result.exitCode, String(result.stderr)).to.equal(0)
    expect(await listFiles(path.join(home, 'pbmtest'))).to.have.length(1)
    expect(await readdir(world.tmp)).to.not.include('~')
  })

  describe('words that are true', () => {
    it("prune's and verify's --bucket and --to describe the mirror they read", async () => {
      for (const command of ['backup:prune', 'backup:verify']) {
        const help = String((await world.pbm([command, '--help'])).stdout).replaceAll(/\s+/g, ' ')
        expect(help, command).to.include('S3 bucket holding the mirror')
        expect(help, command).to.include('Local folder holding the mirror')
        expect(help, command).to.not.include('to mirror into')
      }
    })

    it("restore's exit codes say nothing of 'already there'; --keep-* say what -1 means; --ping the requests", async () => {
      const restore = String((await world.pbm(['backup:restore', '--help'])).stdout).replaceAll(/\s+/g, ' ')
      expect(restore).to.include('Exit codes: 0 imported').and.not.include('already there')
      const prune = String((await world.pbm(['backup:prune', '--help'])).stdout).replaceAll(/\s+/g, ' ')
      for (const flag of ['--keep-last', '--keep-daily', '--keep-yearly']) {
        expect(prune).to.match(new RegExp(`${flag}=N .*?\\(-1 or "unlimited": `))
      }

      const mirror = String((await world.pbm(['backup:mirror', '--help'])).stdout).replaceAll(/\s+/g, ' ')
      expect(mirror).to.include('URL/<exit code>').and.include('URL/fail').and.include('--dry-run sends none')
    })

    it('pbm autocomplete bash notes that bash needs the bash-completion package', async () => {
      // Its cache goes under HOME.
      const env = {HOME: world.tmp}
      const bash = await world.pbm(['autocomplete', 'bash'], {env})
      expect(bash.exitCode).to.equal(0)
      expect(String(bash.stdout)).to.include('needs the bash-completion package')
      const zsh = await world.pbm(['autocomplete', 'zsh'], {env})
      expect(String(zsh.stdout)).to.not.include('bash-completion')
    })
  })
})
