// @ts-check
/* eslint-disable jsdoc/require-param-description, jsdoc/check-param-names */
// The `terminus` stand-in: real Terminus 3.x's stdout/stderr formats, messages and exit codes
// (../../../shared/TERMINUS.md), as the version it impersonates prints them (./versions.js), against
// the sandbox state in its bound directory (the sandbox's own `bin/terminus`) or $PBM_SANDBOX_DIR.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {recordCall} from './calls.js'
import {IMPORT_ALIASES, IMPORT_ARGS, IMPORT_SYNOPSIS, runImport} from './imports.js'
import {DEFAULT_SIZES, EAGER_HASH_LIMIT, ELEMENTS, makeRecord, State} from './state.js'
import {throttleCall} from './throttle.js'
import {
  postsTelemetry,
  reportsWorkflowFailures,
  TELEMETRY_ERROR,
  TERMINUS_RETRY_MS,
  terminusSettings,
} from './versions.js'

/** Options that take a value (--name value or --name=value). */
const VALUE_OPTIONS = new Set([
  'element',
  'email',
  'field',
  'fields',
  'file',
  'filter',
  'format',
  'keep-for',
  'machine-token',
  'org',
  'owner',
  'tag',
  'team',
  'to',
  'upstream',
])
/** Flags accepted and ignored. */
const FLAGS = new Set([
  'ansi',
  'h',
  'help',
  'n',
  'no-ansi',
  'no-interaction',
  'q',
  'quiet',
  'v',
  'V',
  'verbose',
  'version',
  'vv',
  'vvv',
  'y',
  'yes',
])

/** Synopses as Symfony prints them after a boxed error. */
const SYNOPSIS = {
  'auth:whoami': 'auth:whoami [--format FORMAT] [--fields FIELDS] [--field FIELD]',
  'auth:login': 'auth:login [--machine-token [MACHINE-TOKEN]] [--email [EMAIL]]',
  'auth:logout': 'auth:logout',
  'site:list':
    'site:list [--format FORMAT] [--fields FIELDS] [--field FIELD] [--filter FILTER] [--team] [--owner OWNER] [--org ORG] [--name NAME] [--plan PLAN] [--upstream UPSTREAM] [--tag TAG]',
  'org:site:list':
    'org:site:list [--format FORMAT] [--fields FIELDS] [--field FIELD] [--filter FILTER] [--plan PLAN] [--tag TAG] [--upstream UPSTREAM] [--] <organization>',
  'env:list': 'env:list [--format FORMAT] [--fields FIELDS] [--field FIELD] [--filter FILTER] [--] <site>',
  'backup:list':
    'backup:list [--element [ELEMENT]] [--format FORMAT] [--fields FIELDS] [--field FIELD] [--filter FILTER] [--] <site_env>',
  'backup:info':
    'backup:info [--file [FILE]] [--element [ELEMENT]] [--format FORMAT] [--fields FIELDS] [--field FIELD] [--] <site_env>',
  'backup:get': 'backup:get [--file [FILE]] [--element [ELEMENT]] [--to [TO]] [--] <site_env>',
  'backup:create': 'backup:create [--element [ELEMENT]] [--keep-for [KEEP-FOR]] [--] <site_env>',
  ...IMPORT_SYNOPSIS,
}
/** @type {Record<string, string>} */
const ARG_NAME = {
  'org:site:list': 'organization',
  'env:list': 'site',
  'backup:list': 'site_env',
  'backup:info': 'site_env',
  'backup:get': 'site_env',
  'backup:create': 'site_env',
}
/** @type {Record<string, string[]>} */
const ALLOWED = {
  'auth:whoami': ['format', 'fields', 'field'],
  'auth:login': ['machine-token', 'email'],
  'auth:logout': [],
  'site:list': ['format', 'fields', 'field', 'filter', 'team', 'owner', 'org', 'upstream', 'tag'],
  'org:site:list': ['format', 'fields', 'field', 'filter', 'tag', 'upstream'],
  'env:list': ['format', 'fields', 'field', 'filter'],
  'backup:list': ['element', 'format', 'fields', 'field', 'filter'],
  'backup:info': ['file', 'element', 'format', 'fields', 'field'],
  'backup:get': ['file', 'element', 'to'],
  'backup:create': ['element', 'keep-for'],
  'import:database': [],
  'import:files': [],
}
const ALIASES = {
  'site:ls': 'site:list',
  'org:site:ls': 'org:site:list',
  'env:ls': 'env:list',
  'backup:ls': 'backup:list',
  whoami: 'auth:whoami',
  ...IMPORT_ALIASES,
}

