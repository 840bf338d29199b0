/**
 * `pbm backup:restore` imports what it verified, never what was written under the key since: the built
 * CLI against moto (a versioned bucket and a plain one) behind a gate that holds one request, so the
 * object can be replaced at an exact point of the run: after verification, while Pantheon (the
 * sandbox's import:database) fetches the presigned URL, or just before the URL is signed.
 */
import {CreateBucketCommand, HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand} from '@aws-sdk/client-s3'
import {expect} from 'chai'
import {type Result} from 'execa'

import type {SandboxArchive} from '../../../sandbox/index.js'

import {createS3Client} from '../../../src/destination/s3-client.js'
import {daysAgo, json, startWorld, type World} from '../../helpers/cli.js'
import {
  type Gate,
  type GateRequest,
  MOTO_CREDENTIALS,
  type MotoServer,
  startGate,
  startMotoRestore,
} from '../../helpers/moto-restore.js'

const VERSIONED = 'pbm-versioned'
const PLAIN = 'pbm-plain'
/** alpha.live's newest mirrored database into alpha.dev. */
const NEWEST_DB_INTO_DEV = ['alpha.dev', '--from', 'alpha.live', '--latest', '--element', 'db']

function describeRun(result: Result): string {
  return `exit ${result.exitCode}\n--- stdout:\n${result.stdout}\n--- stderr:\n${result.stderr}`
}

/** Wait until the gate holds the request, or fail when pbm ends first. */
async function held(hold: Promise<GateRequest>, run: Promise<Result>): Promise<void> {
  await Promise.race([
    hold,
    run.then((result) => {
      throw new Error(`pbm ended before the gate held its request:\n${describeRun(result)}`)
    }),
  ])
}

describe('pbm backup:restore imports the verified object (built CLI, sandbox, moto)', function () {
  this.timeout(120_000)
  let world: World
  let moto: MotoServer
  let gate: Gate
  let s3: Awaited<ReturnType<typeof createS3Client>>
  /** alpha.live's newest database (mirrored) and the older one (the bytes that replace it). */
  let newest: SandboxArchive
  let older: SandboxArchive
  let env: Record<string, string>

  const imports = () => world.sandbox.imports('alpha', 'dev')
  const restoreNewestDb = (bucket: string) =>
    world.pbm(['backup:restore', ...NEWEST_DB_INTO_DEV, '--bucket', bucket, '--no-backup-first', '--yes', '--json'], {
      env,
    })

  /** Write the older archive under the newest one's key, with the newest one's pbm metadata (a perfect forgery). */
  async function replaceNewest(bucket: string): Promise<void> {
    const Key = `alpha/live/${newest.file}`
    const head = await s3.send(new HeadObjectCommand({Bucket: bucket, Key}))
    const Body = Buffer.concat([...world.sandbox.bytes(older.file)])
    await s3.send(new PutObjectCommand({Body, Bucket: bucket, Key, Metadata: head.Metadata}))
  }

  before(async () => {
    world = await startWorld({
      sites: [
        {envs: [{backups: [{date: daysAgo(4)}, {date: daysAgo(1)}], name: 'live'}, {name: 'dev'}], name: 'alpha'},
      ],
    })
    moto = await startMotoRestore()
    gate = await startGate(moto.endpoint)
    s3 = await createS3Client({credentials: MOTO_CREDENTIALS, endpoint: moto.endpoint, region: 'us-east-1'})
    await s3.send(new CreateBucketCommand({Bucket: VERSIONED}))
    await s3.send(new PutBucketVersioningCommand({Bucket: VERSIONED, VersioningConfiguration: {Status: 'Enabled'}}))
    await s3.send(new CreateBucketCommand({Bucket: PLAIN}))
    env = {
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      PBM_ENDPOINT: gate.endpoint,
    }
    for (const bucket of [VERSIONED, PLAIN]) {
      const mirrored = await world.pbm(
        ['backup:mirror', 'alpha.live', '--element', 'db', '--bucket', bucket, '--yes'],
        {
          env,
        },
      )
      expect(mirrored.exitCode, describeRun(mirrored)).to.equal(0)
    }

    const databases = world.sandbox
      .archives()
      .filter((a) => a.site === 'alpha' && a.env === 'live' && a.element === 'database')
      .sort((a, b) => b.date - a.date)
    ;[newest, older] = databases
    expect(newest.md5).to.not.equal(older.md5)
  })

  after(async () => {
    s3?.destroy()
    await gate?.close()
    await moto?.stop()
    await world?.close()
  })

  it('versioned bucket: the object replaced while Pantheon fetches; the import still gets the verified bytes', async () => {
    const before = imports().length
    const run = restoreNewestDb(VERSIONED)
    // Pantheon's fetch of the presigned URL: everything before it (verification, signing) is done.
    await held(
      gate.hold((r) => r.method === 'GET' && r.query.has('X-Amz-Signature') && r.path.endsWith(newest.file)),
      run,
    )
    await replaceNewest(VERSIONED)
    gate.release()
    const result = await run
    expect(result.exitCode, describeRun(result)).to.equal(0)
    const done = imports().slice(before)
    expect(done.map((i) => i.md5)).to.deep.equal([newest.md5])
  })

  it('plain bucket: the object replaced after verification, before signing: refused, nothing imported', async () => {
    const before = imports().length
    const run = restoreNewestDb(PLAIN)
    // The second look at the object (the first is the verification) is the check just before signing.
    const key = `/${PLAIN}/alpha/live/${newest.file}`
    await held(
      gate.hold((r) => r.method === 'HEAD' && r.path === key, 2),
      run,
    )
    await replaceNewest(PLAIN)
    gate.release()
    const result = await run
    expect(result.exitCode, describeRun(result)).to.equal(1)
    const row = json<{restored: Array<{error?: {code: string}; workflow: string}>}>(result).restored[0]
    expect(row).to.deep.include({workflow: 'failed'})
    expect(row.error?.code).to.equal('changed-since-verified')
    expect(imports().length).to.equal(before)
  })
})
