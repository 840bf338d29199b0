/**
 * A network link for benches: a TCP proxy in front of a local server whose downstream (server to
 * client) bytes, all connections together, pass at most `bytesPerSecond`, as through one NIC or one
 * S3 stream. Loopback moves bytes faster than any network a user has (s3rver serves ~300 MB/s here),
 * so a bench that asks "does pbm keep up with the download?" needs a download of a real speed too.
 *
 * The proxy paces by pausing the upstream socket while it is ahead of the link's schedule (TCP's
 * back-pressure then slows the server), in slices of 10 ms: bursts stay within one slice of bytes.
 */
import net from 'node:net'

export interface Link {
  /** http://127.0.0.1:PORT, to use in place of the target's endpoint. */
  endpoint: string
  close(): Promise<void>
}

export async function startLink(target: string, bytesPerSecond: number): Promise<Link> {
  const {hostname, port} = new URL(target)
  let scheduled = 0 // when, in ms of performance.now(), the link is free again
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }

    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      const now = performance.now()
      scheduled = Math.max(scheduled, now) + (chunk.length / bytesPerSecond) * 1000
      const writable = client.write(chunk)
      const ahead = scheduled - now
      if (ahead > 10 || !writable) {
        upstream.pause()
        const resume = () => setTimeout(() => upstream.resume(), Math.max(0, scheduled - performance.now()))
        if (writable) resume()
        else client.once('drain', resume)
      }
    })
    upstream.on('end', () => client.end())
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  const {port: linkPort} = server.address() as net.AddressInfo
  return {
    endpoint: `http://127.0.0.1:${linkPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