class Exit extends Error {
  /** @param {number} code */
  constructor(code) {
    super(`exit ${code}`)
    this.code = code
  }
}

/**
 * @typedef {{stdout: (s: string) => void, stderr: (s: string) => void}} Io
 */

/**
 * Run the stand-in. Returns the exit code. `bound.dir`: the state directory this copy belongs to (the
 * sandbox's own `bin/terminus` passes it), else $PBM_SANDBOX_DIR.
 * @param {string[]} argv @param {NodeJS.ProcessEnv} env @param {Io} io @param {{dir?: string}} [bound]
 */
export async function main(argv, env, io, bound = {}) {
  /** @type {Call} */
  const call = {dir: bound.dir ?? env.PBM_SANDBOX_DIR, command: undefined, target: null, throttled: false}
  let exitCode = 1
  try {
    await run(argv, env, io, call)
    exitCode = 0
  } catch (error) {
    if (error instanceof Exit) exitCode = error.code
    else io.stderr(` [error]  ${/** @type {Error} */ (error).message} \n`)
  }

  // 3.6+: after every command that ran, telemetry; when its post fails, ~106 s of retries, then an
  // [error] line that changes nothing about the exit code.
  if (call.terminus && postsTelemetry(call.terminus.version) && call.terminus.telemetryFails) {
    await terminusRetries(call.terminus.latencyScale)
    if (!call.quiet) io.stderr(` [error]  ${TELEMETRY_ERROR} \n`)
  }

  if (call.dir && call.command) {
    const {dir, command, target, throttled} = call
    const envNames = Object.keys(env).sort()
    recordCall(dir, {time: Date.now(), pid: process.pid, command, target, exitCode, throttled, env: envNames})
  }

  return exitCode
}

/** Real Terminus' silent retrying (~106 s), scaled. @param {number} scale */
async function terminusRetries(scale) {
  const ms = Math.round(TERMINUS_RETRY_MS * scale)
  if (ms > 0) await sleep(ms)
}

/**
 * What the call log records about this call, filled in as run() learns it; `terminus` once the
 * settings are read (the version impersonated), `quiet` under -q.
 * @typedef {{dir: string | undefined, command: string | undefined, target: string | null, throttled: boolean,
 *   terminus?: import('./versions.js').TerminusSettings, quiet?: boolean}} Call
 */

/**
 * @param {string[]} argv @param {NodeJS.ProcessEnv} env @param {Io} io @param {Call} call
 */
