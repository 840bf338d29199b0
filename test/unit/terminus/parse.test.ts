import {expect} from 'chai'

import {environmentsFromList, sitesFromList} from '../../../src/terminus/parse.js'

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
