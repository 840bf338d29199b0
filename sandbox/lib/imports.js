// @ts-check
/* eslint-disable jsdoc/require-param-description, jsdoc/require-returns-description, jsdoc/check-param-names */
// `terminus import:database` (alias `import:db`) and `terminus import:files` as real Terminus 3.x behaves
// (../../docs/TERMINUS-IMPORT.md): a confirmation answered by --yes (with -n and no --yes, nothing happens
// and the exit code is 0), then Pantheon's `do_import` workflow, which downloads the URL itself. Here the
// stand-in plays Pantheon: it fetches the URL, checks the archive (gzip, a SQL dump or a tar), and records
// per environment what was imported, for tests to read (`sb.imports(site, env)`).
import {createHash, randomUUID} from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import zlib from 'node:zlib'

import {readJson, withLock, writeJsonAtomic} from './state.js'

/** Pantheon's documented limit for imports through a URL ("less than 500MB"). */
export const DEFAULT_IMPORT_LIMIT_BYTES = 500 * 1024 * 1024

export const IMPORT_SYNOPSIS = {
  'import:database': 'import:database [--] <site_env> <url>',
  'import:files': 'import:files [--] <site_env> <url>',
}
export const IMPORT_ALIASES = {'import:db': 'import:database'}
/** Positional arguments of each import command, in order. */
export const IMPORT_ARGS = {'import:database': ['site_env', 'url'], 'import:files': ['site_env', 'url']}

/**
 * @typedef {{importLimitBytes: number, importMs: number, fails: Record<string, string | null>}} ImportConfig
 *   `fails` is keyed `<site>.<env>` or `<site>.<env>.<element>`: the workflow fails with that message.
 * @typedef {{element: 'database' | 'files', md5: string, size: number, contentSha256: string, at: string,
 *   workflow: string, source: string}} ImportRecord  `source` is the URL's origin and path, never its query
 *   string; `contentSha256` is the SHA-256 of what the gzip inflates to (Pantheon imports any valid archive:
 *   a re-compressed one of the same content is the same import).
 */

/** @param {string} dir */
function configFile(dir) {
  return path.join(dir, 'imports', 'config.json')
}

/** @param {string} dir @param {string} site @param {string} env */
export function importsFile(dir, site, env) {
  return path.join(dir, 'imports', `${site}.${env}.json`)
}

/**
 * Write the import settings from the spec (createSandbox calls this).
 * @param {string} dir @param {any} spec
 */
export function writeImportConfig(dir, spec) {
  fs.mkdirSync(path.join(dir, 'imports'), {recursive: true})
  /** @type {Record<string, string | null>} */
  const fails = {}
  for (const s of spec.sites ?? []) {
    for (const e of s.envs ?? []) {
      const f = e.importFails
      if (typeof f === 'string') fails[`${s.name}.${e.name}`] = f
      else if (f && typeof f === 'object') {
        for (const [el, message] of Object.entries(f)) {
          fails[`${s.name}.${e.name}.${el === 'db' ? 'database' : el}`] = /** @type {string} */ (message)
        }
      }
    }
  }

  writeJsonAtomic(configFile(dir), {
    importLimitBytes: spec.importLimitBytes ?? DEFAULT_IMPORT_LIMIT_BYTES,
    importMs: spec.importMs ?? 0,
    fails,
  })
}

/** @param {string} dir @returns {ImportConfig} */
export function readImportConfig(dir) {
  try {
    return readJson(configFile(dir))
  } catch {
    return {importLimitBytes: DEFAULT_IMPORT_LIMIT_BYTES, importMs: 0, fails: {}}
  }
}

/** @param {string} dir @param {Partial<ImportConfig>} patch */
export function updateImportConfig(dir, patch) {
  fs.mkdirSync(path.join(dir, 'imports'), {recursive: true})
  const current = readImportConfig(dir)
  writeJsonAtomic(configFile(dir), {...current, ...patch, fails: {...current.fails, ...patch.fails}})
}

/** @param {string} dir @param {string} site @param {string} env @returns {ImportRecord[]} */
export function readImports(dir, site, env) {
  try {
    return readJson(importsFile(dir, site, env))
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return []
    throw error
  }
}

/**
 * @typedef {{
 *   command: 'import:database' | 'import:files', argv: string[], positionals: string[], state: import('./state.js').State,
 *   log: {notice: (m: string) => void}, fail: (m: string) => never, box: (m: string, o?: any) => never,
 *   getSiteEnv: (s: string) => {site: import('./state.js').SiteState, env: import('./state.js').EnvState},
 *   stdout: (s: string) => void, readLine?: () => Promise<string | null>, interactive?: boolean, legacy?: boolean
 * }} ImportContext  `interactive`: whether stdin is a terminal (default: asks process.stdin); `legacy`:
 *   Terminus before 3.5, which reports a failed workflow as a success.
 */

