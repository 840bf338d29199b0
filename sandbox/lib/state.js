// @ts-check
/* eslint-disable jsdoc/require-param-description, jsdoc/require-returns-description, jsdoc/check-param-names */
// The sandbox's state directory: written by createSandbox, read (and for backup:create, changed) by many
// concurrent `terminus` processes. One JSON file per concern, and one per site.env for backups; every
// write goes to a temp file and is renamed into place; read-modify-write happens under a mkdir lock.
import {createHash, createHmac, randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {Archive, extensionFor, minimumSize} from './archive.js'
import {evolutionOf, evolvingArchive, nightEpoch} from './evolving.js'
import {checkLatencyScale, DEFAULT_TERMINUS_VERSION, parseVersion} from './versions.js'

export const ELEMENTS = /** @type {const} */ (['code', 'files', 'database'])
export const DEFAULT_SIZES = {code: 6144, files: 12288, database: 3072}
export const ACCESS_ID = 'pantheon-backups@pantheon-sandbox.iam.gserviceaccount.com'
export const BUCKET = 'gcs-pantheon-backups'
/** Archives up to this size get their hashes computed eagerly (when created or first served). */
export const EAGER_HASH_LIMIT = 64 * 1024 * 1024

/**
 * @typedef {import('./evolving.js').Evolution} Evolution
 * @typedef {Omit<Evolution, 'night'> & {keepNights: number | null}} EvolvingConfig
 * @typedef {{name: string, initialized: boolean, locked: boolean, created: number, evolving?: EvolvingConfig}} EnvState
 * @typedef {{name: string, id: string, plan: string, framework: string, frozen: boolean, org: string | null,
 *   tags: string[], createFails: string | null, created: number, region: string, envs: EnvState[]}} SiteState
 * @typedef {{user: {email: string, token: string, id: string}, orgs: {name: string, id: string}[], sites: SiteState[],
 *   urlLifetimeSec: number, secret: string}} Config
 * @typedef {{latencyMs: number, createMs: number, terminusVersion?: string, telemetryFails?: boolean,
 *   latencyScale?: number}} Settings
 * @typedef {{loggedIn: boolean, email: string | null}} Session
 * @typedef {{site: string, env: string, folder: string, id: string, element: string, file: string, epoch: number,
 *   date: number, expiry: number | null, initiator: string, size: number, keepForDays: number,
 *   evolving?: Evolution}} BackupRecord
 */

/** @param {string} file @param {unknown} data */
export function writeJsonAtomic(file, data) {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n')
  fs.renameSync(tmp, file)
}

/** @param {string} file */
export function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'))
}

/**
 * Run fn while holding a lock directory. Stale locks (older than 30 s) are broken.
 * @template T
 * @param {string} lockPath @param {() => Promise<T> | T} fn
 * @returns {Promise<T>}
 */
export async function withLock(lockPath, fn) {
  const deadline = Date.now() + 60_000
  for (;;) {
    try {
      fs.mkdirSync(lockPath)
      break
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') throw error
      try {
        const st = fs.statSync(lockPath)
        if (Date.now() - st.mtimeMs > 30_000) fs.rmSync(lockPath, {force: true, recursive: true})
      } catch {}

      if (Date.now() > deadline) throw new Error(`sandbox: timed out waiting for lock ${lockPath}`)
      await sleep(5 + Math.random() * 20)
    }
  }

  try {
    return await fn()
  } finally {
    fs.rmSync(lockPath, {force: true, recursive: true})
  }
}

/** @param {Date} d */
export function stamp(d) {
  return d.toISOString().slice(0, 19).replaceAll(':', '-')
}

/** @param {string|number|undefined} date */
export function toEpoch(date) {
  if (date === undefined) return Math.floor(Date.now() / 1000)
  if (typeof date === 'number') return Math.floor(date)
  const ms = Date.parse(date)
  if (Number.isNaN(ms)) throw new Error(`sandbox: invalid backup date ${date}`)
  return Math.floor(ms / 1000)
}

/** @param {string} element */
export function normalizeElement(element) {
  return element === 'db' ? 'database' : element
}

/**
 * Build one backup record (one archive).
 * @param {{site: string, env: string, epoch: number, initiator: string, element: string, size: number,
 *   keepForDays: number, oldFilename?: boolean, finishedAt?: number}} o
 * @returns {BackupRecord}
 */
