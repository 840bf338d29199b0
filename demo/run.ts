/**
 * `npm run demo`: the whole job on the built-in sandbox. Starts a fake Pantheon (three sites, one of
 * them frozen) and a local S3 server, mirrors every site's dev and live with --create under the live
 * task tree, then picks an older database backup by its filename into a local file, and prints where
 * everything landed. Nothing here talks to the real Pantheon or AWS.
 */
import {execa} from 'execa'
import {mkdir, rm} from 'node:fs/promises'
import path from 'node:path'

import {createSandbox} from '../sandbox/index.js'
import {outputWidth, shortenMiddle, wrapLine} from '../src/ui/fit.js'
import {ROOT} from '../test/helpers/cli.js'
import {S3RVER_ENV, startS3rver} from '../test/helpers/s3.js'
import {demoSpec, MB} from './spec.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

/** A line of prose at the terminal's width, wrapped at words (whole when piped). */
const say = (text: string) => console.log(wrapLine(text, outputWidth()).join('\n'))

const output = path.join(ROOT, 'demo-output')
await rm(output, {force: true, recursive: true})
await mkdir(output, {recursive: true})

say('Starting the sandbox (a fake Pantheon) and a local S3 server...')
const sandbox = await createSandbox({createMs: 4000, latencyMs: 300, ...demoSpec()})
const s3 = await startS3rver()
const bucket = 'demo-backups'
await s3.createBucket(bucket)

// Make the transfers visible: a slower link for the big archives, and one dropped connection that pbm resumes.
const stop = async () => {
  await Promise.allSettled([sandbox.close(), s3.stop()])
}

const env = {
  ...S3RVER_ENV,
  ...sandbox.env,
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  PBM_ENDPOINT: s3.endpoint,
  PBM_PROGRESS_INTERVAL: '1',
  PBM_TERMINUS: sandbox.terminusPath,
}
const pbm = async (args: string[]) => {
  console.log()
  say(`$ pbm ${args.join(' ')}`)
  console.log()
  const result = await execa(process.execPath, [path.join(ROOT, 'bin', 'run.js'), ...args], {
    cwd: output,
    env,
    reject: false,
    stdio: 'inherit',
  })
  return result.exitCode
}

try {
  // backup:create adds a new set for every site.env; throttle and fault the archives it will serve.
  const throttle = () => {
    for (const archive of sandbox.archives()) {
      if (archive.size >= 20 * MB) sandbox.setFault(archive.file, {rateBytesPerSec: 12 * MB})
    }
  }

  throttle()
  const timer = setInterval(throttle, 500)
  const mirrorExit = await pbm([
    'backup:mirror',
    '--site',
    'alpha',
    '--site',
    'beta',
    '--site',
    'gamma',
    '--create',
    '--bucket',
    `s3://${bucket}/pantheon`,
    '--yes',
  ])
  clearInterval(timer)

  // The oldest database backup of alpha.live, by its filename, as `terminus backup:list` shows it.
  const [older] = sandbox
    .archives()
    .filter((a) => a.site === 'alpha' && a.env === 'live' && a.element === 'database')
    .sort((a, b) => a.folder.localeCompare(b.folder))
  sandbox.setFault(older.file, {dropAfter: 5 * MB})
  const pickExit = await pbm([
    'backup:pick',
    'alpha.live',
    '--file',
    older.file,
    '--to',
    path.join(output, 'alpha-live-older.sql.gz'),
    '--yes',
  ])

  console.log('\nWhere everything landed:')
  // At a terminal, long keys are shortened in the middle (as pbm's tables do); piped, they stay whole.
  const width = outputWidth()
  const landed = [
    ...(await s3.listKeys(bucket)).map((key) => `s3://${bucket}/${key}`),
    path.join(output, 'alpha-live-older.sql.gz'),
  ]
  for (const where of landed) console.log(`  ${width > 0 ? shortenMiddle(where, width - 2) : where}`)
  console.log()
  say(
    `The mirror ${mirrorExit === 0 ? 'succeeded' : `exited ${mirrorExit}`} (gamma is frozen: no new backup, its listed ones mirrored); the pick ${pickExit === 0 ? 'succeeded' : `exited ${pickExit}`}.`,
  )
  process.exitCode = mirrorExit || pickExit
} finally {
  await stop()
}

// Said once they are stopped, so the last line never points at a sandbox that is gone.
say('The sandbox and the S3 server are stopped.')
say('To try pbm yourself: npm run sandbox (README: "Try it yourself").')
