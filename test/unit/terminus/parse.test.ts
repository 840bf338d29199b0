import {expect} from 'chai'

import {
  environmentsFromList,
  parseTerminusVersion,
  reportsWorkflowFailures,
  sitesFromList,
} from '../../../src/terminus/parse.js'

describe('terminus/parse: only names the one rule accepts', () => {
  it('drops sites whose names the adapter would refuse to pass back to Terminus', () => {
    const sites = sitesFromList({
      a: {name: 'alpha'},
      b: {name: 'bad name'},
      c: {name: 'evil\u202Eevil'},
      d: {name: 'Upper'},
      e: {name: 'pr-12'},
    })
    expect(sites.map((s) => s.name)).to.deep.equal(['alpha', 'pr-12'])
  })

  it('drops such environments and orders the rest dev, test, live, multidevs', () => {
    const envs = environmentsFromList({
      live: {},
      'pr-2': {},
      'bad env': {},
      'x\u0007': {},
      dev: {},
      test: {},
    })
    expect(envs.map((e) => e.name)).to.deep.equal(['dev', 'test', 'live', 'pr-2'])
  })
})

const reports = (text: string) => reportsWorkflowFailures(parseTerminusVersion(text))

describe('terminus/parse: the version, and whether it reports a failed workflow', () => {
  it('reads `terminus --version`', () => {
    expect(parseTerminusVersion('Terminus 3.6.1\n')).to.deep.equal({major: 3, minor: 6, patch: 1, text: '3.6.1'})
    expect(parseTerminusVersion('Terminus 3.6.1-dev\n')?.text).to.equal('3.6.1-dev')
    expect(parseTerminusVersion('PHP Deprecated: ...\nTerminus 4.0.0\n')?.major).to.equal(4)
    expect(parseTerminusVersion('command not found')).to.equal(undefined)
  })

  it('3.5 and newer report a failed workflow; older or unknown versions are not trusted', () => {
    expect(
      ['Terminus 3.5.0', 'Terminus 3.6.1', 'Terminus 4.0.0', 'Terminus 10.0.0'].map((t) => reports(t)),
    ).to.deep.equal([true, true, true, true])
    expect(
      ['Terminus 3.4.0', 'Terminus 3.0.0', 'Terminus 2.6.5', 'something else'].map((t) => reports(t)),
    ).to.deep.equal([false, false, false, false])
  })
})
