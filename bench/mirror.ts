/**
 * bench/mirror: `pbm backup:mirror --create` against a faithful re-enactment of the seed script
 * (pantheon-backup-to-s3.sh, see bench/seed-script.sh), both on the sandbox with realistic Terminus
 * latency, for 4 sites × dev, live × code, files, db. Run by hand, never in tests:
 *
 *   npx tsc -b && node --import tsx bench/mirror.ts [--sites 4] [--latency 1000] [--create-ms 20000] [--mb 2,4,1]
 *   node --import tsx bench/mirror.ts --quick          # a short smoke run of the bench itself
 *   node --import tsx bench/mirror.ts --no-aws         # baseline uploads with the PutObject loop even if aws is installed
 *
 * One sandbox (terminus stand-in + archive server, in this process) and one s3rver (a child), two
 * buckets. baseline: bash bench/seed-script.sh with the sandbox's terminus first on PATH, uploading its
 * folder with `aws s3 sync` if an aws CLI is installed, else a serial PutObject loop (this file with
 * --upload-folder). pbm: the built CLI (bin/run.js over dist/). Both results are checked: all archives,
 * exact bytes (MD5 against the sandbox), and for pbm the right keys and only the backups it created.
 * Target: pbm at least 5x faster.
 */
import {execa} from 'execa'
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {createSandbox, type SandboxArchive} from '../sandbox/index.js'
import {S3RVER_CREDENTIALS, S3RVER_ENV, startS3rver} from '../test/helpers/s3.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const MB = 1024 * 1024

const {positionals, values} = parseArgs({
  allowPositionals: true,
  options: {
    'create-ms': {default: '20000', type: 'string'},
    latency: {default: '1000', type: 'string'},
    mb: {default: '2,4,1', type: 'string'},
    'no-aws': {default: false, type: 'boolean'},
    quick: {default: false, type: 'boolean'},
    sites: {default: '4', type: 'string'},
    'upload-folder': {default: false, type: 'boolean'},
  },
})

const main = values['upload-folder'] ? () => uploadFolder(positionals[0], positionals[1]) : bench
await main()