async function run(argv, env, io, call) {
  const quiet = argv.includes('-q') || argv.includes('--quiet')
  call.quiet = quiet
  const log = {
    /** @param {string} m */ notice: (m) => quiet || io.stderr(` [notice] ${m}\n`),
    /** @param {string} m */ warning: (m) => quiet || io.stderr(` [warning] ${m}\n`),
    /** @param {string} m */ error: (m) => quiet || io.stderr(` [error]  ${m} \n`),
  }
  const columns = Number(env.COLUMNS) > 0 ? Number(env.COLUMNS) : 80

  /** @param {string} message @param {{file?: string, line?: number, command?: string}} [o] */
  const box = (message, o = {}) => {
    io.stderr(renderBox(message, columns, o))
    throw new Exit(1)
  }

  /** @param {string} m */
  const fail = (m) => {
    log.error(m)
    throw new Exit(1)
  }

  // Parse argv the way Symfony does: options anywhere, `--` ends options.
  /** @type {string[]} */
  const positionals = []
  /** @type {Record<string, string|true>} */
  const opts = {}
  let version = false
  /** @type {string[]} */
  const unknown = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }

    if (a.startsWith('--')) {
      const eq = a.indexOf('=')
      const name = eq === -1 ? a.slice(2) : a.slice(2, eq)
      if (name === 'version') {
        version = true
        continue
      }

      if (VALUE_OPTIONS.has(name)) {
        if (eq === -1) {
          const next = argv[i + 1]
          if (next !== undefined && !next.startsWith('-')) {
            opts[name] = next
            i++
          } else opts[name] = true
        } else opts[name] = a.slice(eq + 1)
      } else if (FLAGS.has(name)) {
        // ignored
      } else {
        unknown.push(`--${name}`)
      }
    } else if (a.startsWith('-') && a.length > 1) {
      const name = a.slice(1)
      if (name === 'V') version = true
      else if (!FLAGS.has(name) && ![...name].every((c) => FLAGS.has(c))) unknown.push(`-${name[0]}`)
    } else {
      positionals.push(a)
    }
  }

  const {dir} = call
  const hasState = Boolean(dir && fs.existsSync(path.join(dir, 'config.json')))
  // Recorded as `--version` in the call log, so that tests can count how often it is asked.
  if (version && positionals.length === 0) {
    call.command = '--version'
    const settings = hasState ? terminusSettings(new State(/** @type {string} */ (dir)).settings(), env) : undefined
    io.stdout(`Terminus ${settings?.version ?? terminusSettings({}, env).version}\n`)
    return
  }

  if (!hasState) {
    fail('PBM_SANDBOX_DIR is not set to a sandbox state directory (this is the pbm sandbox terminus stand-in).')
  }

  const state = new State(/** @type {string} */ (dir))
  const settings = state.settings()
  const impersonated = terminusSettings(settings, env)
  if (settings.latencyMs > 0) await sleep(settings.latencyMs)
  if (version) {
    call.command = '--version'
    io.stdout(`Terminus ${impersonated.version}\n`)
    return
  }

  let command = positionals.shift()
  if (!command) {
    io.stdout(`Terminus ${impersonated.version}\n\nUsage:\n  command [options] [arguments]\n`)
    return
  }

  command = /** @type {Record<string,string>} */ (ALIASES)[command] ?? command
  Object.assign(call, {command, target: positionals[0] ?? null})
  if (!(command in SYNOPSIS)) {
    box(`Command "${command}" is not defined.`)
  }

  const synopsis = /** @type {Record<string,string>} */ (SYNOPSIS)[command]
  if (unknown.length > 0) box(`The "${unknown[0]}" option does not exist.`, {command: synopsis})
  for (const name of Object.keys(opts)) {
    if (!ALLOWED[command].includes(name)) box(`The "--${name}" option does not exist.`, {command: synopsis})
  }

  const argNames =
    /** @type {Record<string, string[]>} */ (IMPORT_ARGS)[command] ?? (ARG_NAME[command] ? [ARG_NAME[command]] : [])
  const missing = argNames.slice(positionals.length)
  if (missing.length > 0) box(`Not enough arguments (missing: "${missing.join(', ')}").`, {command: synopsis})
  if (positionals.length > argNames.length) {
    const expected = argNames.map((a) => `"${a}"`).join(' ') || '""'
    box(`Too many arguments to "${command}" command, expected arguments ${expected}.`, {command: synopsis})
  }

  const json = opts.format === 'json'
  const cfg = state.config

  // @authorize: everything but auth:* requires a session.
  if (!command.startsWith('auth:') && !state.session().loggedIn) {
    box('You are not logged in. Run `auth:login` to authenticate or `help auth:login` for more info.', {
      file: 'Authorizer.php',
      line: 37,
      command: synopsis,
    })
  }

  // From here on the command runs (a box above ends it before its body, and before telemetry).
  call.terminus = impersonated
  const refusal = await throttleCall({
    dir: /** @type {string} */ (dir),
    env,
    command,
    positionals,
  })
  if (refusal) {
    call.throttled = true
    // Terminus retries a 429 for ~106 s, printing nothing, before it gives up.
    if (refusal.retried) await terminusRetries(impersonated.latencyScale)
    if ('box' in refusal) box(refusal.box.message, refusal.box)
    else for (const line of refusal.errors) log.error(line)
    throw new Exit(1)
  }

  /** @param {string} siteName */
  const getSite = (siteName) => {
    const s = state.site(siteName)
    // The API's answer follows the colon (3.x since the site-names lookup).
    if (!s) fail(`Could not locate a site your user may access identified by ${siteName}: Not Found`)
    return /** @type {import('./state.js').SiteState} */ (s)
  }

  /** @param {string} siteEnv */
  const getSiteEnv = (siteEnv) => {
    const dot = siteEnv.indexOf('.')
    if (dot === -1) fail('The environment argument must be given as <site_name>.<environment>')
    const site = getSite(siteEnv.slice(0, dot))
    const envName = siteEnv.slice(dot + 1)
    const e = site.envs.find((x) => x.name === envName)
    if (!e) fail(`Could not find an environment identified by ${envName}.`)
    return {site, env: /** @type {import('./state.js').EnvState} */ (e)}
  }

  /**
   * Print rows keyed by id, honouring --format, --fields, --field.
   * @param {Record<string, Record<string, any>>} rows @param {string} emptyWarning
   */
  const printRows = (rows, emptyWarning) => {
    const keys = Object.keys(rows)
    if (keys.length === 0) log.warning(emptyWarning)
    let out = rows
    if (typeof opts.fields === 'string') {
      const fields = opts.fields.split(',').map((f) => f.trim())
      for (const f of fields) {
        const sample = Object.values(rows)[0]
        if (sample && !(f in sample)) fail(`The requested field, '${f}', is not defined.`)
      }

      out = Object.fromEntries(
        keys.map((k) => [k, Object.fromEntries(fields.filter((f) => f in rows[k]).map((f) => [f, rows[k][f]]))]),
      )
    }

    if (typeof opts.field === 'string') {
      const f = opts.field
      for (const k of keys) {
        if (!(f in rows[k])) fail(`The requested field, '${f}', is not defined.`)
        io.stdout(`${scalar(rows[k][f])}\n`)
      }

      return
    }

    if (json) {
      io.stdout(phpJson(keys.length === 0 ? [] : out) + '\n')
      return
    }

    if (keys.length > 0) io.stdout(table(Object.values(out)))
  }

  switch (command) {
    case 'auth:whoami': {
      const s = state.session()
      if (s.loggedIn) io.stdout(`${s.email}\n`)
      else log.notice('You are not logged in.')
      return
    }

    case 'auth:login': {
      const token = opts['machine-token']
      const {email} = opts
      if (typeof token === 'string') {
        log.notice('Logging in via machine token.')
        if (token !== cfg.user.token) fail('No user ID. Please login via terminus auth:login')
        state.setSession({loggedIn: true, email: cfg.user.email})
        return
      }

      if (typeof email === 'string') {
        if (email !== cfg.user.email) fail(`Could not find a saved token identified by ${email}.`)
        log.notice('Logging in via machine token.')
        state.setSession({loggedIn: true, email: cfg.user.email})
        return
      }

      if (state.session().loggedIn) {
        log.notice('Logging in via machine token.')
        return
      }

      fail('You must provide either an email address of a saved machine token or a machine token with --machine-token.')
      return
    }

    case 'auth:logout': {
      state.setSession({loggedIn: false, email: null})
      log.notice('Your saved machine tokens have been deleted and you have been logged out.')
      return
    }

    case 'site:list':
    case 'org:site:list': {
      let {sites} = cfg
      if (command === 'org:site:list') {
        const orgArg = /** @type {string} */ (positionals[0])
        const org = cfg.orgs.find((o) => o.name === orgArg || o.id === orgArg)
        if (!org) fail(`Could not find an organization identified by ${orgArg}.`)
        sites = sites.filter((s) => s.org === org?.name)
      } else if (typeof opts.org === 'string') {
        const org = cfg.orgs.find((o) => o.name === opts.org || o.id === opts.org)
        sites = sites.filter((s) => org && s.org === org.name)
      }

      if (typeof opts.tag === 'string') sites = sites.filter((s) => s.tags.includes(/** @type {string} */ (opts.tag)))
      /** @type {Record<string, Record<string, any>>} */
      const rows = {}
      for (const s of sites) {
        const org = cfg.orgs.find((o) => o.name === s.org)
        rows[s.id] =
          command === 'site:list'
            ? {
                name: s.name,
                id: s.id,
                plan_name: s.plan,
                framework: s.framework,
                region: s.region,
                owner: cfg.user.id,
                created: s.created,
                memberships: org ? `${org.id}: ${org.name}` : `${cfg.user.id}: Team`,
                frozen: s.frozen,
              }
            : {
                name: s.name,
                id: s.id,
                plan_name: s.plan,
                framework: s.framework,
                owner: cfg.user.id,
                created: s.created,
                tags: s.tags.join(','),
                frozen: s.frozen,
              }
      }

      applyFilter(rows, opts.filter, filterMatch)
      printRows(rows, command === 'site:list' ? 'You have no sites.' : 'This organization has no sites.')
      return
    }

    case 'env:list': {
      const site = getSite(/** @type {string} */ (positionals[0]))
      /** @type {Record<string, Record<string, any>>} */
      const rows = {}
      // A frozen site's test and live are left out of the list (backup:list/get of them still answer).
      if (site.frozen) log.warning('This site is frozen. Its test and live environments are unavailable.')
      for (const e of site.frozen ? site.envs.filter((x) => x.name === 'dev') : site.envs) {
        rows[e.name] = {
          id: e.name,
          created: e.created,
          domain: `${e.name}-${site.name}.pantheonsite.io`,
          connection_mode: e.name === 'dev' ? 'sftp' : 'git',
          locked: e.locked,
          initialized: e.initialized,
        }
      }

      applyFilter(rows, opts.filter, filterMatch)
      printRows(rows, 'You have no environments.')
      return
    }

    case 'backup:list': {
      const {site, env: e} = getSiteEnv(/** @type {string} */ (positionals[0]))
      let backups = state.backups(site.name, e.name)
      if (typeof opts.element === 'string' && opts.element !== 'all') {
        const el = opts.element === 'db' ? 'database' : opts.element
        backups = backups.filter((b) => b.element === el)
      }

      /** @type {Record<string, Record<string, any>>} */
      const rows = {}
      for (const b of backups) rows[b.id] = row(b)
      if (typeof opts.filter === 'string') {
        const m = /^type=(.*)$/.exec(opts.filter)
        if (m) {
          const el = m[1] === 'db' ? 'database' : m[1]
          for (const b of backups) if (b.element !== el) delete rows[b.id]
        } else applyFilter(rows, opts.filter, filterMatch)
      }

      printRows(rows, 'You have no backups.')
      return
    }

    case 'backup:info':
    case 'backup:get': {
      const {site, env: e} = getSiteEnv(/** @type {string} */ (positionals[0]))
      const backups = state.backups(site.name, e.name)
      let element = typeof opts.element === 'string' ? opts.element : command === 'backup:get' ? 'files' : null
      if (element !== null) {
        if (element === 'all' && command === 'backup:get')
          fail('The backup element "all" is not supported for this command.')
        if (!['all', 'db', ...ELEMENTS].includes(element))
          fail('Element should be one of the following items: code, files, database, db')
        element = element === 'db' ? 'database' : element === 'all' ? null : element
      }

      let backup
      if (typeof opts.file === 'string') {
        const f = opts.file
        backup = backups.find((b) => b.file === f || b.id === f)
        if (!backup) fail(`Could not find a backup identified by ${f}.`)
      } else {
        const finished = backups
          .filter((b) => element === null || b.element === element)
          .sort((a, b) => b.date - a.date)
        if (finished.length === 0)
          fail(`No backups available. Create one with \`terminus backup:create ${site.name}.${e.name}\``)
        backup = finished[0]
      }

      const b = /** @type {import('./state.js').BackupRecord} */ (backup)
      const url = state.signedUrl(b)
      if (command === 'backup:info') {
        const info = {...row(b), url}
        if (typeof opts.field === 'string') {
          if (!(opts.field in info)) fail(`The requested field, '${opts.field}', is not defined.`)
          io.stdout(`${scalar(/** @type {any} */ (info)[opts.field])}\n`)
        } else if (json) io.stdout(phpJson(info) + '\n')
        else io.stdout(propertyList(info))
        return
      }

      if (typeof opts.to !== 'string') {
        io.stdout(url + '\n')
        return
      }

      let target = opts.to
      if (fs.existsSync(target) && fs.statSync(target).isDirectory()) target = path.join(target, b.file)
      if (fs.existsSync(target)) fail(`Target file ${target} already exists.`)
      await download(url, target)
      return
    }

    case 'backup:create': {
      const {site, env: e} = getSiteEnv(/** @type {string} */ (positionals[0]))
      if (site.frozen) {
        fail(
          'This site is frozen. Its test and live environments and many commands will be unavailable while it remains frozen.',
        )
      }

      const elArg = typeof opts.element === 'string' ? opts.element : 'all'
      if (!['all', 'db', ...ELEMENTS].includes(elArg))
        fail('Element should be one of the following items: code, files, database, db, all')
      const el = elArg === 'db' ? 'database' : elArg
      const elements = el === 'all' ? [...ELEMENTS] : [el]
      const keep = typeof opts['keep-for'] === 'string' ? Number.parseInt(opts['keep-for'], 10) : 365
      if (!Number.isFinite(keep) || keep < 1) fail('The keep-for option must be a positive number of days.')
      const started = Math.floor(Date.now() / 1000)
      if (settings.createMs > 0) await sleep(settings.createMs)
      // The workflow's result: before 3.5, a non-interactive run never looks at it.
      const failure = site.createFails ?? (e.initialized ? null : 'Workflow failed.')
      if (failure) {
        if (reportsWorkflowFailures(impersonated.version)) fail(failure)
        log.notice(`Created a backup of the ${e.name} environment.`)
        return
      }

      const added = await state.addBackups(site.name, e.name, (existing) => {
        let epoch = started
        const taken = new Set(existing.map((x) => x.folder))
        while (taken.has(`${epoch}_backup`)) epoch++
        const newest = [...existing].sort((a, b) => b.date - a.date)
        return elements.map((element) =>
          makeRecord({
            site: site.name,
            env: e.name,
            epoch,
            initiator: 'manual',
            element,
            size: newest.find((x) => x.element === element)?.size ?? DEFAULT_SIZES[/** @type {'code'} */ (element)],
            keepForDays: keep,
            finishedAt: Math.max(epoch, Date.now() / 1000),
          }),
        )
      })
      for (const r of added) if (r.size <= EAGER_HASH_LIMIT / 8) state.hashes(r)
      log.notice(`Created a backup of the ${e.name} environment.`)
      return
    }

    case 'import:database':
    case 'import:files': {
      const legacy = !reportsWorkflowFailures(impersonated.version)
      await runImport({command, argv, positionals, state, log, fail, box, getSiteEnv, stdout: io.stdout, legacy})
      return
    }

    default: {
      box(`Command "${command}" is not defined.`)
    }
  }
}

