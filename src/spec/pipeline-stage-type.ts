/**
 * The `pipeline` stage type: a stage that runs another pipeline file as a Temporal child workflow
 * (a `pipelineRun` of the child's plan), as Argo's `templateRef`, KFP's pipelines-as-components and
 * Flyte's subworkflows do. The child is read, validated and compiled with the parent
 * (./sub-pipelines.ts), and its plan travels inside the parent's (PlannedStage.subPipeline), so a
 * run never reads a file. The generic definition below is what the registry, the JSON Schema and
 * the SDK see; validation replaces `params` and `outputs` with the child's own (subPipelineType).
 */
import type { StageTypeDefinition } from './stage-type-definition';

export const PIPELINE_STAGE_TYPE_NAME = 'pipeline';

/**
 * Bounds on what an author may include (depth: MAX_SUB_PIPELINE_DEPTH); validate enforces them (./sub-pipelines.ts).
 */
export const SUB_PIPELINE_LIMITS = Object.freeze({
  /** Bytes of every file read for one validation (each file also obeys MAX_PIPELINE_BYTES). */
  totalBytes: 8 * 1024 * 1024,
  /** Characters of `file` as written. */
  pathChars: 255,
});

export const PIPELINE_STAGE_TYPE: StageTypeDefinition = {
  name: PIPELINE_STAGE_TYPE_NAME,
  version: '1.0.0',
  description:
    "Run another pipeline file as a child run (a Temporal child workflow); its stages' outputs are this stage's " +
    'outputs, by stage id: ${{ stages.X.outputs.<child stage>.<output> }}.',
  inputs: {
    type: 'object',
    properties: {
      file: {
        type: 'string',
        minLength: 1,
        maxLength: SUB_PIPELINE_LIMITS.pathChars,
        description:
          "the child pipeline's YAML file, relative to this pipeline's file and inside its directory (no `..` out of " +
          'it); a literal, read at validate time',
        examples: ['parts/train-and-evaluate.yaml'],
      },
      params: {
        type: 'object',
        // A schema (not `true`) so that expressions in the values are checked and count as uses.
        additionalProperties: { type: 'any' },
        description:
          "values for the child's params (checked against the child's declarations: types, and the ranges of the " +
          'inputs they flow into); may reference params and upstream outputs',
      },
    },
    required: ['file'],
  },
  outputs: {},
};
