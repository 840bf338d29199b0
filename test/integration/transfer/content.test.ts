import {expect} from 'chai'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {gunzipSync} from 'node:zlib'

import type {Sandbox, SandboxArchive} from '../../../sandbox/index.js'
import type {ArchiveMeta, Destination, Sink} from '../../../src/destination/types.js'

import {createSandbox} from '../../../sandbox/index.js'
import {createLocalDestination} from '../../../src/destination/index.js'
import {transferArchive, type TransferJob} from '../../../src/transfer/index.js'
import {failure} from '../../helpers/errors.js'

/**
 * A destination that takes the decompressed content (as a vault does) and records what the engine
 * does with its sink: every write, the flush, and whether it was committed or aborted.
 */
function contentRecorder(options: {slow?: boolean; failAfter?: number} = {}) {
  const log: string[] = []
  const chunks: Buffer[] = []
  const destination: Destination = {
    kind: 'restic',
    describe: (key) => `recorder::${key}`,
    async preflight() {},
    inspect: async (): Promise<undefined> => undefined,
    async open(_key: string, _meta: ArchiveMeta): Promise<Sink> {
      let written = 0
      return {
        takes: 'content',
        write(chunk) {
          if (log.at(-1) !== 'write') log.push('write')
          chunks.push(Buffer.from(chunk))
          written += chunk.length
          if (options.failAfter !== undefined && written > options.failAfter) {
            return Promise.reject(new Error('the content sink broke'))
          }

          // A slow consumer: every write makes the engine wait (backpressure through the inflater).
          if (options.slow)
            return new Promise((resolve) => {
              setImmediate(resolve)
            })
        },
        async flush() {
          log.push('flush')
        },
        async commit() {
          log.push('commit')
        },
        async abort() {
          log.push('abort')
        },
      }
    },
  }
  return {content: () => Buffer.concat(chunks), destination, log}
}

describe('transfer engine: sinks that take the decompressed content (sandbox archive server)', function () {
  this.timeout(60_000)
  let sb: Sandbox
  let tmp: string
  let files: SandboxArchive
  let db: SandboxArchive

  before(async () => {
    sb = await createSandbox({
      sites: [
        {
          name: 'alpha',
          envs: [{name: 'live', backups: [{date: '2024-05-01T03:12:44Z', sizes: {files: 3e6, database: 500_000}}]}],
        },
      ],
    })
    tmp = await mkdtemp(path.join(tmpdir(), 'pbm-content-'))
    files = sb.archives().find((a) => a.element === 'files')!
    db = sb.archives().find((a) => a.element === 'database')!
  })

  after(async () => {
    await sb?.close()
    if (tmp) await rm(tmp, {recursive: true, force: true})
  })

  beforeEach(() => sb.clearFaults())

  const bytesOf = (a: SandboxArchive) => Buffer.concat([...sb.bytes(a.file)])
  const job = (a: SandboxArchive, destinations: Destination[]): TransferJob => ({
    archive: {site: a.site, env: a.env, element: a.element, folder: a.folder, file: a.file},
    backoffMs: 10,
    destinations,
    key: `${a.site}/${a.env}/${a.file}`,
    resolveUrl: async () => sb.url(a.file),
  })

  it('gives a content sink the inflated archive and a folder the archive, from one download; commit after flush', async () => {
    const recorder = contentRecorder({slow: true})
    const root = path.join(tmp, 'both')
    const result = await transferArchive(job(files, [createLocalDestination({root}), recorder.destination]))
    expect(result.destinations.map((d) => d.status)).to.deep.equal(['transferred', 'transferred'])
    expect(recorder.content().equals(gunzipSync(bytesOf(files)))).to.equal(true)
    expect(recorder.log).to.deep.equal(['write', 'flush', 'commit'])
    expect((await readFile(path.join(root, 'alpha', 'live', files.file))).equals(bytesOf(files))).to.equal(true)
    expect(sb.stats(files.file).requests).to.equal(1)
  })

  for (const [how, at] of [
    // The gzip header's MTIME: the content inflates whole and right; only the MD5 differs.
    ['only its MD5', () => 5],
    ['its deflate data', () => db.size - 12],
  ] as const) {
    it(`never commits a content sink when the archive fails verification (${how}): it is aborted`, async () => {
      const recorder = contentRecorder()
      sb.setFault(db.file, {corruptAt: at()})
      const error = await failure(transferArchive(job(db, [recorder.destination])))
      expect(error.code).to.be.oneOf(['corrupt', 'checksum-mismatch', 'transfer-failed'])
      expect(recorder.log).not.to.include('commit')
      expect(recorder.log.at(-1)).to.equal('abort')
    })
  }

  it('a failing content sink fails its destination and aborts the others', async () => {
    const recorder = contentRecorder({failAfter: 100_000})
    const root = path.join(tmp, 'broken')
    const result = await failure(transferArchive(job(files, [createLocalDestination({root}), recorder.destination])))
    expect(result.message).to.include('the content sink broke')
    expect(recorder.log.at(-1)).to.equal('abort')
    expect(recorder.log).not.to.include('commit')
  })
})