/** @param {string} field @param {string} value @param {Record<string, any>} r */
function filterMatch(field, value, r) {
  return String(r[field]) === value
}

/** @param {import('./state.js').BackupRecord} b */
function row(b) {
  return {file: b.file, size: sizeMb(b.size), date: b.date, expiry: b.expiry, initiator: b.initiator}
}

/** Terminus's Backup::getSizeInMb. @param {number} bytes */
export function sizeMb(bytes) {
  if (!bytes) return '0'
  const mb = bytes / 1048576
  if (mb > 0.1) return `${mb.toFixed(1)}MB`
  return '0.1MB'
}

/**
 * @param {Record<string, Record<string, any>>} rows @param {string|true|undefined} filter
 * @param {(f: string, v: string, r: Record<string, any>) => boolean} match
 */
function applyFilter(rows, filter, match) {
  if (typeof filter !== 'string') return
  const m = /^([^=]+)=(.*)$/.exec(filter)
  if (!m) return
  for (const k of Object.keys(rows)) if (!match(m[1], m[2], rows[k])) delete rows[k]
}

/** @param {unknown} v */
function scalar(v) {
  if (v === null || v === undefined) return ''
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  return String(v)
}

/** PHP json_encode(JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES). @param {unknown} v */
export function phpJson(v) {
  return JSON.stringify(v, null, 4).replaceAll(
    /[\u007F-\uFFFF]/g,
    (c) => `\\u${/** @type {number} */ (c.codePointAt(0)).toString(16).padStart(4, '0')}`,
  )
}

