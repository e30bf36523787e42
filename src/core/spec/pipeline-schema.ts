/**
 * The pipeline file format, declared once in the schema language: the validator checks the
 * YAML against it and the JSON Schema for editors is generated from it (plus the stage types'
 * own input schemas for `with:`).
 */
import type { InputSchema, ObjectSchema } from '../../spec/schema-language';
import { MEMORY_PATTERN, RESOURCE_BOUNDS } from './resources';

export const API_VERSION = 'fineflow/v1';
export const STAGE_ID_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]*$';
/** `metadata.name`: what every run's pipeline is called (the `--pipeline` filter of `fineflow runs` checks it too). */
export const PIPELINE_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
export const PARAM_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** Secret names are read as `secrets.NAME`, like params. */
export const SECRET_NAME_PATTERN = PARAM_NAME_PATTERN;
export const SECRET_ENV_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
export const POOL_PATTERN = '^[a-z][a-z0-9-]*$';
export const OVERLAP_POLICIES = [
  'skip',
  'buffer-one',
  'buffer-all',
  'cancel-other',
  'terminate-other',
  'allow-all',
] as const;
export const PARAM_TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object'] as const;

/** Built-in defaults for everything a stage may leave out. */
export const STAGE_DEFAULTS = {
  pool: 'cpu',
  timeout: '1h',
  /**
   * `outageBudget`: how long failures of type dependency-unavailable (object store, Temporal, a
   * worker shutting down) are retried, apart from maxAttempts: generous, so an outage of a few
   * minutes never fails a stage.
   */
  retry: { maxAttempts: 3, initialInterval: '5s', backoffCoefficient: 2, outageBudget: '15m' },
  /** Temporal's own default: 100 × the initial interval. */
  maximumIntervalFactor: 100,
  onFailure: 'fail',
  cache: true,
} as const;

export const RETRY_SCHEMA: ObjectSchema = {
  type: 'object',
  description: 'retry policy of one stage attempt',
  properties: {
    maxAttempts: {
      type: 'integer',
      description: 'attempts including the first (1 = no retry), 1–100',
      default: STAGE_DEFAULTS.retry.maxAttempts,
    },
    initialInterval: {
      type: 'duration',
      description: 'wait before the first retry',
      default: STAGE_DEFAULTS.retry.initialInterval,
    },
    backoffCoefficient: {
      type: 'number',
      description: 'each wait is the previous × this, 1–100',
      default: STAGE_DEFAULTS.retry.backoffCoefficient,
    },
    maximumInterval: { type: 'duration', description: 'longest wait between attempts (default 100 × initialInterval)' },
    outageBudget: {
      type: 'duration',
      description:
        'how long failures because a dependency is unavailable (object store, Temporal, worker shutdown) are ' +
        'retried, apart from maxAttempts; 0–24h',
      default: STAGE_DEFAULTS.retry.outageBudget,
    },
  },
};

const CACHE_SCHEMA: InputSchema = {
  type: 'oneOf',
  description:
    'reuse a previous result with the same content key (stage type + version, resolved inputs, upstream digests): ' +
    'true, false, or {maxAge: 7d}',
  variants: [
    { type: 'boolean' },
    {
      type: 'object',
      properties: {
        enabled: { type: 'boolean', default: true, description: 'whether the cache may be used' },
        maxAge: { type: 'duration', description: 'oldest reusable entry' },
      },
    },
  ],
};

/** Most stages of one run running at once (`parallelism:` at the top of a pipeline). */
export const MAX_PIPELINE_PARALLELISM = 10_000;

export const RESOURCES_SCHEMA: ObjectSchema = {
  type: 'object',
  description:
    'what one attempt needs on its worker; a worker runs it only when that much of its declared capacity is free ' +
    '(`fineflow worker --cpu/--memory/--gpu`)',
  properties: {
    cpu: {
      type: 'number',
      minimum: RESOURCE_BOUNDS.cpu.min,
      maximum: RESOURCE_BOUNDS.cpu.max,
      description: `CPU cores, e.g. 2 or 0.5 (${RESOURCE_BOUNDS.cpu.min}–${RESOURCE_BOUNDS.cpu.max})`,
    },
    memory: {
      type: 'string',
      pattern: MEMORY_PATTERN,
      description: 'memory with a unit, e.g. 512Mi, 4Gi (Ki/Mi/Gi/Ti or K/M/G/T; at most 4Ti)',
    },
    gpu: {
      type: 'integer',
      minimum: RESOURCE_BOUNDS.gpu.min,
      maximum: RESOURCE_BOUNDS.gpu.max,
      description: `whole GPUs (0–${RESOURCE_BOUNDS.gpu.max})`,
    },
  },
  minProperties: 1,
};

