// @ts-check
/* eslint-disable jsdoc/require-param-description, jsdoc/check-param-names */
// The sandbox's programmatic API: a fake Pantheon for tests, benchmarks and the demo.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {readCalls, resetCalls} from './lib/calls.js'
import {readImports, updateImportConfig, writeImportConfig} from './lib/imports.js'
import {ArchiveServer} from './lib/server.js'
import {writeInitialState, writeJsonAtomic} from './lib/state.js'
import {writeThrottle} from './lib/throttle.js'
import {checkLatencyScale, parseVersion} from './lib/versions.js'

const here = path.dirname(fileURLToPath(import.meta.url))
/** The stand-in that finds its state through $PBM_SANDBOX_DIR (a shell after `sandbox up`). */
export const terminusPath = path.join(here, 'bin', 'terminus')

/**
 * `<dir>/bin/terminus`: the stand-in bound to this state directory. pbm hands Terminus an allow-listed
 * environment without any PBM_* variable, so the sandbox's own `terminus` must find its state without
 * one. Plain script syntax (a dynamic import) so that it runs whether Node takes it for CommonJS or ESM.
 * @param {string} dir
 */
function writeBoundTerminus(dir) {
  const bin = path.join(dir, 'bin')
  fs.mkdirSync(bin, {recursive: true})
  const file = path.join(bin, 'terminus')
  const lib = pathToFileURL(path.join(here, 'lib', 'terminus.js')).href
  fs.writeFileSync(
    file,
    [
      '#!/usr/bin/env node',
      "// The pbm sandbox's `terminus` stand-in, bound to the state directory it lives in.",
      `import(${JSON.stringify(lib)}).then(async ({main}) => {`,
      '  process.exitCode = await main(process.argv.slice(2), process.env, {',
      '    stdout: (s) => process.stdout.write(s),',
      '    stderr: (s) => process.stderr.write(s),',
      `  }, {dir: ${JSON.stringify(dir)}})`,
      '})',
      '',
    ].join('\n'),
    {mode: 0o755},
  )
  return file
}

/**
 * @param {any} spec
 * @param {{dir?: string}} [options]
 */
export async function createSandbox(spec, options = {}) {
  const ownDir = !options.dir
  const dir = options.dir ? path.resolve(options.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'pbm-sandbox-'))
  fs.mkdirSync(dir, {recursive: true})
  let server
  try {
    const {state, faults} = writeInitialState(spec, dir)
    writeThrottle(dir, spec.throttle)
    writeImportConfig(dir, spec)
    server = new ArchiveServer(state)
    for (const [file, fault] of faults) server.setFault(file, fault)
    const url = await server.listen()
    writeJsonAtomic(path.join(dir, 'server.json'), {url, pid: process.pid})
    return new Sandbox(dir, state, server, ownDir, writeBoundTerminus(dir))
  } catch (error) {
    await server?.close().catch(() => {})
    if (ownDir) fs.rmSync(dir, {force: true, recursive: true})
    throw error
  }
}

export class Sandbox {
  /**
   * @param {string} dir @param {import('./lib/state.js').State} state @param {ArchiveServer} server @param {boolean} ownDir
   * @param {string} boundTerminus
   */
  constructor(dir, state, server, ownDir, boundTerminus) {
    this.dir = dir
    this.state = state
    this.server = server
    this.ownDir = ownDir
    // Needs no environment: pbm passes Terminus no PBM_* variable.
    this.terminusPath = boundTerminus
    // For the unbound stand-in (`terminusPath` exported above) and for tools that look for it.
    this.env = {PBM_SANDBOX_DIR: dir}
    this.serverUrl = server.url
    this.closed = false
  }

  /** Every archive in the current state (including backups made by backup:create). */
  archives() {
    return this.state.allBackups().map((r) => this.describe(r))
  }