export function makeRecord(o) {
  const folder = `${o.epoch}_${o.initiator === 'automated' ? 'automated' : 'backup'}`
  const id = `${folder}_${o.element}`
  const ts = stamp(new Date(o.epoch * 1000))
  const file = o.oldFilename
    ? `${o.site}_${ts}_UTC_${o.element}.${extensionFor(o.element)}`
    : `${o.site}_${o.env}_${ts}_UTC_${o.element}.${extensionFor(o.element)}`
  // Finish time: a little after the start, a float like the API's, deterministic.
  const h = createHash('sha256').update(`${o.site}.${o.env}/${id}`).digest()
  const offsets = {code: 20, files: 75, database: 110}
  const whole = o.epoch + (offsets[/** @type {'code'} */ (o.element)] ?? 30) + (h[0] % 40)
  const frac = String(100001 + (h.readUInt32BE(1) % 899998)).slice(0, 5) + String(1 + (h[5] % 9))
  const finishWhole = o.finishedAt === undefined ? whole : Math.floor(o.finishedAt)
  const date = Number.parseFloat(`${finishWhole}.${frac}`)
  const expiry = o.keepForDays > 0 ? Number.parseFloat(`${finishWhole + o.keepForDays * 86400}.${frac}`) : null
  if (o.size < minimumSize(o.element)) {
    throw new Error(`sandbox: ${file}: size ${o.size} is below the minimum of ${minimumSize(o.element)} bytes`)
  }

  return {
    site: o.site,
    env: o.env,
    folder,
    id,
    element: o.element,
    file,
    epoch: o.epoch,
    date,
    expiry,
    initiator: o.initiator === 'automated' ? 'automated' : 'manual',
    size: o.size,
    keepForDays: o.keepForDays,
  }
}

export class State {
  /** @param {string} dir */
  constructor(dir) {
    this.dir = dir
    /** @type {Config | undefined} */
    this._config = undefined
  }

  /** @returns {Config} */
  get config() {
    if (!this._config) this._config = readJson(path.join(this.dir, 'config.json'))
    return /** @type {Config} */ (this._config)
  }

  /** @returns {Settings} */
  settings() {
    return readJson(path.join(this.dir, 'settings.json'))
  }

  /** @param {Partial<Settings>} patch */
  setSettings(patch) {
    writeJsonAtomic(path.join(this.dir, 'settings.json'), {...this.settings(), ...patch})
  }

  /** @returns {Session} */
  session() {
    return readJson(path.join(this.dir, 'session.json'))
  }

  /** @param {Session} s */
  setSession(s) {
    writeJsonAtomic(path.join(this.dir, 'session.json'), s)
  }

  /** @returns {string | undefined} */
  serverUrl() {
    try {
      return readJson(path.join(this.dir, 'server.json')).url
    } catch {}
  }

  /** @param {string} name */
  site(name) {
    return this.config.sites.find((s) => s.name === name || s.id === name)
  }

  /** @param {string} site @param {string} env */
  backupsFile(site, env) {
    return path.join(this.dir, 'backups', `${site}.${env}.json`)
  }

  /** @param {string} site @param {string} env @returns {BackupRecord[]} */
  backups(site, env) {
    try {
      return readJson(this.backupsFile(site, env))
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return []
      throw error
    }
  }

  /** @returns {BackupRecord[]} */
  allBackups() {
    const out = []
    for (const s of this.config.sites) for (const e of s.envs) out.push(...this.backups(s.name, e.name))
    return out
  }

  /**
   * Add backups under the site.env lock.
   * @param {string} site @param {string} env
   * @param {(existing: BackupRecord[]) => BackupRecord[]} make
   */
  async addBackups(site, env, make) {
    return withLock(this.backupsFile(site, env) + '.lock', () => {
      const existing = this.backups(site, env)
      const added = make(existing)
      writeJsonAtomic(this.backupsFile(site, env), [...existing, ...added])
      return added
    })
  }

  /** @param {BackupRecord} r */
  archiveOf(r) {
    const meta = {
      site: r.site,
      env: r.env,
      folder: r.folder,
      element: r.element,
      size: r.size,
      file: r.file,
      epoch: r.epoch,
    }
    return (r.evolving && evolvingArchive(meta, r.evolving)) || new Archive(meta)
  }

