/**
 * bench/pod-limit: does `pbm backup:pick` of one large archive into S3 run under a container's memory
 * limit, and at what speed? Run by hand, as root, on Linux with the cgroup v1 memory controller at
 * /sys/fs/cgroup/memory (these machines; a Kubernetes node enforces a pod's limit the same way):
 *
 *   npm run build && node --import tsx bench/pod-limit.ts --limits 400,100,90,80 [--size 1e9]
 *
 * RSS (bench/memory) counts every resident page, ~45 MiB of which are the node binary's own clean,
 * file-backed pages; a memory cgroup charges them too but reclaims them under its limit, and kills only
 * when what it cannot reclaim (anonymous memory) does not fit. So the question a pod asks is answered in
 * a cgroup: per limit, a fresh cgroup (memory.limit_in_bytes, and memsw where the kernel has it), the
 * page cache dropped, and pbm started inside it from a private copy of the node binary, so that the
 * binary's pages are charged to it as in a fresh container (the bench's own node, s3rver and the sandbox
 * use the original). Reported: exit code, wall time, the most the cgroup was charged, OOM kills. A limit
 * too tight does not kill pbm: the kernel keeps evicting its code pages and it crawls (thrashing); a run
 * longer than --max-seconds (120) is stopped and reported as not fitting.
 */
import {execa} from 'execa'
import {copyFile, mkdir, readFile, rm, rmdir, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import {createSandbox} from '../sandbox/index.js'
import {S3RVER_ENV, startS3rver} from '../test/helpers/s3.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const CGROUPS = '/sys/fs/cgroup/memory'
const MiB = 1024 * 1024
const {values} = parseArgs({
  options: {
    limits: {default: '400,100,90,80', type: 'string'},
    'max-seconds': {default: '120', type: 'string'},
    size: {default: '1e9', type: 'string'},
  },
})
const size = Number(values.size)
const limits = values.limits.split(',').map(Number)

await readFile(`${CGROUPS}/memory.limit_in_bytes`).catch(() => {
  throw new Error(`bench/pod-limit needs root and the cgroup v1 memory controller at ${CGROUPS}`)
})
const nodeCopy = path.join(tmpdir(), `pbm-pod-limit-node-${process.pid}`)
await copyFile(process.execPath, nodeCopy)
await execa('chmod', ['755', nodeCopy])
const sandbox = await createSandbox({
  latencyMs: 0,
  sites: [
    {
      envs: [
        {
          backups: [
            {date: new Date(Date.now() - 3_600_000).toISOString(), elements: ['database'], sizes: {database: size}},
          ],
          name: 'dev',
        },
      ],
      name: 'big',
    },
  ],
})
const s3 = await startS3rver()
try {
  console.log(`bench/pod-limit: backup:pick of one ${(size / 1e9).toFixed(2)} GB archive into s3rver, per memory limit`)
  for (const [i, limit] of limits.entries()) {
    const bucket = `pod-${i}`
    await s3.createBucket(bucket)
    const cgroup = `${CGROUPS}/pbm-pod-limit-${process.pid}-${i}`
    await mkdir(cgroup)
    try {
      await writeFile(`${cgroup}/memory.limit_in_bytes`, String(limit * MiB))
      await writeFile(`${cgroup}/memory.memsw.limit_in_bytes`, String(limit * MiB)).catch(() => {})
      // Clean pages only: what cp wrote must be on disk before it can be dropped.
      await execa('sync')
      await writeFile('/proc/sys/vm/drop_caches', '1')
      const command =
        `echo $$ > ${cgroup}/cgroup.procs && exec ${nodeCopy} --max-semi-space-size=1 --expose-gc ` +
        `${ROOT}/bin/run.js backup:pick big.dev --element db --latest --bucket ${bucket} --yes`
      const started = performance.now()
      const run = await execa('sh', ['-c', command], {
        env: {
          ...process.env,
          ...S3RVER_ENV,
          ...sandbox.env,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          CI: 'true',
          PBM_ENDPOINT: s3.endpoint,
          PBM_TERMINUS: sandbox.terminusPath,
        },
        reject: false,
        // Under a limit too tight the kernel keeps dropping pbm's code pages and reading them back:
        // it crawls instead of being killed. Past this it counts as not fitting.
        timeout: Number(values['max-seconds']) * 1000,
      })
      const seconds = (performance.now() - started) / 1000
      const read = async (file: string) => (await readFile(`${cgroup}/${file}`, 'utf8')).trim()
      const charged = Number(await read('memory.max_usage_in_bytes')) / MiB
      const oomKills = /oom_kill (\d+)/.exec(await read('memory.oom_control'))?.[1] ?? '?'
      console.log(
        `limit ${limit} MiB: ${run.timedOut ? `did not finish in ${values['max-seconds']} s (thrashing), stopped` : `exit ${run.exitCode ?? run.signal}`}, ${seconds.toFixed(1)} s ` +
          `(${(size / 1e6 / seconds).toFixed(0)} MB/s), charged at most ${charged.toFixed(1)} MiB, OOM kills ${oomKills}`,
      )
      if (run.exitCode !== 0) console.log(`  ${String(run.stdout).trim().split('\n').at(-1)}`)
    } finally {
      await rmdir(cgroup).catch(() => {})
    }
  }
} finally {
  await Promise.allSettled([s3.stop(), sandbox.close(), rm(nodeCopy, {force: true})])
}
