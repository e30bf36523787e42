/**
 * `npm run generate`: rewrites every file derived from the built-in stage types, so a stage-type
 * change is one command away from consistent (tests check each file against its generator):
 * - src/sdk/stage-io.generated.ts (the TypeScript SDK's stage input/output types);
 * - schema/pipeline.schema.json (editor support, `fineflow schema`);
 * - the stage-type section of docs/pipeline-reference.md (`fineflow schema --markdown`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BUILTIN_STAGE_TYPES } from '../src/spec/stage-types';
import { pipelineJsonSchemaText } from '../src/spec/json-schema';
import { stageTypeMarkdown } from '../src/spec/reference-doc';
import { generateStageIoTypes } from '../src/sdk/generate-types';
import { format, resolveConfig } from 'prettier';

const root = path.join(__dirname, '..');

function write(relative: string, text: string): void {
  writeFileSync(path.join(root, relative), text);
  console.log(`wrote ${relative}`);
}

async function main(): Promise<void> {
  const sdk = path.join(root, 'src', 'sdk', 'stage-io.generated.ts');
  const options = (await resolveConfig(sdk)) ?? {};
  write(
    path.relative(root, sdk),
    await format(generateStageIoTypes(BUILTIN_STAGE_TYPES), { ...options, filepath: sdk }),
  );
  write('schema/pipeline.schema.json', pipelineJsonSchemaText());
  const reference = 'docs/pipeline-reference.md';
  const doc = readFileSync(path.join(root, reference), 'utf8');
  const marked = /(<!-- stage-types:begin -->\n)[\s\S]*(<!-- stage-types:end -->)/;
  if (!marked.test(doc)) throw new Error(`${reference} lost its stage-types markers`);
  write(
    reference,
    doc.replace(marked, (_, begin: string, end: string) => `${begin}${stageTypeMarkdown()}${end}`),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
