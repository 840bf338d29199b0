/**
 * The --json documents of pick, mirror, prune, verify and restore call one thing by one name: an archive
 * row says `site`, `env`, `element`, `file`, `date` (the time in its filename), `location` (where it is
 * stored) and, where a command knows them, `bytes`, `note` and `error`; and every field of a document is
 * always present, so a run that removed something has the same shape as a dry run. Run against the
 * sandbox and s3rver; a future divergence (a new `size`, `from` or `detail`) fails here.
 */
import {expect} from 'chai'

import {daysAgo, json, startWorld, type World} from '../../helpers/cli.js'

type Doc = Record<string, unknown>
type Row = Record<string, unknown>

/** What every archive row of every command carries. */
const ARCHIVE_KEYS = ['date', 'element', 'env', 'file', 'location', 'site']
/** Other names for those concepts, which no document may use. */
const SYNONYMS = [
  'archive',
  'filename',
  'from',
  'key',
  'path',
  'size',
  'source',
  'time',
  'url',
  'when',
  'where',
  'detail',
]

/** Every key path of a document, arrays read as their elements (`series[].keep[].bytes`). */
function keyPaths(value: unknown, at = ''): Set<string> {
  const paths = new Set<string>()
  if (Array.isArray(value)) {
    for (const item of value) for (const p of keyPaths(item, `${at}[]`)) paths.add(p)
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const p = at ? `${at}.${key}` : key
      paths.add(p)
      for (const q of keyPaths(child, p)) paths.add(q)
    }
  }

  return paths
}

/** The archive rows of a command's document, with a prune series' site, env and element on each row. */
function archiveRows(command: string, doc: Doc): Row[] {
  switch (command) {
    case 'pick':
    case 'mirror': {
      return doc.archives as Row[]
    }

    case 'verify': {
      return doc.objects as Row[]
    }

    case 'restore': {
      return doc.restored as Row[]
    }

    default: {
      return (doc.series as Array<Row & {keep: Row[]; remove: Row[]}>).flatMap((s) =>
        [...s.keep, ...s.remove].map((row) => ({element: s.element, env: s.env, site: s.site, ...row})),
      )
    }
  }
}

describe('--json: the same names for the same things in every command, every field always there', function () {
  this.timeout(180_000)
  let world: World
  const docs: Record<string, Doc> = {}

  before(async () => {
    world = await startWorld({
      latencyMs: 0,
      sites: [
        {envs: [{backups: [{date: daysAgo(3)}, {date: daysAgo(1)}], name: 'live'}, {name: 'dev'}], name: 'alpha'},
      ],
    })
    const s3 = ['--bucket', world.bucket]
    const restoreFlags = ['--no-backup-first', '--dry-run', '--yes', '--json']
    const runs: Array<[string, string[]]> = [
      ['mirror', ['backup:mirror', 'alpha.live', '--all', ...s3, '--verify', '--yes', '--json']],
      ['pick', ['backup:pick', 'alpha.live', '--latest', '--element', 'db', ...s3, '--yes', '--json']],
      ['verify', ['backup:verify', 'alpha.live', ...s3, '--json']],
      [
        'restore',
        ['backup:restore', 'alpha.dev', '--from', 'alpha.live', '--latest', '-e', 'db', ...s3, ...restoreFlags],
      ],
      ['prune', ['backup:prune', 'alpha.live', '--keep-last', '1', ...s3, '--dry-run', '--json']],
      ['prune-removed', ['backup:prune', 'alpha.live', '--keep-last', '1', ...s3, '--yes', '--json']],
    ]
    for (const [name, args] of runs) {
      const result = await world.pbm(args)
      expect(result.exitCode, `${name}: ${String(result.stderr)}`).to.equal(0)
      docs[name] = json<Doc>(result)
    }
  })

  after(async () => {
    await world?.close()
  })

  it('every archive row names site, env, element, file, date and location so; no command uses another name', () => {
    for (const [command, doc] of Object.entries(docs)) {
      const rows = archiveRows(command.replace('-removed', ''), doc)
      expect(rows, command).not.to.be.empty
      for (const row of rows)
        expect(Object.keys(row), `${command}: ${JSON.stringify(row)}`).to.include.members(ARCHIVE_KEYS)
      const keys = [...keyPaths(doc)].map((p) => p.split('.').at(-1)!.replace('[]', ''))
      for (const synonym of SYNONYMS) expect(keys, `${command} says "${synonym}"`).not.to.include(synonym)
    }

    // Where a command knows them: an archive's size is `bytes`, a sentence about it `note`, a failure `error`.
    for (const command of ['pick', 'mirror']) {
      for (const row of archiveRows(command, docs[command])) {
        expect(row, command).to.include.keys('bytes', 'note', 'error')
      }
    }

    for (const row of archiveRows('prune', docs.prune)) expect(row).to.include.keys('bytes')
    for (const row of archiveRows('verify', docs.verify)) expect(row).to.include.keys('note')
    for (const row of archiveRows('restore', docs.restore)) expect(row).to.include.keys('error')
  })

  it('one archive has one date and one location in every document, its date the time in its filename', () => {
    const seen = new Map<string, {date: unknown; location: unknown; command: string}>()
    const nested = {'mirror --verify': (docs.mirror.verify as Doc).objects as Row[]}
    const all = [
      ...Object.entries(docs).map(
        ([command, doc]) => [command, archiveRows(command.replace('-removed', ''), doc)] as const,
      ),
      ...Object.entries(nested),
    ]
    let compared = 0
    for (const [command, rows] of all) {
      for (const row of rows) {
        const stamp = /_(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})_UTC_/.exec(String(row.file))!
        expect(row.date, `${command} ${row.file}`).to.equal(`${stamp[1]}T${stamp[2]}:${stamp[3]}:${stamp[4]}.000Z`)
        const earlier = seen.get(String(row.file))
        if (earlier) {
          compared++
          expect({date: row.date, location: row.location}, `${command} vs ${earlier.command}`).to.deep.equal({
            date: earlier.date,
            location: earlier.location,
          })
        } else seen.set(String(row.file), {command, date: row.date, location: row.location})
      }
    }

    expect(compared).to.be.greaterThan(10)
  })

  it('backup:prune --json has every field whether it removed something or not (and mirror --verify nests verify whole)', () => {
    const dry = keyPaths(docs.prune)
    const removed = keyPaths(docs['prune-removed'])
    expect((docs['prune-removed'].summary as Doc).removed).to.be.greaterThan(0)
    expect([...removed].sort()).to.deep.equal([...dry].sort())
    for (const p of [
      'stopped',
      'summary.wouldRemove',
      'summary.bytesWouldFree',
      'series[].keep[].locked',
      'series[].remove[].deleteMarker',
      'series[].remove[].error',
    ]) {
      expect(dry, p).to.include(p)
    }

    const objectPaths = (doc: unknown) => [...keyPaths(doc)].filter((p) => !p.startsWith('targets')).sort()
    expect(objectPaths(docs.mirror.verify)).to.deep.equal(objectPaths(docs.verify))
  })
})