/** Run import:database or import:files. @param {ImportContext} c */
export async function runImport(c) {
  const {command, state} = c
  const element = command === 'import:database' ? 'database' : 'files'
  const [siteEnv, url] = c.positionals
  const {site, env} = c.getSiteEnv(siteEnv)
  if (element === 'database' && site.frozen) {
    c.fail(
      'This site is frozen. Its test and live environments and many commands will be unavailable while it remains frozen.',
    )
  }

  // TerminusCommand::confirm: --yes answers at once; otherwise SymfonyStyle asks on stdout with default
  // "no", and a non-interactive run takes that default without asking: the command returns, exit 0, no
  // output. Symfony makes a run non-interactive with -n, and also when stdin is not a terminal.
  const flags = shortAndLongFlags(c.argv)
  if (!flags.has('yes')) {
    if (flags.has('no-interaction') || !(c.interactive ?? Boolean(process.stdin.isTTY))) return
    c.stdout(`\n Are you sure you overwrite the ${element} for ${env.name} on ${site.name}? (yes/no) [no]:\n > `)
    const answer = await (c.readLine ?? readStdinLine)()
    if (answer === null) c.box('Aborted.', {file: 'QuestionHelper.php', line: 129})
    if (!/^y/i.test(/** @type {string} */ (answer).trim())) return
  }

  // Pantheon creates the workflow, then its servers fetch the URL.
  let parsed
  try {
    parsed = new URL(url)
  } catch {}

  if (!parsed || !['http:', 'https:'].includes(parsed.protocol)) c.fail('400 Bad Request response: "Bad params"')
  const imported = `Imported ${element} to ${site.name}.${env.name}.`
  const config = readImportConfig(state.dir)
  if (config.importMs > 0) await sleep(config.importMs)
  const outcome = await importWorkflow(url, element, site, env, config)
  // A failed workflow is an [error] and exit 1 from 3.5 on; before, the notice of a success and exit 0.
  if ('error' in outcome) {
    if (!c.legacy) c.fail(outcome.error)
    c.log.notice(imported)
    return
  }

  /** @type {ImportRecord} */
  const record = {
    element,
    md5: outcome.md5,
    size: outcome.size,
    contentSha256: outcome.contentSha256,
    at: new Date().toISOString(),
    workflow: randomUUID(),
    source: `${/** @type {URL} */ (parsed).origin}${/** @type {URL} */ (parsed).pathname}`,
  }
  const file = importsFile(state.dir, site.name, env.name)
  fs.mkdirSync(path.dirname(file), {recursive: true})
  await withLock(`${file}.lock`, () => writeJsonAtomic(file, [...readImports(state.dir, site.name, env.name), record]))
  c.log.notice(imported)
}

/**
 * Pantheon's `do_import` workflow: fetch the URL and check the archive, or say why it failed.
 * @param {string} url @param {'database' | 'files'} element @param {import('./state.js').SiteState} site
 * @param {import('./state.js').EnvState} env @param {ImportConfig} config
 * @returns {Promise<{md5: string, size: number, contentSha256: string} | {error: string}>}
 */
async function importWorkflow(url, element, site, env, config) {
  if (!env.initialized) return {error: 'Workflow failed.'}
  const fault = config.fails[`${site.name}.${env.name}.${element}`] ?? config.fails[`${site.name}.${env.name}`]
  if (fault) return {error: fault}
  const fetched = await fetchArchive(url, config.importLimitBytes)
  if ('error' in fetched) return fetched
  const isTar = fetched.head.length >= 263 && fetched.head.toString('latin1', 257, 262) === 'ustar'
  if (element === 'database' && (isTar || fetched.head.includes(0))) {
    return {error: `The archive at ${url} is not a gzip'd SQL dump.`}
  }

  if (element === 'files' && !isTar) return {error: `The archive at ${url} is not a gzip'd tar archive.`}
  return fetched
}

/** Long names of the flags given before `--` (`-y` is `yes`, `-n` is `no-interaction`). @param {string[]} argv */
function shortAndLongFlags(argv) {
  const out = new Set()
  for (const a of argv) {
    if (a === '--') break
    if (a.startsWith('--')) out.add(a.slice(2).split('=')[0])
    else if (a.startsWith('-') && a.length > 1) {
      for (const ch of a.slice(1)) {
        if (ch === 'y') out.add('yes')
        if (ch === 'n') out.add('no-interaction')
      }
    }
  }

  return out
}

