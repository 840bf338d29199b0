/**
 * The source of the verifier's worker thread, as plain JavaScript run with `eval: true`: it then
 * works the same from dist/, under tsx and in a bundle, with no file to locate at run time.
 *
 * Protocol (parent -> worker): `{i, n}` stage i of the shared stages holds n bytes of the archive,
 * in order; `{end: true}` no more bytes. Worker -> parent: `{free: i}` stage i is consumed and may be
 * refilled; `{done: {md5, inflated}}` after the gzip trailer checked out; `{error: {message, code}}`
 * the inflater failed (corrupt or truncated), after which the worker ignores everything.
 *
 * The worker hashes each stage (MD5) and feeds it to a gunzip stream whose output is counted and
 * dropped: hashing and the inflater's garbage stay off the parent's thread and heap.
 */
export const VERIFY_WORKER_SOURCE = `
'use strict'
const {parentPort, workerData} = require('node:worker_threads')
const {createHash} = require('node:crypto')
const zlib = require('node:zlib')
const {stages, stageSize, chunkSize} = workerData
const md5 = createHash('md5')
const gunzip = zlib.createGunzip({chunkSize})
const out = Buffer.allocUnsafe(chunkSize)
let inflated = 0
let failed = false

// Inflate synchronously on this thread into one reused output buffer, with the loop of zlib's own
// processChunkSync (zlib.gunzipSync) on the stream's handle: no output garbage. Without that handle
// (another Node), the stream API, whose output chunks are garbage of this thread's heap.
const handle = gunzip._handle
const state = gunzip._writeState
const sync = handle && typeof handle.writeSync === 'function' && state instanceof Uint32Array && state.length === 2

function inflate(input, flush) {
  let inOff = 0
  let availIn = input.length
  for (;;) {
    handle.writeSync(flush, input, inOff, availIn, out, 0, out.length)
    if (gunzip.errored) throw gunzip.errored
    const availOut = state[0]
    inflated += out.length - availOut
    inOff += availIn - state[1]
    availIn = state[1]
    if (availOut !== 0) return
  }
}

function fail(error) {
  if (failed) return
  failed = true
  parentPort.postMessage({error: {message: error.message, code: error.code}})
}

function done() {
  if (!failed) parentPort.postMessage({done: {md5: md5.digest('hex'), inflated}})
}

if (!sync) {
  gunzip.on('data', (chunk) => {
    inflated += chunk.length
  })
  gunzip.on('end', done)
}

gunzip.on('error', fail)
parentPort.on('message', (m) => {
  if (failed) return
  if (m.end) {
    if (!sync) return gunzip.end()
    try {
      inflate(Buffer.alloc(0), zlib.constants.Z_FINISH)
      done()
    } catch (error) {
      fail(error)
    }

    return
  }

  const data = Buffer.from(stages, m.i * stageSize, m.n)
  md5.update(data)
  if (!sync) {
    gunzip.write(data, (error) => {
      if (!error) parentPort.postMessage({free: m.i})
    })
    return
  }

  try {
    inflate(data, zlib.constants.Z_NO_FLUSH)
    parentPort.postMessage({free: m.i})
  } catch (error) {
    fail(error)
  }
})
`
