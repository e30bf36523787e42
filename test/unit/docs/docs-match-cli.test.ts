/**
 * README.md, CONTRIBUTING.md, infra/README.md and docs/*.md against the code they describe: every `fineflow <command> [sub-command] [--flag]`
 * they mention (in inline code, shell blocks and the README's command table) names a command, sub-command and
 * option the CLI defines (read from its own definitions, src/cli/registry.ts), and every relative link, image
 * and repository path in inline code points at a file or folder that exists (and a `#fragment` into a
 * Markdown file at one of its headings). A doc that names a removed flag or a moved file fails here. Output a doc
 * shows under a `<!-- output: fineflow … -->` marker is what that command prints today (test/unit/docs/shown-output.ts;
 * only commands whose output depends on the repository alone may be marked).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMON_OPTIONS, type CliCommand } from '../../../src/cli/command';
import { allCommands } from '../../../src/cli/registry';
import { compilePlan } from '../../../src/spec/compile';
import {
  checkCommandMention,
  commandLinePaths,
  commandMentions,
  headingAnchors,
  markdownLinks,
  npmScriptMentions,
  pipelineBlocks,
  repositoryPathMentions,
  type DocCli,
} from './doc-mentions';
import { shownOutputBlocks, shownOutputProblems, type ShownOutput } from './shown-output';
import { runCli } from '../../helpers/cli';

const root = path.join(__dirname, '../../..');
const docFiles = [
  'README.md',
  'CONTRIBUTING.md',
  'infra/README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

function cliOf(commands: readonly CliCommand[]): DocCli {
  return {
    commands: new Map(
      commands.map((c) => [
        c.name,
        {
          subcommands: c.subcommands ?? [],
          options: [...COMMON_OPTIONS, ...c.options].flatMap((o) => [
            `--${o.name}`,
            ...(o.short ? [`-${o.short}`] : []),
            ...(o.deprecatedNames ?? []).map((n) => `--${n}`),
          ]),
        },
      ]),
    ),
  };
}

const cli = cliOf(allCommands());
/** Paths git ignores (`bench/results`, `.fineflow`): the docs name them as things a run creates. */
const ignored = readFileSync(path.join(root, '.gitignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim().replace(/^\/|\/$/g, ''))
  .filter((l) => l !== '' && !l.startsWith('#') && !/[*?[!]/.test(l));
const isIgnored = (p: string) => ignored.some((i) => p === i || p.startsWith(`${i}/`));

for (const file of docFiles) {
  const text = readFileSync(path.join(root, file), 'utf8');

  test(`${file}: every fineflow command, sub-command and option it names exists in the CLI`, () => {
    const mentions = commandMentions(text);
    const problems = mentions.flatMap((m) =>
      checkCommandMention(m, cli).map((p) => `${file}:${m.line}: \`${m.text}\`: ${p}`),
    );
    assert.deepEqual(problems, []);
  });

  test(`${file}: every link, image and repository path it names exists`, () => {
    const problems: string[] = [];
    const dir = path.dirname(path.join(root, file));
    for (const link of markdownLinks(text)) {
      const [target = '', fragment] = link.target.split('#', 2);
      const resolved = target === '' ? path.join(root, file) : path.resolve(dir, decodeURI(target));
      if (!resolved.startsWith(root)) {
        problems.push(`${file}:${link.line}: link ${link.target} leaves the repository`);
      } else if (!existsSync(resolved)) {
        problems.push(`${file}:${link.line}: link ${link.target}: no such file or folder`);
      } else if (fragment !== undefined && resolved.endsWith('.md')) {
        const anchors = headingAnchors(readFileSync(resolved, 'utf8'));
        if (!anchors.has(fragment)) {
          problems.push(`${file}:${link.line}: link ${link.target}: no heading with anchor #${fragment}`);
        }
      }
    }
    for (const mention of [...repositoryPathMentions(text), ...commandLinePaths(text)]) {
      if (!isIgnored(mention.path) && !existsSync(path.join(root, mention.path))) {
        problems.push(`${file}:${mention.line}: \`${mention.path}\`: no such file or folder in the repository`);
      }
    }
    assert.deepEqual(problems, []);
  });
}

const scripts = Object.keys(
  (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts,
);

for (const file of docFiles) {
  test(`${file}: every \`npm run SCRIPT\` it names is a script of package.json`, () => {
    const text = readFileSync(path.join(root, file), 'utf8');
    assert.deepEqual(
      npmScriptMentions(text)
        .filter((m) => !scripts.includes(m.script))
        .map((m) => `${file}:${m.line}: npm run ${m.script}: no such script in package.json`),
      [],
    );
  });
}

test('every whole pipeline shown in README.md and docs/*.md validates and compiles to a plan', () => {
  const blocks = docFiles.flatMap((file) =>
    pipelineBlocks(readFileSync(path.join(root, file), 'utf8')).map((b) => ({ file, ...b })),
  );
  assert.ok(blocks.length >= 2, `only ${blocks.length} pipelines found`);
  for (const block of blocks) {
    const result = compilePlan(block.yaml, `${block.file}:${block.line}`);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(
      errors.map((d) => `${block.file}:${block.line + d.line - 1}: ${d.code} ${d.message}`),
      [],
    );
    assert.ok(result.plan, `${block.file}:${block.line}: no plan`);
  }
});

test('the checks catch a removed flag, a removed sub-command, an unknown command and a dead link', () => {
  const doc = [
    'Run `fineflow submit pipeline.yaml --wacth` and `fineflow dev reboot`.',
    '',
    '```bash',
    'npx fineflow plan p.yaml --explain-cache --set a=1   # fine',
    'bin/fineflow.js frobnicate',
    '```',
    '',
    '| command | what it does |',
    '|---|---|',
    '| `status RUN [--tail]` | … |',
    '',
    'See [the guide](docs/nowhere.md) and `src/cli/no-such-file.ts`.',
    '',
    '```bash',
    'bash scripts/no-such-script.sh --fast && npm run -s no-such-script',
    'kubectl apply -n fineflow -f infra/k8s/   # a namespace, not the command',
    '```',
  ].join('\n');
  const problems = commandMentions(doc).flatMap((m) => checkCommandMention(m, cli).map((p) => `${m.line}: ${p}`));
  assert.deepEqual(problems, [
    '1: fineflow submit has no option --wacth (did you mean --watch?)',
    "1: fineflow dev has no sub-command 'reboot' (it has up, down, status, logs, seed)",
    "5: no fineflow command 'frobnicate'",
    '10: fineflow status has no option --tail',
  ]);
  assert.deepEqual(
    markdownLinks(doc).map((l) => l.target),
    ['docs/nowhere.md'],
  );
  assert.deepEqual(
    repositoryPathMentions(doc).map((m) => m.path),
    ['src/cli/no-such-file.ts'],
  );
  assert.deepEqual(
    commandLinePaths(doc).map((m) => `${m.line}: ${m.path}`),
    ['5: bin/fineflow.js', '15: scripts/no-such-script.sh'],
  );
  assert.deepEqual(
    npmScriptMentions(doc).map((m) => m.script),
    ['no-such-script'],
  );
});

test('a mention of a flag the CLI no longer defines fails the check', () => {
  const withoutWatch = cliOf(
    allCommands().map((c) =>
      c.name === 'submit' ? { ...c, options: c.options.filter((o) => o.name !== 'watch') } : c,
    ),
  );
  const problems = docFiles
    .flatMap((f) => commandMentions(readFileSync(path.join(root, f), 'utf8')))
    .flatMap((m) => checkCommandMention(m, withoutWatch));
  assert.ok(
    problems.some((p) => p.startsWith('fineflow submit has no option --watch')),
    problems.join('\n'),
  );
});

test('heading anchors follow GitHub: lower case, punctuation dropped, spaces to hyphens, repeats numbered', () => {
  const anchors = headingAnchors(
    '# A title\n## Serving (`fineflow serve`)\n```\n# not a heading\n```\n## Scale and per-stage latency\n## A title\n',
  );
  assert.deepEqual([...anchors], ['a-title', 'serving-fineflow-serve', 'scale-and-per-stage-latency', 'a-title-1']);
});

/** What the marked command prints (stdout, then stderr), run in-process from the repository root. */
async function printedBy(block: ShownOutput): Promise<string> {
  const result = await runCli(block.argv, { cwd: root, env: { NO_COLOR: '1', COLUMNS: '120' } });
  return result.stdout + result.stderr;
}

for (const file of docFiles) {
  test(`${file}: every output block it marks is what its command prints`, async () => {
    const { blocks, problems } = shownOutputBlocks(readFileSync(path.join(root, file), 'utf8'));
    const found = problems.map((p) => `${file}:${p}`);
    for (const block of blocks) {
      const printed = await printedBy(block);
      found.push(...shownOutputProblems(block, printed).map((p) => `${file}:${p.replace(/^line /, '')}`));
    }
    assert.deepEqual(found, []);
  });
}

test('the docs mark output for this check: the README and coming-from-argo.md', () => {
  const marked = docFiles.filter((f) => shownOutputBlocks(readFileSync(path.join(root, f), 'utf8')).blocks.length);
  for (const file of ['README.md', 'docs/coming-from-argo.md']) assert.ok(marked.includes(file), file);
});

test('the output check catches a changed line, a line the command no longer prints and a marker it cannot run', async () => {
  const doc = [
    '<!-- output: fineflow validate pipelines/quickstart.yaml -->',
    '```text',
    '✓ pipelines/quickstart.yaml is valid',
    '```',
    '<!-- output: fineflow plan docs/examples/argo/dag-diamond.yaml -->',
    '```text',
    '…',
    '┌─ level 0',
    '│  ● A     command@1.0.0  [cpu, 2h]',
    '…',
    '└─ finished',
    '```',
    '<!-- output: fineflow plan docs/examples/argo/dag-diamond.yaml -->',
    '```text',
    'pipeline dag-diamond',
    '```',
    '<!-- output: fineflow status run-1 -->',
    '```text',
    'run-1 succeeded',
    '```',
    '<!-- output: fineflow validate pipelines/quickstart.yaml -->',
    'no block',
  ].join('\n');
  const { blocks, problems } = shownOutputBlocks(doc);
  const found = [...problems];
  for (const block of blocks) found.push(...shownOutputProblems(block, await printedBy(block)));
  const plan = '`fineflow plan docs/examples/argo/dag-diamond.yaml`';
  assert.deepEqual(found, [
    '17: <!-- output: fineflow status run-1 -->: `fineflow status` output is not the same on every run or machine; mark only validate, plan, schema, help and --help output (plan without --explain-cache)',
    '21: <!-- output: fineflow validate pipelines/quickstart.yaml --> is not followed by a fenced block: put the output under it',
    `line 9: shown \`│  ● A     command@1.0.0  [cpu, 2h]\` is not what ${plan} prints there: it prints \`│  ● A     command@1.0.0  [cpu, 1h]\``,
    `line 11: shown \`└─ finished\` is not in what ${plan} prints after the lines above it`,
    `line 15: ${plan} prints more after \`pipeline dag-diamond\`: show it, or end the block with a \`…\` line`,
  ]);
});