  /** @param {string} file */
  archive(file) {
    const r = this.state.allBackups().find((b) => b.file === file)
    if (!r) throw new Error(`sandbox: no archive named ${file}`)
    return this.describe(r)
  }

  /** @param {import('./lib/state.js').BackupRecord} r */
  describe(r) {
    const {state} = this
    /** @type {import('./lib/archive.js').ArchiveHashes | undefined} */
    let h
    const hashes = () => {
      h ??= state.hashes(r)
      return h
    }

    return {
      site: r.site,
      env: r.env,
      folder: r.folder,
      id: r.id,
      file: r.file,
      element: r.element,
      size: r.size,
      date: r.date,
      expiry: r.expiry,
      initiator: r.initiator,
      get md5() {
        return hashes().md5
      },
      get crc32c() {
        return hashes().crc32c
      },
    }
  }

  /**
   * A freshly signed URL for an archive, as `terminus backup:get` prints it, without spawning a process.
   * @param {string} file @param {{expires?: number, lifetimeSec?: number}} [o]
   */
  url(file, o) {
    const r = this.state.allBackups().find((b) => b.file === file)
    if (!r) throw new Error(`sandbox: no archive named ${file}`)
    return this.state.signedUrl(r, o)
  }

  /**
   * Stream an archive's bytes without the server (for checks).
   * @param {string} file
   * @yields {Buffer}
   */
  *bytes(file) {
    const r = this.state.allBackups().find((b) => b.file === file)
    if (!r) throw new Error(`sandbox: no archive named ${file}`)
    yield* this.state.archiveOf(r).chunks()
  }

  /**
   * An archive's content as gunzip gives it (the tar or the SQL), generated in chunks.
   * @param {string} file
   * @yields {Buffer}
   */
  *content(file) {
    const r = this.state.allBackups().find((b) => b.file === file)
    if (!r) throw new Error(`sandbox: no archive named ${file}`)
    yield* this.state.archiveOf(r).contentChunks()
  }

  /**
   * Move an evolving env (spec `evolving`) to `night`: backup:list then shows the automated sets of
   * the nights Pantheon keeps (nights 1..night, or the newest `keepNights`), one per night.
   * @param {string} site @param {string} env @param {number} night
   */
  async setNight(site, env, night) {
    const records = await this.state.setNight(site, env, night)
    return records.map((r) => this.describe(r))
  }

  /** @param {string} file */
  stats(file) {
    const s = this.server.statsFor(file)
    return {requests: s.requests, bytesServed: s.bytesServed, statuses: [...s.statuses], ranges: [...s.ranges]}
  }

  resetStats() {
    this.server.stats.clear()
  }

  /**
   * Resolves once `bytes` body bytes of `file` (null: of all archives together) were served since the
   * last resetStats(). It listens to the server, it does not poll.
   * @param {string | null} file @param {number} bytes
   */
  waitServed(file, bytes) {
    const served = () =>
      file === null
        ? [...this.server.stats.values()].reduce((sum, s) => sum + s.bytesServed, 0)
        : this.server.statsFor(file).bytesServed
    return new Promise((/** @type {(v?: unknown) => void} */ resolve) => {
      if (served() >= bytes) {
        resolve()
        return
      }

      const on = (/** @type {string} */ f) => {
        if ((file !== null && f !== file) || served() < bytes) return
        this.server.events.off('served', on)
        resolve()
      }

      this.server.events.on('served', on)
    })
  }

  /** @param {string} file @param {import('./lib/server.js').Fault} fault */
  setFault(file, fault) {
    this.server.setFault(file, fault)
  }

  clearFaults() {
    this.server.clearFaults()
  }

  /** @param {boolean} loggedIn */
  setLoggedIn(loggedIn) {
    this.state.setSession({loggedIn, email: loggedIn ? this.state.config.user.email : null})
  }

