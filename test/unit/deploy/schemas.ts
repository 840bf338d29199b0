/**
 * Strict JSON schemas for the parts of Kubernetes and GitHub Actions that the recipes in deploy/ use.
 * No package ships the real schemas offline for Node 20 with unknown fields refused (kubernetes-models
 * 4.x carries the OpenAPI-derived validators but accepts any extra field; 5.x needs Node 22), so these
 * cover only the objects the recipes use, every object closed with `additionalProperties: false`.
 * Field names were checked against kubernetes-models 4.5.1's OpenAPI-derived validators (batch/v1
 * CronJobSpec, JobSpec, PodFailurePolicyRule, core/v1 PodSpec, Container...) and GitHub's workflow syntax.
 */

type Schema = Record<string, unknown>

const closed = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  additionalProperties: false,
  properties,
  required,
})
const str: Schema = {type: 'string'}
const int: Schema = {type: 'integer'}
const bool: Schema = {type: 'boolean'}
const strMap: Schema = {type: 'object', additionalProperties: {type: 'string'}}
const quantity: Schema = {oneOf: [{type: 'string', pattern: String.raw`^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$`}, int]}

const metadata = closed({name: str, namespace: str, labels: strMap, annotations: strMap})

const container = closed(
  {
    name: str,
    image: str,
    imagePullPolicy: {enum: ['Always', 'IfNotPresent', 'Never']},
    command: {type: 'array', items: str},
    args: {type: 'array', items: str},
    workingDir: str,
    env: {
      type: 'array',
      items: closed(
        {
          name: str,
          value: str,
          valueFrom: closed({
            secretKeyRef: closed({name: str, key: str, optional: bool}, ['key']),
            configMapKeyRef: closed({name: str, key: str, optional: bool}, ['key']),
          }),
        },
        ['name'],
      ),
    },
    envFrom: {
      type: 'array',
      items: closed({
        prefix: str,
        secretRef: closed({name: str, optional: bool}),
        configMapRef: closed({name: str, optional: bool}),
      }),
    },
    resources: closed({
      requests: closed({cpu: quantity, memory: quantity, 'ephemeral-storage': quantity}),
      limits: closed({cpu: quantity, memory: quantity, 'ephemeral-storage': quantity}),
    }),
    securityContext: closed({
      allowPrivilegeEscalation: bool,
      readOnlyRootFilesystem: bool,
      runAsNonRoot: bool,
      runAsUser: int,
      runAsGroup: int,
      capabilities: closed({add: {type: 'array', items: str}, drop: {type: 'array', items: str}}),
    }),
    volumeMounts: {
      type: 'array',
      items: closed({name: str, mountPath: str, readOnly: bool, subPath: str}, ['name', 'mountPath']),
    },
  },
  ['name'],
)

/** A file mode, as Kubernetes takes it (decimal in JSON; YAML may write it in octal). */
const fileMode: Schema = {type: 'integer', minimum: 0, maximum: 0o777}
const podSpec = closed(
  {
    restartPolicy: {enum: ['Always', 'OnFailure', 'Never']},
    serviceAccountName: str,
    // The pod talks to Pantheon and S3, never to the Kubernetes API: no service-account token in it.
    automountServiceAccountToken: {const: false},
    securityContext: closed(
      {
        runAsNonRoot: {const: true},
        runAsUser: int,
        runAsGroup: int,
        fsGroup: int,
        // The container runtime's default seccomp filter (Kubernetes runs pods Unconfined without it).
        seccompProfile: closed({type: {const: 'RuntimeDefault'}}, ['type']),
      },
      ['runAsNonRoot', 'seccompProfile'],
    ),
    containers: {type: 'array', minItems: 1, items: container},
    volumes: {
      type: 'array',
      items: closed(
        {
          name: str,
          emptyDir: closed({medium: str, sizeLimit: quantity}),
          secret: closed(
            {
              secretName: str,
              defaultMode: fileMode,
              optional: bool,
              items: {type: 'array', items: closed({key: str, path: str, mode: fileMode}, ['key', 'path'])},
            },
            ['secretName'],
          ),
        },
        ['name'],
      ),
    },
    nodeSelector: strMap,
  },
  ['containers', 'automountServiceAccountToken', 'securityContext'],
)