/** A plain Symfony-style table. @param {Record<string, any>[]} rows */
function table(rows) {
  const heads = Object.keys(rows[0]).map((k) =>
    k
      .split('_')
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join(' '),
  )
  const data = rows.map((r) => Object.values(r).map((v) => scalar(v)))
  const widths = heads.map((h, i) => Math.max(h.length, ...data.map((d) => d[i].length)))
  const sep = ' ' + widths.map((w) => '-'.repeat(w + 2)).join(' ') + ' \n'
  /** @param {string[]} cells */
  const line = (cells) => ' ' + cells.map((c, i) => ` ${c.padEnd(widths[i])} `).join(' ') + ' \n'
  return sep + line(heads) + sep + data.map((d) => line(d)).join('') + sep
}

/** @param {Record<string, any>} obj */
function propertyList(obj) {
  const keys = Object.keys(obj).map((k) => k[0].toUpperCase() + k.slice(1))
  const vals = Object.values(obj).map((v) => scalar(v))
  const kw = Math.max(...keys.map((k) => k.length))
  const vw = Math.max(...vals.map((v) => v.length))
  const sep = ` ${'-'.repeat(kw + 2)} ${'-'.repeat(vw + 2)} \n`
  return sep + keys.map((k, i) => `  ${k.padEnd(kw)}   ${vals[i]}\n`).join('') + sep
}