  /**
   * Pantheon no longer has the site (or, given `env`, that environment of it): terminus then answers
   * as for an unknown one ("Could not locate a site ..." / "Could not find an environment ...").
   * archives() no longer lists its backups (read it before, to know what a mirror holds).
   * @param {string} site @param {string} [env]
   */
  removeSite(site, env) {
    const {config} = this.state
    const sites = env
      ? config.sites.map((s) => (s.name === site ? {...s, envs: s.envs.filter((e) => e.name !== env)} : s))
      : config.sites.filter((s) => s.name !== site)
    writeJsonAtomic(path.join(this.dir, 'config.json'), {...config, sites})
    this.state._config = undefined
  }

  /** @param {number} ms */
  setLatency(ms) {
    this.state.setSettings({latencyMs: ms})
  }

  /** @param {number} ms */
  setCreateMs(ms) {
    this.state.setSettings({createMs: ms})
  }

  /**
   * The Terminus version the stand-in impersonates (`terminus --version`), and with it how it behaves:
   * before 3.5 a failed backup:create or import is reported as a success (exit 0); from 3.6 a failed
   * telemetry post adds an [error] line (see setTelemetryFails).
   * @param {string} version e.g. `3.4.0`, `3.6.1`, `4.0.0`
   */
  setTerminusVersion(version) {
    parseVersion(version)
    this.state.setSettings({terminusVersion: version})
  }

  /**
   * 3.6+: every command's telemetry post fails, so each ends with ~106 s (times the latency scale) of
   * silence and an ` [error]  HTTP request POST .../api/track has failed ... ` line, exit code unchanged.
   * @param {boolean} fails
   */
  setTelemetryFails(fails) {
    this.state.setSettings({telemetryFails: fails})
  }

  /**
   * How long the stand-in waits where real Terminus retries silently (~106 s before a throttled call
   * gives up or a failed telemetry post is logged): that times `scale` (0: at once; 1: as real).
   * @param {number} scale
   */
  setLatencyScale(scale) {
    this.state.setSettings({latencyScale: checkLatencyScale(scale)})
  }

  /**
   * Throttle API-using terminus calls to `calls` per sliding `windowMs` across all processes (null: off).
   * @param {import('./lib/throttle.js').ThrottleConfig | null} config
   */
  setThrottle(config) {
    writeThrottle(this.dir, config)
  }

  /** Every terminus command run so far (`calls.log`), in the order they ended. */
  calls() {
    return readCalls(this.dir)
  }

  /**
   * How many terminus commands ran, per command name (refused ones included; filter calls() for others).
   * @returns {Record<string, number>} counts by command
   */
  callCounts() {
    /** @type {Record<string, number>} */
    const counts = {}
    for (const c of this.calls()) counts[c.command] = (counts[c.command] ?? 0) + 1
    return counts
  }

  resetCalls() {
    resetCalls(this.dir)
  }

  /**
   * What `terminus import:database` / `import:files` imported into SITE.ENV, oldest first.
   * @param {string} site @param {string} env
   */
  imports(site, env) {
    return readImports(this.dir, site, env)
  }

  /**
   * Make the next imports into SITE.ENV fail with this workflow message (null: succeed again).
   * @param {string} site @param {string} env @param {string | null} message @param {'database' | 'files'} [element]
   */
  setImportFails(site, env, message, element) {
    updateImportConfig(this.dir, {fails: {[element ? `${site}.${env}.${element}` : `${site}.${env}`]: message}})
  }

  /** Pantheon's size limit for imports through a URL (default 500 MiB). @param {number} bytes */
  setImportLimit(bytes) {
    updateImportConfig(this.dir, {importLimitBytes: bytes})
  }

  /** How long an import workflow takes. @param {number} ms */
  setImportMs(ms) {
    updateImportConfig(this.dir, {importMs: ms})
  }

  async close() {
    if (this.closed) return
    this.closed = true
    await this.server.close()
    if (this.ownDir) fs.rmSync(this.dir, {force: true, recursive: true})
  }
}
