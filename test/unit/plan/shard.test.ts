import {expect} from 'chai'

import {UsageError} from '../../../src/errors.js'
import {
  formatShard,
  inShard,
  parseShard,
  selectShard,
  shardFromCompletionIndex,
  shardOfSite,
} from '../../../src/plan/shard.js'

/**
 * Site names as agencies have them: client or organization names, with the usual suffixes, some
 * numbered series, all lowercase with dashes (Pantheon's rule). Deterministic, so the balance checks
 * below always see the same names.
 */
function siteNames(count: number): string[] {
  const orgs = [
    'acme',
    'globex',
    'initech',
    'umbrella',
    'stark',
    'wayne',
    'city-of-springfield',
    'county-health',
    'state-university',
    'riverside-library',
    'northwind',
    'contoso',
    'fabrikam',
    'tailspin',
    'wingtip',
    'adventure-works',
    'blue-yonder',
    'coho-winery',
    'fourth-coffee',
    'litware',
    'lucerne-publishing',
    'margies-travel',
    'proseware',
    'southridge-video',
    'trey-research',
    'wide-world-importers',
    'alpine-ski-house',
    'bellows-college',
    'best-for-you-organics',
    'humongous-insurance',
    'school-of-fine-art',
    'woodgrove-bank',
  ]
  const kinds = [
    '',
    '-www',
    '-d9',
    '-d10',
    '-wp',
    '-intranet',
    '-blog',
    '-shop',
    '-careers',
    '-events',
    '-staging',
    '-2024',
  ]
  const names: string[] = []
  for (const kind of kinds) for (const org of orgs) names.push(`${org}${kind}`)
  for (let i = 1; names.length < count; i++) names.push(`client-${String(i).padStart(3, '0')}`)
  return names.slice(0, count)
}

function counts(names: string[], n: number): number[] {
  const c = Array.from({length: n}, () => 0)
  for (const name of names) c[shardOfSite(name, n) - 1]++
  return c
}

function membersOf(names: string[], shard: {count: number; index: number}): string[] {
  return names.filter((s) => inShard(s, shard))
}

function envsOf(site: string): Array<{env: string; site: string}> {
  return ['dev', 'test', 'live'].map((env) => ({site, env}))
}

// Chi-square critical values at p = 0.001, by degrees of freedom (N - 1).
const CHI2_999: Record<number, number> = {1: 10.83, 3: 16.27, 7: 24.32, 15: 37.7, 31: 61.1}

describe('plan: shards', () => {
  describe('parseShard', () => {
    it('reads K/N', () => {
      expect(parseShard('2/8')).to.deep.equal({index: 2, count: 8})
      expect(parseShard(' 1 / 1 ')).to.deep.equal({index: 1, count: 1})
      expect(parseShard('256/256')).to.deep.equal({index: 256, count: 256})
      expect(formatShard(parseShard('3/16'))).to.equal('3/16')
    })

    it('is a usage error (exit 2) naming its source otherwise', () => {
      for (const bad of [
        '0/8',
        '9/8',
        '1/0',
        '0/0',
        '-1/8',
        '1.5/8',
        '2',
        '2/',
        '/8',
        'a/b',
        '2/8/1',
        '',
        '1/100001',
      ]) {
        let error: unknown
        try {
          parseShard(bad, 'PBM_SHARD')
        } catch (error_) {
          error = error_
        }

        expect(error, bad).to.be.instanceOf(UsageError)
        expect((error as UsageError).exitCode).to.equal(2)
        expect((error as UsageError).message).to.match(/^PBM_SHARD/)
        expect((error as UsageError).hint).to.include('K/N')
      }
    })
  })

  describe('assignment', () => {
    it('matches what coreutils computes from the documented one-liner', () => {
      // echo $(( 0x$(printf %s SITE | sha1sum | cut -c1-8) % 8 + 1 ))
      expect(shardOfSite('alpha', 8)).to.equal(4)
      expect(shardOfSite('client-001', 8)).to.equal(2)
      expect(shardOfSite('café-münchen', 8)).to.equal(3)
    })

    it('puts every site in exactly one shard (disjoint and covering)', () => {
      const names = siteNames(1000)
      for (const n of [1, 2, 3, 7, 8, 16, 64, 256]) {
        const all = Array.from({length: n}, (_, k) => membersOf(names, {index: k + 1, count: n})).flat()
        expect(all, `shards of ${n}`).to.have.length(names.length)
        expect(new Set(all), `shards of ${n}`).to.deep.equal(new Set(names))
      }
    })

    it('keeps all environments of a site together', () => {
      const targets = siteNames(200).flatMap((site) => envsOf(site))
      const shard = {index: 3, count: 8}
      const chosen = selectShard(targets, shard, (t) => t.site)
      const sites = new Set(chosen.map((t) => t.site))
      expect(chosen).to.have.length(sites.size * 3)
      expect(selectShard(targets, undefined, (t) => t.site)).to.deep.equal(targets)
    })

    for (const total of [500, 1000]) {
      it(`balances ${total} realistic site names: every shard within 4 standard deviations, chi-square below p = 0.001`, () => {
        const names = siteNames(total)
        expect(new Set(names).size).to.equal(total)
        for (const n of [2, 4, 8, 16, 32]) {
          const c = counts(names, n)
          const mean = total / n
          const sd = Math.sqrt(total * (1 / n) * (1 - 1 / n))
          for (const x of c)
            expect(Math.abs(x - mean), `${total} sites in ${n} shards: ${c.join(',')}`).to.be.at.most(4 * sd)
          const chi2 = c.reduce((sum, x) => sum + (x - mean) ** 2 / mean, 0)
          expect(chi2, `${total} sites in ${n} shards: ${c.join(',')}`).to.be.below(CHI2_999[n - 1])
        }
      })
    }

    it('never moves a site when others are added or removed', () => {
      const before = siteNames(500)
      const after = [...siteNames(1000).slice(500), ...before.filter((_, i) => i % 7 !== 0)].reverse()
      for (const n of [4, 8, 32]) {
        const was = new Map(before.map((s) => [s, shardOfSite(s, n)]))
        for (const s of after) if (was.has(s)) expect(shardOfSite(s, n), s).to.equal(was.get(s))
      }
    })
  })

  describe('shardFromCompletionIndex (Kubernetes Indexed Job)', () => {
    it('maps the 0-based JOB_COMPLETION_INDEX to K = index + 1 of N = completions', () => {
      expect(shardFromCompletionIndex('0', '8')).to.deep.equal({index: 1, count: 8})
      expect(shardFromCompletionIndex(7, 8)).to.deep.equal({index: 8, count: 8})
      expect(shardFromCompletionIndex('0', 1)).to.deep.equal({index: 1, count: 1})
    })

    it('refuses an index outside the completions or a value that is not a number', () => {
      for (const [index, completions] of [
        ['8', '8'],
        ['-1', '8'],
        ['', '8'],
        ['x', '8'],
        ['0', '0'],
        ['0', ''],
        [1.5, 8],
      ] as const) {
        expect(() => shardFromCompletionIndex(index, completions), `${index} of ${completions}`).to.throw(UsageError)
      }
    })
  })
})
