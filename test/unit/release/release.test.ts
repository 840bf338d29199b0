import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const read = (file: string) => readFileSync(path.join(root, file), 'utf8')
const pjson = JSON.parse(read('package.json'))
const readme = read('README.md')
const ciRun = read('.ci/run')
const smoke = read('.ci/smoke')
const install = readme.slice(readme.indexOf('## Install\n'), readme.indexOf('## Quick start\n'))

/** The Node versions .ci/run installs and tests: [full suite, ...unit tests and smoke]. */
function ciNodes(): string[] {
  const full = /^FULL_NODE="(\d+\.\d+\.\d+) [0-9a-f]{64}"$/m.exec(ciRun)?.[1]
  const block = /^OTHER_NODES=\(\n([\s\S]*?)\n\)$/m.exec(ciRun)?.[1] ?? ''
  const others = [...block.matchAll(/^ {2}"(\d+\.\d+\.\d+) [0-9a-f]{64}"$/gm)].map((m) => m[1])
  return full ? [full, ...others] : others
}

const major = (version: string) => Number(version.split('.')[0])

describe('release: package.json, README, CI and recipes agree', () => {
  it('installs one CLI under two names, pbm and pantheon-backup-mirror', () => {
    expect(pjson.bin).to.deep.equal({'pantheon-backup-mirror': './bin/run.js', pbm: './bin/run.js'})
    expect(pjson.oclif.bin).to.equal('pbm')
    expect(pjson.oclif.binAliases).to.deep.equal(['pantheon-backup-mirror'])
    expect(install).to.include('two commands, `pbm` and `pantheon-backup-mirror`')
  })

  it('ships the MIT LICENSE and an npm-shrinkwrap.json made from package-lock.json', () => {
    expect(pjson.license).to.equal('MIT')
    expect(read('LICENSE')).to.match(/^MIT License\n/)
    expect(pjson.files).to.include('./npm-shrinkwrap.json')
    expect(pjson.scripts.prepack).to.match(/&& cp package-lock\.json npm-shrinkwrap\.json$/)
    expect(pjson.scripts.postpack).to.include('npm-shrinkwrap.json')
    // npm ci on a clean clone reads package-lock.json: a committed shrinkwrap would win over it.
    expect(read('.gitignore').split('\n')).to.include('npm-shrinkwrap.json')
  })

  it('decides about every install script (esbuild: denied, tsx uses its binary package without it)', () => {
    expect(pjson.allowScripts).to.deep.equal({esbuild: false})
  })

  it('tests, on the Node lines the README names, every line engines allows', () => {
    const nodes = ciNodes()
    expect(nodes.map((v) => major(v))).to.deep.equal([24, 22, 20])
    expect(pjson.engines.node).to.equal('>=20.12')
    expect(install).to.include('**Node.js 22 or 24**')
    expect(install).to.include('20.12+ still works')
    expect(install).to.include(`Node ${nodes[0]} (the whole suite), ${nodes[1]} and ${nodes[2]} (unit tests)`)
    // The recipes run an LTS line that CI runs the whole suite on.
    expect(read('Dockerfile')).to.match(new RegExp(`^FROM node:${major(nodes[0])}-`, 'm'))
    expect(read('deploy/github-actions/mirror.yml')).to.include(`node-version: ${major(nodes[0])}`)
  })

  it('gives the install paths that .ci/smoke proves, and the registry one pinned to this version', () => {
    for (const command of [
      '--strip-components=1',
      'npm ci --omit=dev',
      'npm install -g ~/.local/lib/pantheon-backup-mirror',
      'npm ci && npm run build && npm link',
    ]) {
      expect(install, command).to.include(command)
    }

    for (const step of ['--strip-components=1', 'npm ci --omit=dev', 'npm install -g --prefix', 'npm link']) {
      expect(smoke, step).to.include(step)
    }

    expect(install).to.include(`pantheon-backup-mirror-${pjson.version}.tgz`)
    expect(install).to.include(`npm install -g pantheon-backup-mirror@${pjson.version}`)
    expect(install).to.not.match(/npm install -g pantheon-backup-mirror(\s|$)/)
  })
})
