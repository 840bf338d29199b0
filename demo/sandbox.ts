/**
 * `npm run sandbox`: the demo's fake Pantheon and a local S3 server (s3rver), kept running in the
 * foreground until Ctrl-C, so that a person can try pbm by hand from a second shell. It prints the
 * lines to paste there: PATH (pbm and the sandbox's terminus), the S3 credentials, endpoint and bucket.
 */
import {execa} from 'execa'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, rm, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {createSandbox} from '../sandbox/index.js'
import {outputWidth, wrapLine} from '../src/ui/fit.js'
import {ROOT} from '../test/helpers/cli.js'
import {S3RVER_ENV, startS3rver} from '../test/helpers/s3.js'
import {demoSpec} from './spec.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

// pbm runs the built dist/: build it once if `npm run demo` (or `npm run build`) has not.
if (!existsSync(path.join(ROOT, 'dist', 'commands'))) {
  console.error('Building pbm first (npm run build)...')
  await execa('npm', ['run', 'build'], {cwd: ROOT, stdio: 'inherit'})
}

const bucket = 'try-backups'
const sandbox = await createSandbox(demoSpec())
const s3 = await startS3rver()
await s3.createBucket(bucket)
// One folder on PATH holds `pbm` (this checkout's bin/run.js) and the sandbox's `terminus`.
const bin = await mkdtemp(path.join(tmpdir(), 'pbm-try-'))
await mkdir(bin, {recursive: true})
await symlink(path.join(ROOT, 'bin', 'run.js'), path.join(bin, 'pbm'))
await symlink(sandbox.terminusPath, path.join(bin, 'terminus'))

const exports: Record<string, string> = {
  PATH: `${bin}:$PATH`,
  ...sandbox.env,
  AWS_ACCESS_KEY_ID: S3RVER_ENV.AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: S3RVER_ENV.AWS_SECRET_ACCESS_KEY,
  AWS_REGION: S3RVER_ENV.AWS_REGION,
  PBM_ENDPOINT: s3.endpoint,
  PBM_BUCKET: bucket,
}
/** A line of prose at the terminal's width, wrapped at words (whole when piped); the exports stay whole. */
const prose = (text: string) => wrapLine(text, outputWidth()).join('\n')
console.log(
  [
    prose(`The sandbox (a fake Pantheon: sites alpha, beta and the frozen gamma) and a local S3 server are running.`),
    prose(`Paste these lines into a second shell, then try pbm there (README: "Try it yourself"):`),
    '',
    ...Object.entries(exports).map(([name, value]) =>
      name === 'PATH' ? `export PATH="${value}"` : `export ${name}=${JSON.stringify(value)}`,
    ),
    '',
    prose(`Ctrl-C here stops both (the mirror in s3://${bucket} goes with them).`),
  ].join('\n'),
)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await Promise.allSettled([sandbox.close(), s3.stop(), rm(bin, {force: true, recursive: true})])
  console.log('Stopped the sandbox and the S3 server.')
  process.exit(0)
}

process.on('SIGINT', stop)
process.on('SIGTERM', stop)
