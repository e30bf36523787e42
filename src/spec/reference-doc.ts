/**
 * The stage-type part of docs/pipeline-reference.md, generated from the registry so the
 * document cannot drift from the validator (`fineflow schema --markdown` prints it; a test
 * checks the committed document contains it).
 */
import { describeSchema, type InputSchema } from './schema-language';
import { listStageTypes, type StageTypeDefinition } from './stage-types';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function inputRows(
  schema: InputSchema,
  prefix: string,
  required: readonly string[],
  depth: number,
  out: string[],
): void {
  if (schema.type !== 'object' || !schema.properties) return;
  for (const [key, value] of Object.entries(schema.properties)) {
    const name = `${prefix}${key}`;
    const dflt =
      value.default !== undefined
        ? `\`${JSON.stringify(value.default)}\``
        : required.includes(key)
          ? '**required**'
          : '';
    out.push(`| \`${name}\` | ${cell(describeSchema(value))} | ${cell(dflt)} | ${cell(value.description ?? '')} |`);
    if (depth >= 2) continue;
    if (value.type === 'object') inputRows(value, `${name}.`, value.required ?? [], depth + 1, out);
    if (value.type === 'oneOf')
      for (const variant of value.variants)
        if (variant.type === 'object') inputRows(variant, `${name}.`, variant.required ?? [], depth + 1, out);
  }
}

export function stageTypeMarkdown(types: readonly StageTypeDefinition[] = listStageTypes()): string {
  const sections = types.map((t) => {
    const rows: string[] = [];
    inputRows(t.inputs, '', t.inputs.required ?? [], 0, rows);
    const outputs = Object.entries(t.outputs).map(
      ([name, o]) => `| \`${name}\` | ${o.type} | ${cell(o.description)} |`,
    );
    return [
      `### \`${t.name}\` (version ${t.version})`,
      '',
      t.description,
      '',
      '| input | type | default | description |',
      '|---|---|---|---|',
      ...rows,
      '',
      // A type without declared outputs (`pipeline`) names them at validate time: no empty table.
      ...(outputs.length > 0
        ? ['| output | type | description |', '|---|---|---|', ...outputs]
        : ['Outputs: named when a stage of this type is validated (see its description).']),
    ].join('\n');
  });
  return `${sections.join('\n\n')}\n`;
}
