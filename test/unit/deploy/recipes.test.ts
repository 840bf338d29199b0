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
      expect(script).to.match(/terminus auth:login --machine-token="\$TERMINUS_MACHINE_TOKEN".*exec pbm backup:mirror/s)
    })

    it('does not retry usage errors and does not count evictions', () => {
      const {rules} = loadCronJob().spec.jobTemplate.spec.podFailurePolicy
      const failIndex = rules.find((r: Doc) => r.action === 'FailIndex')
      expect(failIndex.onExitCodes).to.deep.include({containerName: 'pbm', operator: 'In'})
      expect(failIndex.onExitCodes.values).to.include(2)
      const ignore = rules.find((r: Doc) => r.action === 'Ignore')
      expect(ignore.onPodConditions).to.deep.equal([{type: 'DisruptionTarget'}])
    })

    it('takes secrets from Secrets only, and sets memory requests and limits', () => {
      const [c] = loadCronJob().spec.jobTemplate.spec.template.spec.containers
      const token = c.env.find((e: Doc) => e.name === 'TERMINUS_MACHINE_TOKEN')
      expect(token).to.deep.equal({
        name: 'TERMINUS_MACHINE_TOKEN',
        valueFrom: {secretKeyRef: {name: 'pbm-terminus', key: 'machine-token'}},
      })
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

    it('takes every credential from secrets', () => {
      const text = read('deploy/github-actions/mirror.yml')
      for (const name of ['TERMINUS_MACHINE_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
        const values = [...text.matchAll(new RegExp(`^\\s*${name}: (.*)$`, 'gm'))].map((m) => m[1])
        expect(values, name).to.deep.equal([`\${{ secrets.${name} }}`])
      }
    })
  })

  describe('Dockerfile', () => {
    const dockerfile = read('Dockerfile')
    const instructions = dockerfile
      .replaceAll('\\\n', ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'))

    it('starts from Node 20 and installs PHP, Terminus from its phar release, and pbm from the npm tarball', () => {
      expect(instructions[0]).to.match(/^FROM node:20[\w.-]*$/)
      expect(dockerfile).to.match(/apt-get install[^\n]*\n?[^\n]*php-cli/)
      expect(dockerfile).to.match(/terminus\/releases\/download\/\$\{TERMINUS_VERSION}\/terminus\.phar/)
      expect(dockerfile).to.match(/COPY pantheon-backup-mirror-\*\.tgz/)
      expect(dockerfile).to.match(/npm install -g \/tmp\/pantheon-backup-mirror-\*\.tgz/)
      expect(instructions.filter((i) => i.startsWith('USER '))).to.deep.equal(['USER node'])
    })

    it('bakes in no credential', () => {
      for (const line of instructions.filter((i) => /^(ENV|ARG|LABEL)\b/.test(i))) {
        expect(line).to.not.match(/TOKEN|SECRET|PASSWORD|ACCESS_KEY|AWS_/i)
      }

      expect(dockerfile).to.not.match(/auth:login|--machine-token/)
      expect(instructions.some((i) => /^COPY .*(\.aws|\.terminus|\.env|credentials)/.test(i))).to.equal(false)
    })
  })
})

/** A Kubernetes quantity in Mi, as a number (NaN for another unit). */
function mib(quantity: string): number {
  return Number(/^(\d+)Mi$/.exec(quantity)?.[1])
}
