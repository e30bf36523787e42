/**
 * `npm run build` (`npm run pack` runs it before packing: the checkout's .npmrc sets ignore-scripts, so a bare
 * `npm pack` runs no prepack):
 * what the published package runs instead of the TypeScript sources a clone runs through tsx.
 *   dist/{src,workflows,activities}/  tsc output with declarations (tsconfig.build.json)
 *   dist/workflow-bundle.js           the workflow bundle, so an installed worker needs no webpack run
 *   dist/ui/                          the web app's script and stylesheet, so esbuild is not a runtime dependency
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { bundleFrontendFiles } from '../src/ui/bundle';
import { PACKAGE_ROOT, PREBUILT_UI_DIR, PREBUILT_WORKFLOW_BUNDLE } from '../src/package-paths';

async function build(): Promise<void> {
  const started = Date.now();
  const dist = path.join(PACKAGE_ROOT, 'dist');
  rmSync(dist, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: PACKAGE_ROOT,
    stdio: 'inherit',
  });
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(PACKAGE_ROOT, 'workflows', 'index.ts'),
    logger: new DefaultLogger('WARN'),
  });
  writeFileSync(PREBUILT_WORKFLOW_BUNDLE, code);
  mkdirSync(PREBUILT_UI_DIR, { recursive: true });
  for (const file of await bundleFrontendFiles(PREBUILT_UI_DIR)) writeFileSync(file.path, file.contents);
  console.log(`build: dist/ written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

build().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