/** Settings every stage inherits unless it says otherwise. */
const STAGE_SETTINGS: { readonly [name: string]: InputSchema } = {
  pool: {
    type: 'string',
    pattern: POOL_PATTERN,
    description: 'worker pool (task queue fineflow-<pool>) that runs the stage',
  },
  timeout: { type: 'duration', description: 'start-to-close timeout of one attempt' },
  heartbeatTimeout: { type: 'duration', description: 'an attempt fails when no heartbeat arrives for this long' },
  retry: RETRY_SCHEMA,
  onFailure: {
    type: 'enum',
    values: ['pause', 'fail'],
    description: 'after the last attempt: pause (wait for `fineflow retry`) or fail the run',
  },
  cache: CACHE_SCHEMA,
  resources: RESOURCES_SCHEMA,
};

/** Most instances one stage may fan out to; src/core/run/fan-out.ts enforces it at run time too. */
export const MAX_FAN_OUT_ITEMS = 256;
const FAN_OUT_LIST: InputSchema = {
  type: 'oneOf',
  variants: [
    { type: 'array', items: { type: 'any' }, maxItems: MAX_FAN_OUT_ITEMS },
    { type: 'string', description: 'one ${{ }} expression yielding a list' },
  ],
};

/** `forEach` / `matrix` and how the instances run (docs/pipeline-reference.md, Fan-out). */
export const FAN_OUT_SETTINGS: { readonly [name: string]: InputSchema } = {
  forEach: {
    ...FAN_OUT_LIST,
    description:
      `run the stage once per item (\${{ item }} in its inputs): a list, or \${{ }} yielding one (a ` +
      `param, an upstream output); at most ${MAX_FAN_OUT_ITEMS} items`,
  },
  matrix: {
    type: 'object',
    additionalProperties: FAN_OUT_LIST,
    minProperties: 1,
    description:
      `run the stage once per combination of the lists (\${{ item.<key> }}); at most ` +
      `${MAX_FAN_OUT_ITEMS} combinations`,
  },
  parallelism: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_FAN_OUT_ITEMS,
    description: 'most instances of a forEach/matrix stage running at once (default: all)',
  },
  failFast: {
    type: 'boolean',
    default: true,
    description: 'cancel the running instances once minSuccessRatio can no longer be reached',
  },
  minSuccessRatio: {
    type: 'number',
    minimum: 0,
    maximum: 1,
    default: 1,
    description: 'share of instances that must succeed (failed ones give null in the gathered outputs)',
  },
};

export const STAGE_SCHEMA: ObjectSchema = {
  type: 'object',
  description: 'one stage of the DAG',
  properties: {
    uses: { type: 'string', description: 'stage type, e.g. fine-tune (`fineflow schema` lists them)' },
    description: { type: 'string', description: 'free text shown by `fineflow plan`' },
    with: {
      type: 'object',
      additionalProperties: true,
      description: 'inputs of the stage type; values may be ${{ }} expressions',
    },
    needs: {
      type: 'oneOf',
      description: 'stages that must finish first (stages referenced in `with`/`when` are added automatically)',
      variants: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    },
    when: {
      type: 'oneOf',
      description: 'condition; the stage is skipped when false, e.g. ${{ stages.evaluate.outputs.passed }}',
      variants: [{ type: 'string' }, { type: 'boolean' }],
    },
    ...STAGE_SETTINGS,
    ...FAN_OUT_SETTINGS,
  },
  required: ['uses'],
  // What Argo, Kubeflow Pipelines, GitHub Actions, GitLab CI, Airflow and Metaflow users write first
  // (docs/coming-from-*.md): each gets the rename as its fix.
  aliases: {
    type: 'uses',
    template: 'uses',
    component: 'uses',
    dependencies: 'needs',
    depends: 'needs',
    dependsOn: 'needs',
    depends_on: 'needs',
    after: 'needs',
    inputs: 'with',
    arguments: 'with',
    args: 'with',
    params: 'with',
    parameters: 'with',
    if: 'when',
    condition: 'when',
    withItems: 'forEach',
    withParam: 'forEach',
    foreach: 'forEach',
    for_each: 'forEach',
    retryStrategy: 'retry',
    retries: 'retry',
  },
};

