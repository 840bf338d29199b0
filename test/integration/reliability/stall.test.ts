import {ListMultipartUploadsCommand, ListObjectsV2Command, S3Client} from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {execa} from 'execa'
import {once} from 'node:events'
import {readdir, readFile} from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'

import {daysAgo, json, md5, PBM, startWorld, type World} from '../../helpers/cli.js'
import {motoBucket, type MotoServer, startMoto} from '../../helpers/moto.js'

interface Seen {
  op: 'AbortMultipartUpload' | 'Other' | 'UploadPart'
  path: string
  partNumber?: number
}

/**
 * A loopback proxy in front of moto that goes silent on every UploadPart of `key` from part
 * `fromPart` on: it reads the part's body and never answers, the socket stays open.
 */
async function startStallingProxy(target: string, key: string, fromPart: number) {
  const seen: Seen[] = []
  const sockets = new Set<net.Socket>()
  const agent = new http.Agent({keepAlive: true})
  const upstream = new URL(target)
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy')
    const p = decodeURIComponent(url.pathname)
    const part = url.searchParams.has('partNumber') ? Number(url.searchParams.get('partNumber')) : undefined
    const op =
      req.method === 'PUT' && part !== undefined
        ? 'UploadPart'
        : req.method === 'DELETE' && url.searchParams.has('uploadId')
          ? 'AbortMultipartUpload'
          : 'Other'
    seen.push({op, path: p, ...(part === undefined ? {} : {partNumber: part})})
    if (op === 'UploadPart' && p.endsWith(`/${key}`) && part! >= fromPart) {
      req.resume() // take the bytes, answer nothing
      return
    }

    const forward = http.request(
      {host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent},
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      },
    )
    forward.on('error', () => res.destroy())
    req.pipe(forward)
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    seen,
    async close() {
      for (const s of sockets) s.destroy()
      agent.destroy()
      server.close()
      await once(server, 'close')
    },
  }
}

describe('reliability: stalls (built CLI, PBM_TIMEOUT=2)', function () {
  this.timeout(120_000)
  let world: World
  let moto: MotoServer
  let s3: S3Client
  const bucket = 'pbm-stall'
  const archive = (site: string, element: string) =>
    world.sandbox.archives().find((a) => a.site === site && a.element === element)!

  before(async () => {
    moto = await startMoto()
    world = await startWorld({
      sites: [
        // code: three parts of 5 MiB; database: one part.
        {name: 'alpha', envs: [{name: 'live', backups: [{date: daysAgo(1), sizes: {code: 12e6, database: 1e6}}]}]},
        {name: 'beta', envs: [{name: 'live', backups: [{date: daysAgo(1), sizes: {database: 4e6}}]}]},
      ],
    })
    s3 = await motoBucket(moto, bucket)
  })

  after(async () => {
    s3?.destroy()
    await world?.close()
    await moto?.close()
  })

  it('a part upload that stalls is retried, then that archive fails cleanly (aborted) while the other lands; exit 1', async () => {
    const code = archive('alpha', 'code')
    const db = archive('alpha', 'database')
    const proxy = await startStallingProxy(moto.endpoint, code.file, 2)
    try {
      const r = await world.pbm(
        ['backup:mirror', 'alpha.live', '-e', 'code', '-e', 'db', '--bucket', bucket, '--prefix', 'upload/', '--json'],
        // The bound: without the idle timeout the child would hang until execa kills it (exit not 1).
        {env: {PBM_ENDPOINT: proxy.endpoint, PBM_TIMEOUT: '2', PBM_YES: '1'}, timeout: 90_000},
      )
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).to.equal(1)
      expect(r.timedOut).to.equal(false)
      const stalled = proxy.seen.filter(
        (s) => s.op === 'UploadPart' && s.path.endsWith(code.file) && s.partNumber === 2,
      )
      expect(stalled.length, 'the stalled part is retried').to.be.at.least(2)
      expect(
        proxy.seen.some((s) => s.op === 'AbortMultipartUpload' && s.path.endsWith(`/upload/alpha/live/${code.file}`)),
      ).to.be.true
      const listed = await s3.send(new ListObjectsV2Command({Bucket: bucket, Prefix: 'upload/'}))
      expect((listed.Contents ?? []).map((o) => o.Key)).to.deep.equal([`upload/alpha/live/${db.file}`])
      const open = await s3.send(new ListMultipartUploadsCommand({Bucket: bucket}))
      expect(open.Uploads ?? []).to.deep.equal([])
      expect(String(r.stdout)).to.contain(code.file)
    } finally {
      await proxy.close()
    }
  })

  it('a download that goes silent mid-body is resumed after PBM_TIMEOUT with Range, and lands verified', async () => {
    const db = archive('beta', 'database')
    const stallAt = 1_500_000
    world.sandbox.setFault(db.file, {stallAfter: stallAt})
    world.sandbox.resetStats()
    const to = path.join(world.tmp, 'silent-download')
    const r = await world.pbm(
      ['backup:pick', 'beta.live', '--latest', '--element', 'db', '--to', to, '--yes', '--json'],
      {
        env: {PBM_TIMEOUT: '2'},
        timeout: 90_000,
      },
    )
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).to.equal(0)
    expect(r.timedOut).to.equal(false)
    expect(world.sandbox.stats(db.file).ranges).to.include(`bytes=${stallAt}-`)
    const dir = path.join(to, 'beta', 'live')
    expect(md5(await readFile(path.join(dir, db.file)))).to.equal(db.md5)
    expect(await readdir(dir)).to.deep.equal([`.${db.file}.pbm.json`, db.file])
  })

  it('Ctrl-C while the S3 preflight waits on a silent endpoint exits 130', async () => {
    const sockets: net.Socket[] = []
    const silent = net.createServer((socket) => sockets.push(socket))
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    const endpoint = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`
    try {
      const child = execa(
        process.execPath,
        [PBM, 'backup:pick', 'alpha.live', '--latest', '--element', 'db', '--bucket', bucket, '--yes', '--json'],
        // The default timeout (30 s): only the signal can end this run early.
        {cwd: world.tmp, env: {...world.env, CI: 'true', PBM_ENDPOINT: endpoint}, reject: false, timeout: 25_000},
      )
      // The event: pbm has connected to the endpoint and is waiting for an answer.
      await once(silent, 'connection')
      child.kill('SIGINT')
      const r = await child
      expect(r.timedOut).to.equal(false)
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).to.equal(130)
      expect(() => json(r)).not.to.throw()
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })
})