/** The baseline's fallback uploader: every file of DIR into BUCKET, one PutObject after the other. */
async function uploadFolder(dir: string, bucket: string): Promise<void> {
  const {PutObjectCommand, S3Client} = await import('@aws-sdk/client-s3')
  const client = new S3Client({
    credentials: S3RVER_CREDENTIALS,
    endpoint: process.env.S3ENDPOINT,
    forcePathStyle: true,
    region: 'us-east-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  for (const name of (await readdir(dir)).sort()) {
    await client.send(new PutObjectCommand({Body: await readFile(path.join(dir, name)), Bucket: bucket, Key: name}))
    console.log(`upload: ${name} to s3://${bucket}/${name}`)
  }
}

async function bench(): Promise<void> {
  const {quick} = values
  const siteCount = Number(values.sites)
  const latencyMs = quick ? 100 : Number(values.latency)
  const createMs = quick ? 1000 : Number(values['create-ms'])
  const [codeMb, filesMb, dbMb] = (quick ? '0.2,0.3,0.1' : values.mb).split(',').map(Number)
  const sizes = {code: Math.round(codeMb * MB), database: Math.round(dbMb * MB), files: Math.round(filesMb * MB)}
  const sites = Array.from({length: siteCount}, (_, i) => `site-${i + 1}`)
  const envs = ['dev', 'live']
  const archiveCount = sites.length * envs.length * 3

  // pbm runs from dist/, like an installed CLI: build it first.
  const build = await execa('npx', ['tsc', '-b'], {cwd: ROOT, reject: false, stdio: 'inherit'})
  if (build.exitCode !== 0) {
    console.error(`bench/mirror: the build (npx tsc -b) failed with exit ${build.exitCode}; nothing was measured.`)
    process.exitCode = 1
    return
  }

  const email = 'bench@example.com'
  const yesterday = new Date(Date.now() - 86_400_000).toISOString()
  const sandbox = await createSandbox({
    createMs,
    latencyMs,
    sites: sites.map((name) => ({envs: envs.map((env) => ({backups: [{date: yesterday, sizes}], name: env})), name})),
    user: {email},
  })
  const s3 = await startS3rver()
  const work = await mkdtemp(path.join(tmpdir(), 'pbm-bench-mirror-'))
  try {
    await s3.createBucket('baseline')
    await s3.createBucket('pbm')
    console.log(
      `bench/mirror: ${sites.length} sites × ${envs.length} envs × 3 elements = ${archiveCount} archives of ` +
        `${codeMb}/${filesMb}/${dbMb} MB (code/files/db); Terminus latency ${latencyMs} ms a call, backup:create ${createMs / 1000} s`,
    )

    // baseline: the seed script, with the sandbox's terminus first on PATH.
    const backupDir = path.join(work, 'backups') + '/'
    await execa('mkdir', ['-p', backupDir])
    const baselineLog = path.join(work, 'baseline.log')
    console.log('\nbaseline: bench/seed-script.sh (serial create, serial backup:get --to, then upload) ...')
    const t0 = performance.now()
    const baseline = await execa('bash', [path.join(ROOT, 'bench', 'seed-script.sh')], {
      all: true,
      env: {
        ...S3RVER_ENV,
        ...sandbox.env,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        BACKUPDIR: backupDir,
        PATH: `${path.dirname(sandbox.terminusPath)}:${process.env.PATH}`,
        S3BUCKET: 'baseline',
        S3ENDPOINT: s3.endpoint,
        SITEENVS: envs.join(' '),
        SITENAMES: sites.join(' '),
        NO_AWS: values['no-aws'] ? '1' : '',
        TERMINUSUSER: email,
        UPLOADER: `${process.execPath} --import tsx ${path.join(ROOT, 'bench', 'mirror.ts')} --upload-folder`,
      },
      reject: false,
    })
    const baselineSeconds = (performance.now() - t0) / 1000
    await writeLog(baselineLog, String(baseline.all))
    const uploader =
      /^upload: (aws s3 sync \(.*\)|serial PutObject loop.*)$/m.exec(String(baseline.all))?.[1] ?? 'unknown'
    if (baseline.exitCode !== 0)
      console.log(`baseline exited ${baseline.exitCode}; log: ${baselineLog}\n${tail(String(baseline.all))}`)
    const baselineCheck = await checkBaseline(sandbox.archives(), sites, envs)

    // pbm: the built CLI, creates overlapped under --create-concurrency (default 8).
    const before = new Set(sandbox.archives().map((a) => a.file))
    const pbmLog = path.join(work, 'pbm.log')
    const args = [
      'backup:mirror',
      ...sites.flatMap((s) => ['--site', s]),
      ...envs.flatMap((e) => ['--env', e]),
      '--create',
      '--bucket',
      'pbm',
      '--yes',
    ]
    console.log(`pbm: pbm ${args.join(' ')} ...`)
    const t1 = performance.now()
    // Under /usr/bin/time -v when it exists, for pbm's peak RSS (bin/run.js runs with its shebang's node flags).
    const timed = existsSync('/usr/bin/time')
    const runJs = path.join(ROOT, 'bin', 'run.js')
    const pbm = await execa(
      timed ? '/usr/bin/time' : process.execPath,
      timed ? ['-v', runJs, ...args] : [runJs, ...args],
      {
        all: true,
        env: {
          ...S3RVER_ENV,
          ...sandbox.env,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          CI: 'true',
          NO_COLOR: '1',
          PBM_ENDPOINT: s3.endpoint,
          PBM_TERMINUS: sandbox.terminusPath,
        },
        reject: false,
      },
    )
    const pbmSeconds = (performance.now() - t1) / 1000
    const peakKb = /Maximum resident set size \(kbytes\): (\d+)/.exec(String(pbm.all))?.[1]
    await writeLog(pbmLog, String(pbm.all))
    if (pbm.exitCode !== 0) console.log(`pbm exited ${pbm.exitCode}; log: ${pbmLog}\n${tail(String(pbm.all))}`)
    const made = sandbox.archives().filter((a) => !before.has(a.file))
    const pbmCheck = await checkPbm(made, sites, envs)

    // What the sandbox makes the floor of each: Terminus calls and creates that must happen in order.
    const serialFloor = (1 + sites.length * envs.length * (1 + 3)) * latencyMs + sites.length * envs.length * createMs
    const ratio = baselineSeconds / pbmSeconds
    console.log('')
    console.log(
      table([
        ['run', 'wall time', 'archives', 'exact bytes', 'exit', 'notes'],
        [
          'baseline (seed script)',
          `${baselineSeconds.toFixed(1)} s`,
          `${baselineCheck.found}/${archiveCount}`,
          baselineCheck.exact ? 'yes' : 'NO',
          String(baseline.exitCode),
          `upload: ${uploader}; floor of its Terminus calls ${(serialFloor / 1000).toFixed(0)} s`,
        ],
        [
          'pbm backup:mirror --create',
          `${pbmSeconds.toFixed(1)} s`,
          `${pbmCheck.found}/${archiveCount}`,
          pbmCheck.exact ? 'yes' : 'NO',
          String(pbm.exitCode),
          `${pbmSummary(String(pbm.all))}${peakKb ? `; peak RSS ${(Number(peakKb) / 1024).toFixed(0)} MiB` : ''}`,
        ],
      ]),
    )
    console.log(`\nratio: pbm is ${ratio.toFixed(1)}x faster (target >= 5x): ${ratio >= 5 ? 'met' : 'NOT met'}`)
    for (const problem of [...baselineCheck.problems, ...pbmCheck.problems].slice(0, 10)) console.log(`  ! ${problem}`)
    console.log(`logs: ${baselineLog}, ${pbmLog} (removed at exit unless PBM_BENCH_KEEP=1)`)
    if (
      !baselineCheck.exact ||
      !pbmCheck.exact ||
      baselineCheck.found !== archiveCount ||
      pbmCheck.found !== archiveCount
    )
      process.exitCode = 1
  } finally {
    await Promise.allSettled([sandbox.close(), s3.stop()])
    if (process.env.PBM_BENCH_KEEP === '1') console.log(`kept ${work}`)
    else await rm(work, {force: true, recursive: true})
  }

  /** Each baseline object `<site>.<env>.<element>.<date>.<ext>` holds the newest archive of its kind. */
  async function checkBaseline(archives: SandboxArchive[], siteNames: string[], envNames: string[]) {
    const problems: string[] = []
    let found = 0
    let exact = true
    const keys = await s3.listKeys('baseline')
    for (const site of siteNames) {
      for (const env of envNames) {
        for (const element of ['code', 'files', 'database'] as const) {
          const short = element === 'database' ? 'db' : element
          const ext = element === 'database' ? 'sql.gz' : 'tar.gz'
          const key = keys.find((k) => k.startsWith(`${site}.${env}.${short}.`) && k.endsWith(`.${ext}`))
          const source = newest(archives.filter((a) => a.site === site && a.env === env && a.element === element))
          if (!key || !source) {
            problems.push(`baseline: no ${site}.${env} ${short} object`)
            exact = false
            continue
          }

          found++
          const body = await s3.getObject('baseline', key)
          if (!body || md5(body) !== source.md5) {
            problems.push(`baseline: ${key} differs from ${source.file}`)
            exact = false
          }
        }
      }
    }

    return {exact, found, problems}
  }

  /** pbm's bucket holds exactly the archives its creates made, at `<site>/<env>/<file>`, byte for byte. */
  async function checkPbm(made: SandboxArchive[], siteNames: string[], envNames: string[]) {
    const problems: string[] = []
    let exact = true
    const keys = await s3.listKeys('pbm')
    const expected = made.map((a) => `${a.site}/${a.env}/${a.file}`).sort()
    const perTarget = siteNames.flatMap((site) =>
      envNames.map((env) => made.filter((a) => a.site === site && a.env === env).length),
    )
    if (perTarget.some((n) => n !== 3)) {
      problems.push(`pbm: the creates made ${perTarget.join('/')} archives per site.env, not 3 each`)
      exact = false
    }

    if (JSON.stringify(keys) !== JSON.stringify(expected)) {
      problems.push(
        `pbm: bucket keys differ from the created archives (${keys.length} keys, ${expected.length} created)`,
      )
      exact = false
    }

    let found = 0
    for (const archive of made) {
      const body = await s3.getObject('pbm', `${archive.site}/${archive.env}/${archive.file}`)
      if (!body) continue
      found++
      if (md5(body) !== archive.md5) {
        problems.push(`pbm: ${archive.file} differs`)
        exact = false
      }
    }

    return {exact, found, problems}
  }
}

function newest(archives: SandboxArchive[]): SandboxArchive | undefined {
  return [...archives].sort((a, b) => b.date - a.date)[0]
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex')
}

function pbmSummary(output: string): string {
  return /\d+ transferred, \d+ skipped, \d+ failed[^\n]*/.exec(output)?.[0] ?? ''
}

function tail(text: string, lines = 15): string {
  return text.split('\n').slice(-lines).join('\n')
}

async function writeLog(file: string, text: string): Promise<void> {
  const {writeFile} = await import('node:fs/promises')
  await writeFile(file, text)
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n')
}