const PARAM_SCHEMA: InputSchema = {
  type: 'oneOf',
  description: 'a default value (type inferred), or {type, default, description}',
  variants: [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'array', items: { type: 'any' } },
    {
      type: 'object',
      properties: {
        type: { type: 'enum', values: [...PARAM_TYPES], description: 'type a `--set` value must have' },
        default: { type: 'any', description: 'value used without `--set`; without one the param must be set' },
        description: { type: 'string', description: 'shown by `fineflow plan`' },
      },
    },
  ],
};

const CALENDAR_FIELD: InputSchema = {
  type: 'oneOf',
  variants: [
    { type: 'integer', minimum: 0 },
    { type: 'string' },
    { type: 'array', items: { type: 'oneOf', variants: [{ type: 'integer', minimum: 0 }, { type: 'string' }] } },
  ],
};

const CALENDAR_ENTRY: InputSchema = {
  type: 'object',
  properties: {
    second: CALENDAR_FIELD,
    minute: CALENDAR_FIELD,
    hour: CALENDAR_FIELD,
    dayOfMonth: CALENDAR_FIELD,
    month: CALENDAR_FIELD,
    dayOfWeek: CALENDAR_FIELD,
    year: CALENDAR_FIELD,
    comment: {
      type: 'string',
      maxLength: 200,
      description: 'shown by `schedule describe`; Temporal keeps 200 characters',
    },
  },
};

const INTERVAL_ENTRY: InputSchema = {
  type: 'oneOf',
  variants: [
    { type: 'duration' },
    {
      type: 'object',
      properties: {
        interval: { type: 'duration', description: 'how often, 1s or more' },
        offset: { type: 'duration', description: 'shift from the Unix epoch, shorter than the interval' },
      },
      required: ['interval'],
    },
  ],
};

export const SCHEDULE_SCHEMA: ObjectSchema = {
  type: 'object',
  description: 'run the pipeline on a schedule (a Temporal Schedule); give cron, every or calendar',
  properties: {
    cron: {
      type: 'oneOf',
      description:
        'cron expression(s): minute hour day-of-month month day-of-week, or @hourly/@daily/@weekly/@monthly/@yearly',
      variants: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
    },
    every: {
      type: 'oneOf',
      description: 'fixed interval (1s or more), e.g. 6h, or a list of intervals and {interval, offset} entries',
      variants: [{ type: 'duration' }, { type: 'array', minItems: 1, items: INTERVAL_ENTRY }],
    },
    offset: { type: 'duration', description: 'shift of every interval from the Unix epoch, shorter than the interval' },
    calendar: {
      type: 'array',
      minItems: 1,
      description: 'calendar specs (Temporal ScheduleCalendarSpec)',
      items: CALENDAR_ENTRY,
    },
    skip: {
      type: 'array',
      minItems: 1,
      description: 'calendar specs of times not to run at (holidays), e.g. [{month: DECEMBER, dayOfMonth: 25}]',
      items: CALENDAR_ENTRY,
    },
    note: { type: 'string', description: 'free text shown by `fineflow schedule describe`' },
    timezone: { type: 'string', description: 'IANA time zone of cron/calendar, e.g. Europe/Berlin (default UTC)' },
    jitter: { type: 'duration', description: 'random delay added to each start' },
    startAt: { type: 'string', description: 'ISO 8601 date-time before which nothing runs' },
    endAt: { type: 'string', description: 'ISO 8601 date-time after which nothing runs' },
    overlap: {
      type: 'enum',
      values: [...OVERLAP_POLICIES],
      default: 'skip',
      description: 'what to do when a run is still going at the next start',
    },
    catchupWindow: { type: 'duration', description: 'how far back missed starts are caught up after downtime' },
    pauseOnFailure: { type: 'boolean', default: false, description: 'pause the schedule when a run fails' },
    paused: { type: 'boolean', default: false, description: 'create the schedule paused' },
  },
};