  /**
   * An evolving env moves to `night`: its night sets become those Pantheon lists that night (other
   * backups, e.g. made by backup:create, stay). Returns the records of the night sets now listed.
   * @param {string} site @param {string} env @param {number} night
   */
  async setNight(site, env, night) {
    const evolving = this.site(site)?.envs.find((e) => e.name === env)?.evolving
    if (!evolving) throw new Error(`sandbox: ${site}.${env} has no evolving spec`)
    const nights = nightRecords(site, env, evolving, night)
    await withLock(this.backupsFile(site, env) + '.lock', () => {
      const others = this.backups(site, env).filter((r) => !r.evolving)
      writeJsonAtomic(this.backupsFile(site, env), [...others, ...nights])
    })
    for (const r of nights) if (r.size <= EAGER_HASH_LIMIT / 8) this.hashes(r)
    return nights
  }

  /** @param {string} file */
  hashFile(file) {
    return path.join(this.dir, 'hashes', `${file}.json`)
  }

  /**
   * Cached hashes of an archive, if computed.
   * @param {BackupRecord} r
   * @returns {import('./archive.js').ArchiveHashes | undefined}
   */
  cachedHashes(r) {
    try {
      const h = readJson(this.hashFile(r.file))
      return h.size === r.size ? h : undefined
    } catch {}
  }

  /** @param {BackupRecord} r @param {import('./archive.js').ArchiveHashes} h */
  saveHashes(r, h) {
    writeJsonAtomic(this.hashFile(r.file), h)
  }

  /** Hashes of an archive, computed (one pass) and cached when missing. @param {BackupRecord} r */
  hashes(r) {
    const cached = this.cachedHashes(r)
    if (cached) return cached
    const h = this.archiveOf(r).computeHashes()
    this.saveHashes(r, h)
    return h
  }

  /** @param {BackupRecord} r */
  objectPath(r) {
    const s = /** @type {SiteState} */ (this.site(r.site))
    return `/${BUCKET}/${s.id}/${r.env}/${r.folder}/${r.file}`
  }

  /** @param {string} objectPath @param {number} expires */
  sign(objectPath, expires) {
    return createHmac('sha256', this.config.secret).update(`GET\n${expires}\n${objectPath}`).digest('base64')
  }

  /**
   * A freshly signed URL for an archive.
   * @param {BackupRecord} r @param {{expires?: number, lifetimeSec?: number}} [o]
   */
  signedUrl(r, o = {}) {
    const base = this.serverUrl() ?? 'http://127.0.0.1:9'
    const p = this.objectPath(r)
    const expires = o.expires ?? Math.floor(Date.now() / 1000) + (o.lifetimeSec ?? this.config.urlLifetimeSec)
    const sig = this.sign(p, expires)
    return `${base}${p}?Expires=${expires}&GoogleAccessId=${encodeURIComponent(ACCESS_ID)}&Signature=${encodeURIComponent(sig)}`
  }
}

/**
 * @param {any} spec
 * @param {string} dir
 * @returns {{state: State, faults: Map<string, any>}}
 */