/**
 * Symfony's renderThrowable, as with --no-ansi and normal verbosity.
 * @param {string} message @param {number} columns @param {{file?: string, line?: number, command?: string}} o
 */
export function renderBox(message, columns, o) {
  const width = columns - 4
  /** @type {string[]} */
  const lines = []
  for (const l of message.split(/\r?\n/)) {
    for (let i = 0; i < Math.max(1, l.length); i += width) lines.push(l.slice(i, i + width))
  }

  const len = Math.max(...lines.map((l) => l.length + 4))
  const empty = ' '.repeat(len)
  let out = '\n'
  if (o.file) out += `In ${o.file} line ${o.line}:\n`
  out += empty + '\n'
  for (const l of lines) out += `  ${l}  ${' '.repeat(len - l.length - 4)}\n`
  out += empty + '\n\n'
  if (o.command) out += `${o.command}\n\n`
  return out
}

/** Like Terminus's Request::download: no status check, whatever the body is gets saved. @param {string} url @param {string} target */
function download(url, target) {
  return new Promise((/** @type {(v?: unknown) => void} */ resolve, reject) => {
    http
      .get(url, (res) => {
        const out = fs.createWriteStream(target)
        res.pipe(out)
        out.on('finish', () => resolve())
        out.on('error', reject)
        res.on('error', reject)
      })
      .on('error', reject)
  })
}