/** One line from stdin, or null at end of input. @returns {Promise<string | null>} */
function readStdinLine() {
  return new Promise((resolve) => {
    let buf = ''
    const done = (/** @type {string | null} */ v) => {
      process.stdin.off('data', onData)
      process.stdin.off('end', onEnd)
      process.stdin.pause()
      resolve(v)
    }

    const onData = (/** @type {Buffer} */ d) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl !== -1) done(buf.slice(0, nl))
    }

    const onEnd = () => done(buf === '' ? null : buf)
    process.stdin.on('data', onData)
    process.stdin.on('end', onEnd)
    process.stdin.on('error', onEnd)
  })
}

/**
 * Download the URL as Pantheon would (following redirects), hash it, and inflate it to check the gzip
 * stream to its trailer, hashing the content too. Keeps the first 512 inflated bytes to tell a tar from
 * a SQL dump.
 * @param {string} url @param {number} limit
 * @returns {Promise<{md5: string, size: number, contentSha256: string, head: Buffer} | {error: string}>}
 */
async function fetchArchive(url, limit) {
  let current = url
  for (let hop = 0; hop < 5; hop++) {
    const res = await request(current)
    if ('error' in res) return {error: `Could not download the archive at ${url}: ${res.error}.`}
    const status = res.statusCode ?? 0
    if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
      res.resume()
      current = new URL(res.headers.location, current).toString()
      continue
    }

    if (status !== 200) {
      res.resume()
      return {error: `Could not download the archive at ${url}: HTTP ${status}.`}
    }

    const announced = Number(res.headers['content-length'])
    if (Number.isFinite(announced) && announced > limit) {
      res.destroy()
      return {error: tooLarge(url, limit)}
    }

    return consume(res, url, limit)
  }

  return {error: `Could not download the archive at ${url}: too many redirects.`}
}

/** @param {string} url @param {number} limit */
function tooLarge(url, limit) {
  const mb = limit / 1048576
  const shown = mb >= 1 ? `${Number.isInteger(mb) ? mb : mb.toFixed(1)}MB` : `${limit} byte`
  return `The archive at ${url} is larger than the ${shown} import limit.`
}

/** @param {string} url @returns {Promise<http.IncomingMessage | {error: string}>} */
function request(url) {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? https.get : http.get
    const req = get(url, {agent: false, timeout: 30_000}, (res) => resolve(res))
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', (error) => {
      const {code} = /** @type {NodeJS.ErrnoException} */ (error)
      resolve({error: code === 'ECONNREFUSED' ? 'connection refused' : error.message})
    })
  })
}

/**
 * @param {http.IncomingMessage} res @param {string} url @param {number} limit
 * @returns {Promise<{md5: string, size: number, contentSha256: string, head: Buffer} | {error: string}>}
 */
function consume(res, url, limit) {
  return new Promise((resolve) => {
    const md5 = createHash('md5')
    const content = createHash('sha256')
    let size = 0
    /** @type {Buffer[]} */
    const head = []
    let headLength = 0
    let settled = false
    const finish = (
      /** @type {{md5: string, size: number, contentSha256: string, head: Buffer} | {error: string}} */ v,
    ) => {
      if (settled) return
      settled = true
      resolve(v)
    }

    const notGzip = () => finish({error: `The archive at ${url} is not a gzip archive.`})
    const gunzip = zlib.createGunzip()
    gunzip.on('data', (/** @type {Buffer} */ d) => {
      content.update(d)
      if (headLength < 512) {
        head.push(d)
        headLength += d.length
      }
    })
    gunzip.on('error', notGzip)
    gunzip.on('end', () =>
      finish({
        md5: md5.digest('hex'),
        size,
        contentSha256: content.digest('hex'),
        head: Buffer.concat(head).subarray(0, 512),
      }),
    )
    let first = true
    res.on('data', (/** @type {Buffer} */ chunk) => {
      if (first && !(chunk[0] === 0x1f && (chunk.length < 2 || chunk[1] === 0x8b))) {
        notGzip()
        res.destroy()
        return
      }

      first = false
      size += chunk.length
      if (size > limit) {
        finish({error: tooLarge(url, limit)})
        res.destroy()
        return
      }

      md5.update(chunk)
      if (!gunzip.write(chunk)) {
        res.pause()
        gunzip.once('drain', () => res.resume())
      }
    })
    res.on('end', () => {
      if (size === 0) notGzip()
      else gunzip.end()
    })
    res.on('aborted', () => finish({error: `Could not download the archive at ${url}: connection closed early.`}))
    res.on('error', (error) => finish({error: `Could not download the archive at ${url}: ${error.message}.`}))
  })
}
