/**
 * The JSON Schema of pipeline files, generated from the same definitions the validator uses:
 * the pipeline format (./pipeline-schema) and every registered stage type's inputs, selected
 * by `uses`. `fineflow schema` prints it; schema/pipeline.schema.json is the committed copy
 * that the yaml-language-server modeline in each example points at.
 */
import { PIPELINE_SCHEMA, STAGE_SCHEMA, TRIGGER_SCHEMA } from '../core/spec/pipeline-schema';
import { toJsonSchema, type ObjectSchema } from './schema-language';
import { listStageTypes, type StageTypeDefinition } from './stage-types';

export const SCHEMA_ID = 'https://fineflow.dev/schema/pipeline.schema.json';

export function pipelineJsonSchema(
  stageTypes: readonly StageTypeDefinition[] = listStageTypes(),
): Record<string, unknown> {
  const root = toJsonSchema(PIPELINE_SCHEMA, false);
  const stage = toJsonSchema(STAGE_SCHEMA, false) as { properties: Record<string, unknown> };
  const types = [...stageTypes].sort((a, b) => a.name.localeCompare(b.name));
  stage.properties.uses = { enum: types.map((t) => t.name), description: 'stage type' };
  const stageSchema = {
    ...stage,
    allOf: types.map((t) => ({
      if: { properties: { uses: { const: t.name } }, required: ['uses'] },
      then: {
        properties: {
          with: { ...toJsonSchema(t.inputs, false, true), description: `${t.name} ${t.version}: ${t.description}` },
        },
      },
    })),
  };
  const properties = (root as { properties: Record<string, Record<string, unknown>> }).properties;
  // Trigger paths may use ${{ params.* }}: they are resolved when the plan is compiled.
  const newData = (TRIGGER_SCHEMA.properties?.newData ?? { type: 'any' }) as ObjectSchema;
  const triggerItems = (
    properties.triggers as { items: { properties: { newData: { properties: Record<string, unknown> } } } }
  ).items;
  triggerItems.properties.newData.properties.path = toJsonSchema(newData.properties?.path ?? { type: 'any' }, true);
  properties.stages = {
    ...properties.stages,
    additionalProperties: { $ref: '#/$defs/stage' },
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' },
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'Fineflow pipeline',
    ...root,
    $defs: { stage: stageSchema },
  };
}

/** The schema as committed: stable key order, two-space indent, trailing newline. */
export function pipelineJsonSchemaText(stageTypes?: readonly StageTypeDefinition[]): string {
  return `${JSON.stringify(pipelineJsonSchema(stageTypes), null, 2)}\n`;
}
