/** `npm run generate:sdk`: rewrites src/sdk/stage-io.generated.ts from the built-in stage types. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BUILTIN_STAGE_TYPES } from '../src/spec/stage-types';
import { generateStageIoTypes } from '../src/sdk/generate-types';
import { format, resolveConfig } from 'prettier';

async function main(): Promise<void> {
  const file = path.join(__dirname, '..', 'src', 'sdk', 'stage-io.generated.ts');
  const options = (await resolveConfig(file)) ?? {};
  writeFileSync(file, await format(generateStageIoTypes(BUILTIN_STAGE_TYPES), { ...options, filepath: file }));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
