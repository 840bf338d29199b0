import {Ajv} from 'ajv'
import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parse, parseAllDocuments} from 'yaml'

import {cronJobSchema, workflowSchema} from './schemas.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const read = (file: string) => readFileSync(path.join(root, file), 'utf8')

// Parsed YAML: its shape is what the schemas check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any

const ajv = new Ajv({allErrors: true, allowUnionTypes: true, strict: true})
const validCronJob = ajv.compile(cronJobSchema)
const validWorkflow = ajv.compile(workflowSchema)

function errorsOf(valid: typeof validCronJob, doc: Doc): string {
  return valid(doc) ? '' : ajv.errorsText(valid.errors)
}

function load(): Doc {
  return parse(read('deploy/github-actions/mirror.yml'))
}

function loadCronJob(): Doc {
  const docs = parseAllDocuments(read('deploy/kubernetes/cronjob.yaml'))
  expect(docs).to.have.length(1)
  expect(docs[0].errors).to.deep.equal([])
  return docs[0].toJS()
}

describe('deploy recipes', () => {
  describe('kubernetes/cronjob.yaml', () => {
    it('is a CronJob that the strict schema accepts', () => {
      expect(errorsOf(validCronJob, loadCronJob())).to.equal('')
    })

    it('fails the schema on a misspelled or misplaced field', () => {
      const typo = loadCronJob()
      typo.spec.jobTemplate.spec.backoffLimitPerIndx = typo.spec.jobTemplate.spec.backoffLimitPerIndex
      delete typo.spec.jobTemplate.spec.backoffLimitPerIndex
      expect(errorsOf(validCronJob, typo)).to.include('must NOT have additional properties')
      const misplaced = loadCronJob()
      misplaced.spec.jobTemplate.spec.template.spec.containers[0].restartPolicy = 'Never'
      expect(errorsOf(validCronJob, misplaced)).to.include('must NOT have additional properties')
      const badAction = loadCronJob()
      badAction.spec.jobTemplate.spec.podFailurePolicy.rules[0].action = 'FailIdx'
      expect(errorsOf(validCronJob, badAction)).to.include('must be equal to one of the allowed values')
    })

    it('runs an Indexed Job whose pods take shard JOB_COMPLETION_INDEX+1 of completions', () => {
      const job = loadCronJob().spec.jobTemplate.spec
      expect(job.completionMode).to.equal('Indexed')
      expect(job.parallelism).to.be.at.most(job.completions)
      expect(job.backoffLimitPerIndex).to.be.at.least(1)
      const pod = job.template.spec
      expect(pod.restartPolicy).to.equal('Never')
      const [c] = pod.containers
      const env = Object.fromEntries(c.env.map((e: Doc) => [e.name, e]))
      expect(env.PBM_SHARD_COUNT.value).to.equal(String(job.completions))
      const script = c.args.join(' ')
      expect(script).to.include('--shard "$((JOB_COMPLETION_INDEX + 1))/$PBM_SHARD_COUNT"')
      expect(script).to.match(/terminus auth:login --email="\$TERMINUS_USER" > \/dev\/null; exec pbm backup:mirror/)
    })

    it('fails the schema without seccompProfile RuntimeDefault, automountServiceAccountToken false or runAsNonRoot', () => {
      const cases: Array<(pod: Doc) => void> = [
        (pod) => delete pod.automountServiceAccountToken,
        (pod) => {
          pod.automountServiceAccountToken = true
        },
        (pod) => delete pod.securityContext.seccompProfile,
        (pod) => {
          pod.securityContext.seccompProfile.type = 'Unconfined'
        },
        (pod) => delete pod.securityContext.runAsNonRoot,
        (pod) => delete pod.securityContext,
      ]
      for (const change of cases) {
        const doc = loadCronJob()
        change(doc.spec.jobTemplate.spec.template.spec)
        expect(errorsOf(validCronJob, doc), change.toString()).to.not.equal('')
      }
    })

    it('does not retry usage errors and does not count evictions', () => {
      const {rules} = loadCronJob().spec.jobTemplate.spec.podFailurePolicy
      const failIndex = rules.find((r: Doc) => r.action === 'FailIndex')
      expect(failIndex.onExitCodes).to.deep.include({containerName: 'pbm', operator: 'In'})
      expect(failIndex.onExitCodes.values).to.include(2)
      const ignore = rules.find((r: Doc) => r.action === 'Ignore')
      expect(ignore.onPodConditions).to.deep.equal([{type: 'DisruptionTarget'}])
    })

    it('reads the machine token from a mounted Secret file, never from an argument or the environment', () => {
      const pod = loadCronJob().spec.jobTemplate.spec.template.spec
      const [c] = pod.containers
      const volume = pod.volumes.find((v: Doc) => v.secret?.secretName === 'pbm-terminus')
      expect(volume.secret.items).to.deep.equal([{key: 'machine-token', path: 'machine-token'}])
      // Not readable by others (0440: root and the pod's fsGroup).
      expect(volume.secret.defaultMode & 0o007).to.equal(0)
      const mount = c.volumeMounts.find((m: Doc) => m.name === volume.name)
      expect(mount.readOnly).to.equal(true)
      const tokenFile = `${mount.mountPath}/machine-token`
      // Only shell built-ins (read, printf) hold the token: it is never a process's argument.
      const script = c.args.join(' ')
      expect(script).to.include(`IFS= read -r token < ${tokenFile}`)
      expect(script).to.match(
        /printf '[^']*' "\$TERMINUS_USER" "\$token"\s+> "\$HOME\/\.terminus\/cache\/tokens\/\$TERMINUS_USER"/,
      )
      expect(script.match(/\$token/g)).to.have.length(2) // [ -n "$token" ] (a file without a final newline) and printf
      expect(script).to.not.match(/--machine-token|TERMINUS_MACHINE_TOKEN/)
      expect(c.env.map((e: Doc) => e.name)).to.not.include('TERMINUS_MACHINE_TOKEN')
      expect(c.env.filter((e: Doc) => e.valueFrom?.secretKeyRef?.name === 'pbm-terminus')).to.deep.equal([])
    })

    it('takes secrets from Secrets only, and sets memory requests and limits', () => {
      const [c] = loadCronJob().spec.jobTemplate.spec.template.spec.containers
      expect(c.envFrom).to.deep.equal([{secretRef: {name: 'pbm-aws'}}])
      // A credential is never a literal value in the manifest.
      for (const e of c.env.filter((v: Doc) => /SECRET|TOKEN|PASSWORD|ACCESS_KEY/i.test(v.name))) {
        expect(e.value, e.name).to.equal(undefined)
      }

      // docs/MEMORY.md: pbm's peak at the default --concurrency 4 (121 + 17 × 4 MiB) is requested; the
      // limit adds 25% and the Terminus processes of --terminus-concurrency 4.
      expect(c.args.join(' ')).to.not.match(/--concurrency|--create/)
      expect(mib(c.resources.requests.memory)).to.be.at.least(121 + 17 * 4)
      expect(mib(c.resources.limits.memory)).to.be.at.least(mib(c.resources.requests.memory) * 1.25 + 4 * 50)
    })
  })

  describe('github-actions/mirror.yml', () => {
    it('is a workflow that the strict schema accepts', () => {
      expect(errorsOf(validWorkflow, load())).to.equal('')
    })

    it('fails the schema on a misspelled field', () => {
      const typo = load()
      typo.jobs.mirror.strategy.failfast = false
      expect(errorsOf(validWorkflow, typo)).to.include('must NOT have additional properties')
      const tooMany = load()
      tooMany.jobs.mirror.strategy.matrix.shard = Array.from({length: 257}, (_, i) => i + 1)
      expect(errorsOf(validWorkflow, tooMany)).to.include('must NOT have more than 256 items')
    })

    it('runs shards 1..N on a schedule, without fail-fast, with --shard from the matrix', () => {
      const wf = load()
      expect(wf.on.schedule[0].cron).to.match(/^\S+ \S+ \S+ \S+ \S+$/)
      const {mirror} = wf.jobs
      expect(mirror.strategy['fail-fast']).to.equal(false)
      const shards: number[] = mirror.strategy.matrix.shard
      expect(shards).to.deep.equal(Array.from({length: shards.length}, (_, i) => i + 1))
      const run = mirror.steps.find((s: Doc) => s.run?.includes('pbm backup:mirror'))
      // eslint-disable-next-line no-template-curly-in-string
      expect(run.env.PBM_SHARD).to.equal('${{ matrix.shard }}/${{ strategy.job-total }}')
    })

    it('fails the schema when an action is not pinned by commit SHA or the token may write', () => {
      const tag = load()
      tag.jobs.mirror.steps[0].uses = 'actions/setup-node@v4'
      expect(errorsOf(validWorkflow, tag)).to.include('must match pattern')
      const shortSha = load()
      shortSha.jobs.mirror.steps[0].uses = 'actions/setup-node@49933ea'
      expect(errorsOf(validWorkflow, shortSha)).to.include('must match pattern')
      const noPermissions = load()
      delete noPermissions.permissions
      expect(errorsOf(validWorkflow, noPermissions)).to.include("must have required property 'permissions'")
      const write = load()
      write.permissions.contents = 'write'
      expect(errorsOf(validWorkflow, write)).to.include('must be equal to constant')
      const more = load()
      more.permissions['id-token'] = 'write'
      expect(errorsOf(validWorkflow, more)).to.include('must NOT have additional properties')
    })

    it('runs a Node LTS, checks Terminus (3.5+) by sha256 before use, and installs pbm by exact version', () => {
      const {mirror} = load().jobs
      const setupNode = mirror.steps.find((s: Doc) => s.uses?.startsWith('actions/setup-node@'))
      expect(LTS_LINES).to.include(String(setupNode.with['node-version']))
      const {env} = mirror
      expect(atLeast35(env.TERMINUS_VERSION), env.TERMINUS_VERSION).to.equal(true)
      expect(env.TERMINUS_SHA256).to.match(SHA256)
      expect(env.PBM_VERSION).to.match(EXACT_VERSION)
      const install = mirror.steps.find((s: Doc) => s.run?.includes('terminus.phar')).run as string
      const check = install.indexOf('echo "$TERMINUS_SHA256  $RUNNER_TEMP/terminus.phar" | sha256sum --check --strict')
      expect(check).to.be.greaterThan(install.indexOf('curl -fsSL -o "$RUNNER_TEMP/terminus.phar"'))
      expect(check).to.be.lessThan(install.indexOf('install -m 0755 "$RUNNER_TEMP/terminus.phar"'))
      expect(install).to.include('npm install -g "pantheon-backup-mirror@$PBM_VERSION"')
      expect(install).to.not.match(/npm install -g pantheon-backup-mirror(\s|$)/)
    })

    it('takes every credential from secrets', () => {
      const text = read('deploy/github-actions/mirror.yml')
      for (const name of ['TERMINUS_MACHINE_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        const values = [...text.matchAll(new RegExp(`^\\s*${name}: (.*)$`, 'gm'))].map((m) => m[1])
        expect(values, name).to.deep.equal([`\${{ secrets.${name} }}`])
      }
    })
  })

  /* eslint-disable no-template-curly-in-string -- the Dockerfile's own ${ARG} references */
  describe('Dockerfile', () => {
    const dockerfile = read('Dockerfile')
    const instructions = dockerfile
      .replaceAll('\\\n', ' ')
      .split('\n')
      .map((line) => line.trim().replaceAll(/\s+/g, ' '))
      .filter((line) => line && !line.startsWith('#'))

    it('starts from a Node LTS image pinned by digest, and says how to refresh the digest', () => {
      const from = /^FROM node:(\d+)-[\w.-]+@(sha256:[0-9a-f]{64})$/.exec(instructions[0])
      expect(from, instructions[0]).to.not.equal(null)
      expect(LTS_LINES).to.include(from![1])
      expect(instructions.filter((i) => i.startsWith('FROM '))).to.have.length(1)
      expect(dockerfile).to.include('#   docker buildx imagetools inspect node:24-bookworm-slim')
      expect(instructions[0]).to.include('node:24-bookworm-slim@')
    })

    it('installs Terminus 3.5+ by version and sha256, checked before it is installed', () => {
      const arg = (name: string) => instructions.find((i) => i.startsWith(`ARG ${name}=`))?.split('=')[1]
      expect(atLeast35(arg('TERMINUS_VERSION') ?? ''), arg('TERMINUS_VERSION')).to.equal(true)
      expect(arg('TERMINUS_SHA256')).to.match(SHA256)
      const run = instructions.find((i) => i.includes('terminus.phar'))!
      const steps = run.split(/\s+&&\s+/)
      const download = steps.findIndex((s) =>
        s.includes(
          '/tmp/terminus.phar "https://github.com/pantheon-systems/terminus/releases/download/${TERMINUS_VERSION}/terminus.phar"',
        ),
      )
      // Two spaces between hash and name, as sha256sum --check --strict reads it (instructions collapse them).
      expect(dockerfile).to.include('echo "${TERMINUS_SHA256}  /tmp/terminus.phar" | sha256sum --check --strict')
      const check = steps.indexOf('echo "${TERMINUS_SHA256} /tmp/terminus.phar" | sha256sum --check --strict')
      const install = steps.indexOf('install -m 0755 /tmp/terminus.phar /usr/local/bin/terminus')
      expect(
        [download, check, install].every((i) => i >= 0),
        steps.join('\n'),
      ).to.equal(true)
      expect(download).to.be.lessThan(check)
      expect(check).to.be.lessThan(install)
      expect(dockerfile).to.match(/apt-get install[^\n]*\n?[^\n]*php-cli/)
    })

    it('installs pbm from the tarball with its shrinkwrap (npm ci) and runs as a non-root user', () => {
      expect(dockerfile).to.match(/COPY pantheon-backup-mirror-\*\.tgz/)
      const run = instructions.find((i) => i.includes('npm ci'))!
      expect(run).to.include(
        'tar -xzf /tmp/pantheon-backup-mirror-*.tgz -C /opt/pantheon-backup-mirror --strip-components=1',
      )
      expect(run).to.include('cd /opt/pantheon-backup-mirror && npm ci --omit=dev')
      expect(run).to.include('npm install -g --no-audit --no-fund /opt/pantheon-backup-mirror')
      expect(run).to.include('pbm --version && pantheon-backup-mirror --version')
      expect(dockerfile).to.not.match(/npm install -g \/tmp\/pantheon-backup-mirror-\*\.tgz/)
      const users = instructions.filter((i) => i.startsWith('USER '))
      expect(users).to.deep.equal(['USER node'])
      expect(instructions.at(-1)).to.equal('ENTRYPOINT ["pbm"]')
      expect(instructions.indexOf('USER node')).to.be.lessThan(instructions.length - 1)
    })

    it('bakes in no credential', () => {
      for (const line of instructions.filter((i) => /^(ENV|ARG|LABEL)\b/.test(i))) {
        expect(line).to.not.match(/TOKEN|SECRET|PASSWORD|ACCESS_KEY|AWS_/i)
      }

      expect(dockerfile).to.not.match(/auth:login|--machine-token/)
      expect(instructions.some((i) => /^COPY .*(\.aws|\.terminus|\.env|credentials)/.test(i))).to.equal(false)
    })
  })
  /* eslint-enable no-template-curly-in-string */
})

/** The Node lines a recipe may run: the LTS lines CI tests (.ci/run). */
const LTS_LINES = ['22', '24']
const SHA256 = /^[0-9a-f]{64}$/
/** An exact release version: no range, no tag. */
const EXACT_VERSION = /^\d+\.\d+\.\d+$/

/** Terminus 3.5 or later (older ones hide failed workflows). */
function atLeast35(version: string): boolean {
  const [major, minor] = version.split('.').map(Number)
  return EXACT_VERSION.test(version) && (major > 3 || (major === 3 && minor >= 5))
}

/** A Kubernetes quantity in Mi, as a number (NaN for another unit). */
function mib(quantity: string): number {
  return Number(/^(\d+)Mi$/.exec(quantity)?.[1])
}
