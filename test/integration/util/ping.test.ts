import {expect} from 'chai'
import {execa} from 'execa'
import http from 'node:http'
import {type AddressInfo} from 'node:net'

import {PING_BODY_LIMIT, Pinger} from '../../../src/util/ping.js'

interface Received {
  method: string
  url: string
  body: string
  headers: http.IncomingHttpHeaders
}

/** A loopback ping server that records what it receives and answers with `status` (or never, when 0). */
async function pingServer(status = 200) {
  const received: Received[] = []
  const hanging: http.ServerResponse[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        body: Buffer.concat(chunks).toString(),
        headers: req.headers,
      })
      if (status === 0) hanging.push(res)
      else res.writeHead(status, {'content-type': 'text/plain'}).end(status === 200 ? 'OK' : 'not found')
    })
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port} = server.address() as AddressInfo
  return {
    received,
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise((resolve) => {
        server.close(resolve)
      })
    },
  }
}

const CHECK = '/ping/0f3c2a94-0d3b-4a8e-9f1e-6a3e2b1c4d5e'

describe('util: health pings against a loopback server', () => {
  it('sends start, success and fail as POSTs with the run ID and a text body', async () => {
    const server = await pingServer()
    try {
      const pinger = new Pinger(server.url + CHECK, {runId: 'run-1'})
      expect(await pinger.start()).to.deep.equal({ok: true})
      expect(await pinger.success('3 transferred\n')).to.deep.equal({ok: true})
      expect(await pinger.fail('1 failed\n')).to.deep.equal({ok: true})
      expect(await pinger.exitStatus(3, 'verify found problems\n')).to.deep.equal({ok: true})
      expect(server.received.map(({method, url, body}) => ({method, url, body}))).to.deep.equal([
        {method: 'POST', url: `${CHECK}/start?rid=run-1`, body: ''},
        {method: 'POST', url: `${CHECK}?rid=run-1`, body: '3 transferred\n'},
        {method: 'POST', url: `${CHECK}/fail?rid=run-1`, body: '1 failed\n'},
        {method: 'POST', url: `${CHECK}/3?rid=run-1`, body: 'verify found problems\n'},
      ])
      expect(server.received[1].headers['content-type']).to.equal('text/plain; charset=utf-8')
      expect(server.received[1].headers['user-agent']).to.match(/^pbm/)
    } finally {
      await server.close()
    }
  })

  it('never sends more than the body limit, nor a signed URL', async () => {
    const server = await pingServer()
    try {
      const pinger = new Pinger(server.url + CHECK)
      const signed = 'https://storage.googleapis.com/b/x.sql.gz?Expires=1&Signature=abc'
      await pinger.fail(`${signed}\nfailed: ${'x'.repeat(PING_BODY_LIMIT * 2)}`)
      const [got] = server.received
      expect(Buffer.byteLength(got.body)).to.be.at.most(PING_BODY_LIMIT)
      // redact() also takes the first word of the next line (a URL may be hard-wrapped across lines).
      expect(got.body).to.match(/^https:\/\/storage\.googleapis\.com\/b\/x\.sql\.gz\?<redacted>/)
      expect(got.body).to.not.include('abc')
      expect(got.body).to.match(/\[\.\.\.truncated]\n$/)
    } finally {
      await server.close()
    }
  })

  it('returns a warning naming only the origin when the server answers an error', async () => {
    const server = await pingServer(404)
    try {
      const outcome = await new Pinger(server.url + CHECK).success('ok')
      expect(outcome).to.deep.equal({ok: false, warning: `The success ping to ${server.url} was answered 404.`})
    } finally {
      await server.close()
    }
  })

  it('returns a warning when the server does not answer within the timeout', async () => {
    const server = await pingServer(0)
    try {
      const outcome = await new Pinger(server.url + CHECK, {timeoutMs: 300}).start()
      expect(outcome).to.deep.equal({
        ok: false,
        warning: `The start ping to ${server.url} failed: no answer within 0.3 s.`,
      })
      expect(server.received).to.have.length(1)
    } finally {
      await server.close()
    }
  })

  it('returns a warning when nothing listens', async () => {
    const server = await pingServer()
    const {url} = server
    await server.close()
    const outcome = await new Pinger(url + CHECK).fail('x')
    expect(outcome).to.deep.equal({ok: false, warning: `The fail ping to ${url} failed: ECONNREFUSED.`})
    expect(JSON.stringify(outcome)).to.not.include('0f3c2a94')
  })

  it('follows redirects as fetch does: 307 repeats the POST with its body, 302 continues as a GET', async () => {
    const received: Array<{method: string; url: string; body: string}> = []
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        received.push({method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString()})
        if (req.url?.startsWith('/a')) res.writeHead(307, {location: '/b'}).end()
        else if (req.url?.startsWith('/b')) res.writeHead(302, {location: '/c'}).end()
        else res.writeHead(200).end('OK')
      })
    })
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve)
    })
    try {
      const {port} = server.address() as AddressInfo
      const outcome = await new Pinger(`http://127.0.0.1:${port}/a`, {runId: false}).success('done')
      expect(outcome).to.deep.equal({ok: true})
      expect(received).to.deep.equal([
        {method: 'POST', url: '/a', body: 'done'},
        {method: 'POST', url: '/b', body: 'done'},
        {method: 'GET', url: '/c', body: ''},
      ])
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => {
        server.close(resolve)
      })
    }
  })

  it('works in a process without WebAssembly (node --jitless, the smaller pod)', async () => {
    const server = await pingServer()
    try {
      const child = await execa(
        process.execPath,
        [
          '--jitless',
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `import {Pinger} from ${JSON.stringify(new URL('../../../src/util/ping.ts', import.meta.url).href)}
           console.log(typeof WebAssembly, JSON.stringify(await new Pinger(${JSON.stringify(server.url + CHECK)}).success('ok')))`,
        ],
        {reject: false},
      )
      expect(child.stdout.trim(), child.stderr).to.equal('undefined {"ok":true}')
      expect(server.received.map((r) => r.method)).to.deep.equal(['POST'])
    } finally {
      await server.close()
    }
  })
})