export const TRIGGER_SCHEMA: ObjectSchema = {
  type: 'object',
  description: 'start a run when something happens',
  properties: {
    newData: {
      type: 'object',
      description: 'start a run when new objects land under a prefix',
      properties: {
        path: {
          type: 'uri',
          schemes: ['s3', 'file'],
          description: 'prefix to watch, e.g. s3://datasets/defects/ (may use ${{ params.* }})',
        },
        debounce: { type: 'duration', default: '10m', description: 'wait until no new object arrived for this long' },
        pollInterval: { type: 'duration', default: '1m', description: 'how often the prefix is listed' },
        minObjects: { type: 'integer', minimum: 1, default: 1, description: 'new objects needed to start a run' },
        overlap: {
          type: 'enum',
          values: [...OVERLAP_POLICIES],
          default: 'buffer-one',
          description: 'what to do when a run is still going',
        },
        onRevert: {
          type: 'enum',
          values: ['ignore', 'retrain'],
          default: 'ignore',
          description:
            'when objects are deleted and the prefix returns to a version that already ran: record it (ignore) or ' +
            'run again (retrain)',
        },
      },
      required: ['path'],
    },
  },
  required: ['newData'],
};

/** Where the worker finds a secret: exactly one of `env` and `file` (checked by the validator). */
export const SECRET_REFERENCE_SCHEMA: ObjectSchema = {
  type: 'object',
  description:
    'where the worker reads the secret: {env: VARIABLE} or {file: /mounted/path}; the operator allows which ' +
    '(FINEFLOW_SECRET_ENV, FINEFLOW_SECRET_FILE_ROOTS)',
  properties: {
    env: {
      type: 'string',
      pattern: SECRET_ENV_PATTERN,
      description: 'environment variable of the worker holding the value',
    },
    file: {
      type: 'string',
      pattern: '^/',
      description: 'absolute path of a file on the worker holding the value (trailing newline dropped)',
    },
  },
  minProperties: 1,
};

export const PIPELINE_SCHEMA: ObjectSchema = {
  type: 'object',
  description: 'A Fineflow pipeline: a DAG of stages that fine-tune and ship models',
  properties: {
    apiVersion: { type: 'enum', values: [API_VERSION], description: 'format version' },
    kind: { type: 'enum', values: ['Pipeline'], description: 'always Pipeline' },
    metadata: {
      type: 'object',
      properties: {
        name: {
          type: 'string',
          pattern: PIPELINE_NAME_PATTERN,
          description: 'pipeline name: lower-case letters, digits and dashes, at most 63',
        },
        description: { type: 'string', description: 'free text' },
        labels: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'key/value labels, recorded on every run',
        },
      },
      required: ['name'],
    },
    params: {
      type: 'object',
      additionalProperties: PARAM_SCHEMA,
      description: 'values a run may override with --set name=value; referenced as ${{ params.name }}',
    },
    defaults: {
      type: 'object',
      properties: STAGE_SETTINGS,
      description: 'settings every stage inherits unless it sets them',
    },
    secrets: {
      type: 'object',
      additionalProperties: SECRET_REFERENCE_SCHEMA,
      description:
        'secret name → where the worker reads it; usable only as ${{ secrets.NAME }} in stage inputs marked secret ' +
        '(e.g. `auth`); values never enter the plan, history, logs or cache keys',
    },
    parallelism: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_PIPELINE_PARALLELISM,
      description:
        'most stages of one run running at once, fan-out instances and sweeps included (default: no limit); ready ' +
        'stages wait, in plan order',
    },
    schedule: SCHEDULE_SCHEMA,
    triggers: { type: 'array', items: TRIGGER_SCHEMA, description: 'events that start runs' },
    stages: { type: 'object', additionalProperties: STAGE_SCHEMA, minProperties: 1, description: 'stage id → stage' },
    finally: {
      type: 'object',
      additionalProperties: STAGE_SCHEMA,
      minProperties: 1,
      description:
        'stage id → stage that runs after all `stages` settled, whatever happened (success, failure, cancel); reads ' +
        '${{ run.status }}, ${{ run.failedStages }}, ${{ stages.X.status }}',
    },
  },
  required: ['apiVersion', 'kind', 'metadata', 'stages'],
  // Argo's, KFP's, Airflow's, Metaflow's and the CIs' names for the top-level keys (docs/coming-from-*.md), and the
  // metadata keys a first pipeline puts at the top: each gets the rename or the move as its fix.
  aliases: {
    name: 'metadata.name',
    description: 'metadata.description',
    labels: 'metadata.labels',
    steps: 'stages',
    tasks: 'stages',
    jobs: 'stages',
    dag: 'stages',
    onExit: 'finally',
    on_exit: 'finally',
    exitHandler: 'finally',
    exit_handler: 'finally',
    arguments: 'params',
    parameters: 'params',
    inputs: 'params',
    args: 'params',
    cron: 'schedule',
    schedule_interval: 'schedule',
    on: 'triggers',
  },
};
