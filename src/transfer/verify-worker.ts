/**
 * The source of the verifier's worker thread, as plain JavaScript run with `eval: true`: it then
 * works the same from dist/, under tsx and in a bundle, with no file to locate at run time.
 *
 * One worker serves every archive of the process (a worker thread is a V8 isolate of its own, ~9 MB
 * of RSS: one per archive made memory grow by that much per --concurrency slot). Each archive is a
 * stream with its own id, shared stages, MD5 and inflater.
 *
 * Protocol (parent -> worker): `{id, open: stages, stageSize}` a new stream whose bytes come in the
 * SharedArrayBuffer `stages`; `{id, i, n}` stage i of that stream holds its next n bytes; `{id, end: true}`
 * no more bytes; `{id, drop: true}` forget the stream (after a failure elsewhere). Worker -> parent:
 * `{id, free: i}` stage i is consumed and may be refilled; `{id, done: {md5, inflated}}` after the gzip
 * trailer checked out; `{id, error: {message, code}}` the inflater failed (corrupt or truncated), after
 * which the worker ignores that stream.
 *
 * The worker hashes each stage (MD5) and feeds it to the stream's gunzip, whose output is counted and
 * dropped: hashing and the inflater's garbage stay off the parent's thread and heap.
 */
export const VERIFY_WORKER_SOURCE = `
'use strict'
const {parentPort, workerData} = require('node:worker_threads')
const {createHash} = require('node:crypto')
const zlib = require('node:zlib')
const {chunkSize} = workerData
// Inflating is synchronous here, one stage at a time: one output buffer serves every stream.
const out = Buffer.allocUnsafe(chunkSize)
const streams = new Map()

// Inflate synchronously on this thread into the reused output buffer, with the loop of zlib's own
// processChunkSync (zlib.gunzipSync) on the stream's handle: no output garbage. Without that handle
// (another Node), the stream API, whose output chunks are garbage of this thread's heap.
function open(id, stages, stageSize) {
  const gunzip = zlib.createGunzip({chunkSize})
  const handle = gunzip._handle
  const state = gunzip._writeState
  const s = {
    id,
    stages,
    stageSize,
    md5: createHash('md5'),
    gunzip,
    handle,
    state,
    sync: Boolean(handle && typeof handle.writeSync === 'function' && state instanceof Uint32Array && state.length === 2),
    inflated: 0,
    failed: false,
  }
  if (!s.sync) {
    gunzip.on('data', (chunk) => {
      s.inflated += chunk.length
    })
    gunzip.on('end', () => done(s))
  }

  gunzip.on('error', (error) => fail(s, error))
  streams.set(id, s)
}

function inflate(s, input, flush) {
  let inOff = 0
  let availIn = input.length
  for (;;) {
    s.handle.writeSync(flush, input, inOff, availIn, out, 0, out.length)
    if (s.gunzip.errored) throw s.gunzip.errored
    const availOut = s.state[0]
    s.inflated += out.length - availOut
    inOff += availIn - s.state[1]
    availIn = s.state[1]
    if (availOut !== 0) return
  }
}

function close(s) {
  streams.delete(s.id)
  s.gunzip.close()
}

function fail(s, error) {
  if (s.failed) return
  s.failed = true
  parentPort.postMessage({id: s.id, error: {message: error.message, code: error.code}})
  close(s)
}

function done(s) {
  if (s.failed) return
  parentPort.postMessage({id: s.id, done: {md5: s.md5.digest('hex'), inflated: s.inflated}})
  close(s)
}

parentPort.on('message', (m) => {
  if (m.open) return open(m.id, m.open, m.stageSize)
  const s = streams.get(m.id)
  if (!s || s.failed) return
  if (m.drop) return close(s)
  if (m.end) {
    if (!s.sync) return s.gunzip.end()
    try {
      inflate(s, Buffer.alloc(0), zlib.constants.Z_FINISH)
      done(s)
    } catch (error) {
      fail(s, error)
    }

    return
  }

  const data = Buffer.from(s.stages, m.i * s.stageSize, m.n)
  s.md5.update(data)
  if (!s.sync) {
    s.gunzip.write(data, (error) => {
      if (!error) parentPort.postMessage({id: s.id, free: m.i})
    })
    return
  }

  try {
    inflate(s, data, zlib.constants.Z_NO_FLUSH)
    parentPort.postMessage({id: s.id, free: m.i})
  } catch (error) {
    fail(s, error)
  }
})
`