const podFailurePolicyRule = closed(
  {
    action: {enum: ['FailJob', 'FailIndex', 'Ignore', 'Count']},
    onExitCodes: closed(
      {containerName: str, operator: {enum: ['In', 'NotIn']}, values: {type: 'array', minItems: 1, items: int}},
      ['operator', 'values'],
    ),
    onPodConditions: {
      type: 'array',
      items: closed({type: str, status: {enum: ['True', 'False', 'Unknown']}}, ['type']),
    },
  },
  ['action'],
)

const jobSpec = closed(
  {
    completionMode: {enum: ['NonIndexed', 'Indexed']},
    completions: {type: 'integer', minimum: 1},
    parallelism: {type: 'integer', minimum: 1},
    backoffLimit: int,
    backoffLimitPerIndex: {type: 'integer', minimum: 0},
    maxFailedIndexes: int,
    activeDeadlineSeconds: int,
    ttlSecondsAfterFinished: int,
    podFailurePolicy: closed({rules: {type: 'array', items: podFailurePolicyRule}}, ['rules']),
    template: closed({metadata, spec: podSpec}, ['spec']),
  },
  ['template'],
)

export const cronJobSchema = closed(
  {
    apiVersion: {const: 'batch/v1'},
    kind: {const: 'CronJob'},
    metadata,
    spec: closed(
      {
        schedule: str,
        timeZone: str,
        concurrencyPolicy: {enum: ['Allow', 'Forbid', 'Replace']},
        startingDeadlineSeconds: int,
        successfulJobsHistoryLimit: int,
        failedJobsHistoryLimit: int,
        suspend: bool,
        jobTemplate: closed({metadata, spec: jobSpec}, ['spec']),
      },
      ['schedule', 'jobTemplate'],
    ),
  },
  ['apiVersion', 'kind', 'metadata', 'spec'],
)

const step = closed({
  id: str,
  name: str,
  if: str,
  // An action is pinned by a full commit SHA (a tag or branch can be moved to other code).
  uses: {type: 'string', pattern: String.raw`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`},
  with: {type: 'object', additionalProperties: {type: ['string', 'number', 'boolean']}},
  run: str,
  shell: str,
  env: strMap,
  'working-directory': str,
  'timeout-minutes': int,
  'continue-on-error': bool,
})

export const workflowSchema = closed(
  {
    name: str,
    'run-name': str,
    on: closed({
      schedule: {type: 'array', minItems: 1, items: closed({cron: str}, ['cron'])},
      workflow_dispatch: closed({inputs: {type: 'object'}}),
    }),
    // The token GitHub gives the jobs can read the repository and nothing else.
    permissions: closed({contents: {const: 'read'}}, ['contents']),
    concurrency: closed({group: str, 'cancel-in-progress': bool}, ['group']),
    env: strMap,
    jobs: {
      type: 'object',
      additionalProperties: closed(
        {
          name: str,
          'runs-on': {oneOf: [str, {type: 'array', items: str}]},
          'timeout-minutes': int,
          if: str,
          needs: {oneOf: [str, {type: 'array', items: str}]},
          strategy: closed({
            'fail-fast': bool,
            'max-parallel': int,
            // A matrix makes at most 256 jobs per workflow run.
            matrix: closed({shard: {type: 'array', minItems: 1, maxItems: 256, items: int}}, ['shard']),
          }),
          env: strMap,
          steps: {type: 'array', minItems: 1, items: step},
        },
        ['runs-on', 'steps'],
      ),
    },
  },
  ['on', 'jobs', 'permissions'],
)