export function writeInitialState(spec, dir) {
  if (!spec || !Array.isArray(spec.sites)) throw new Error('sandbox: spec.sites must be an array')
  if (spec.terminusVersion !== undefined) parseVersion(spec.terminusVersion)
  fs.mkdirSync(path.join(dir, 'backups'), {recursive: true})
  fs.mkdirSync(path.join(dir, 'hashes'), {recursive: true})
  const user = {email: 'dev@example.com', token: 'sandbox-machine-token', ...spec.user}
  const userId = user.id ?? uuidFrom(`user:${user.email}`)
  const orgs = (spec.orgs ?? []).map((/** @type {any} */ o) => ({name: o.name, id: o.id ?? uuidFrom(`org:${o.name}`)}))
  /** @type {Map<string, any>} */
  const faults = new Map()
  /** @type {SiteState[]} */
  const sites = []
  /** @type {BackupRecord[][]} */
  const perEnv = []
  const names = new Set()
  for (const s of spec.sites) {
    if (!s.name || names.has(s.name)) throw new Error(`sandbox: site names must be unique and non-empty (${s.name})`)
    names.add(s.name)
    if (s.org && !orgs.some((/** @type {any} */ o) => o.name === s.org || o.id === s.org)) {
      orgs.push({name: s.org, id: uuidFrom(`org:${s.org}`)})
    }

    const created = toEpoch(s.created ?? '2020-01-15T10:00:00Z')
    const envSpecs = s.envs ?? [{name: 'dev'}, {name: 'test'}, {name: 'live'}]
    /** @type {SiteState} */
    const site = {
      name: s.name,
      id: s.id ?? uuidFrom(`site:${s.name}`),
      plan: s.plan ?? 'Basic',
      framework: s.framework ?? 'drupal8',
      frozen: Boolean(s.frozen),
      org: s.org ? orgs.find((/** @type {any} */ o) => o.name === s.org || o.id === s.org).name : null,
      tags: s.tags ?? [],
      createFails: s.createFails ?? null,
      created,
      region: s.region ?? 'United States',
      envs: envSpecs.map((/** @type {any} */ e) => ({
        name: e.name,
        initialized: e.initialized ?? true,
        locked: Boolean(e.locked),
        created: created + 60,
        ...(e.evolving && {
          evolving: {...evolutionOf(e.evolving), keepNights: e.evolving.keepNights ?? null},
        }),
      })),
    }
    sites.push(site)
    for (const e of envSpecs) {
      /** @type {BackupRecord[]} */
      const records = []
      for (const b of e.backups ?? []) {
        const epoch = toEpoch(b.date)
        const elements = (b.elements ?? ELEMENTS).map((/** @type {string} */ x) => normalizeElement(x))
        for (const element of elements) {
          const r = makeRecord({
            site: s.name,
            env: e.name,
            epoch,
            initiator: b.initiator ?? 'manual',
            element,
            size: b.sizes?.[element] ?? DEFAULT_SIZES[/** @type {'code'} */ (element)],
            keepForDays: b.keepForDays ?? 365,
            oldFilename: b.oldFilename,
          })
          if (records.some((x) => x.file === r.file)) throw new Error(`sandbox: duplicate backup ${r.file}`)
          records.push(r)
          const f = b.faults?.[element] ?? (element === 'database' ? b.faults?.db : undefined)
          if (f) faults.set(r.file, f)
        }
      }

      const evolving = site.envs.find((x) => x.name === e.name)?.evolving
      if (evolving) {
        for (const r of nightRecords(s.name, e.name, evolving, e.evolving.night ?? 1)) {
          if (records.some((x) => x.file === r.file)) throw new Error(`sandbox: duplicate backup ${r.file}`)
          records.push(r)
        }
      }

      perEnv.push(records)
      writeJsonAtomic(path.join(dir, 'backups', `${s.name}.${e.name}.json`), records)
    }
  }

  /** @type {Config} */
  const config = {
    user: {email: user.email, token: user.token, id: userId},
    orgs,
    sites,
    urlLifetimeSec: spec.urlLifetimeSec ?? 3600,
    secret: randomBytes(32).toString('hex'),
  }
  writeJsonAtomic(path.join(dir, 'config.json'), config)
  writeJsonAtomic(path.join(dir, 'settings.json'), {
    latencyMs: spec.latencyMs ?? 0,
    createMs: spec.createMs ?? 0,
    terminusVersion: spec.terminusVersion ?? DEFAULT_TERMINUS_VERSION,
    telemetryFails: Boolean(spec.telemetryFails),
    latencyScale: checkLatencyScale(spec.latencyScale ?? 0),
  })
  writeJsonAtomic(path.join(dir, 'session.json'), {
    loggedIn: spec.loggedIn ?? true,
    email: (spec.loggedIn ?? true) ? user.email : null,
  })
  const state = new State(dir)
  for (const records of perEnv) for (const r of records) if (r.size <= EAGER_HASH_LIMIT / 8) state.hashes(r)
  return {state, faults}
}

/**
 * The automated backup sets Pantheon lists on `night` of an evolving env: one a night at the evolution's
 * time of day (default 03:00 UTC), the newest `keepNights` of nights 1..night (all when null).
 * @param {string} site @param {string} env @param {EvolvingConfig} evolving @param {number} night
 * @returns {BackupRecord[]}
 */
export function nightRecords(site, env, evolving, night) {
  const {keepNights, ...evolution} = evolving
  nightEpoch(night, evolution.first)
  const records = []
  for (let n = keepNights ? Math.max(1, night - keepNights + 1) : 1; n <= night; n++) {
    const ev = {...evolution, night: n}
    const epoch = nightEpoch(n, evolution.first)
    for (const element of ELEMENTS) {
      const meta = {site, env, folder: '', element, size: DEFAULT_SIZES.code, file: '', epoch}
      const size = evolvingArchive(meta, ev)?.size ?? DEFAULT_SIZES.code
      const r = makeRecord({site, env, epoch, initiator: 'automated', element, size, keepForDays: 365})
      records.push({...r, evolving: ev})
    }
  }

  return records
}

/** A deterministic UUID (v4-shaped) from a string. @param {string} s */
export function uuidFrom(s) {
  const h = createHash('sha256').update(s).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

export {randomUUID} from 'node:crypto'
