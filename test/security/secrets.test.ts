/**
 * Item 2 of docs/security.md, the parts without a run: `secrets:` validation (codes and
 * positions), the plan carrying references only, the worker-side resolver (what the operator
 * allows), scrubbing and URI redaction. The end-to-end canary is test/security/secret-canary.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadSecretsConfig } from '../../src/config';
import { redactUri, redactUrisIn } from '../../src/core/security/redact';
import { createSecretResolver, scrubError, scrubSecrets } from '../../src/security/secrets';
import { compilePlan, validatePipeline } from '../../src/spec';
import { resolveStageInputs } from '../../src/core/spec/expressions';

const CANARY = 'CANARY-8f2c1e-secret-value';

function pipeline(secrets: string, stageWith: string, extra = ''): string {
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: secrets-test}
${secrets}
stages:
  select:
    uses: select-model
    with:
${stageWith}
${extra}`;
}

void describe('secrets: validation', () => {
  void it('compiles a secret input to a plan that holds the reference, never a value', () => {
    const { plan, diagnostics } = compilePlan(
      pipeline(
        'secrets:\n  modelToken: {env: MODEL_TOKEN}',
        '      candidates: [https://models.example.com/m/model.json]\n      auth: ${{ secrets.modelToken }}',
      ),
      'p.yaml',
    );
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(plan?.secrets, { modelToken: { env: 'MODEL_TOKEN' } });
    assert.equal(plan?.stages[0]?.with.auth, '${{ secrets.modelToken }}');
    // The workflow's resolution yields a sealed reference: still no value.
    const resolved = resolveStageInputs(plan?.stages[0]?.with ?? {}, {
      params: {},
      stages: {},
      secrets: plan?.secrets ?? {},
    });
    assert.deepEqual(resolved.auth, { $secret: 'modelToken', reference: { env: 'MODEL_TOKEN' } });
  });

  void it('reports unknown secrets, secrets in non-secret inputs, literals in secret inputs, and bad references, with positions', () => {
    const result = validatePipeline(
      pipeline(
        'secrets:\n  token: {env: MODEL_TOKEN}\n  both: {env: A, file: /run/secrets/a}\n  relative: {file: secrets/a}\n  unused: {env: B}',
        [
          '      candidates: ["https://h/${{ secrets.token }}/model.json"]',
          '      auth: ${{ secrets.tokn }}',
          '      seed: 1',
        ].join('\n'),
        `  other:
    uses: evaluate
    when: \${{ secrets.token }}
    with:
      model: registry://m@champion
      data: s3://datasets/d/
      auth: Bearer ${CANARY}`,
      ),
      'p.yaml',
    );
    const got = result.diagnostics.map((d) => [d.code, d.line, d.column]);
    assert.deepEqual(got, [
      ['bad-secret-reference', 6, 9],
      ['unused-secret', 7, 3],
      ['bad-value', 7, 20],
      ['unused-secret', 8, 3],
      ['secret-in-non-secret-input', 13, 20],
      ['unknown-secret', 14, 17],
      ['secret-not-allowed', 18, 15],
      ['secret-literal', 22, 13],
    ]);
    const hints = new Map(result.diagnostics.map((d) => [d.code, d.hint]));
    assert.equal(hints.get('unknown-secret'), 'did you mean `secrets.token`?');
    assert.equal(
      hints.get('secret-in-non-secret-input'),
      'pass the secret through a secret input of select-model (auth) instead',
    );
    assert.match(hints.get('secret-literal') ?? '', /secrets:/);
    assert.ok(!JSON.stringify(result.diagnostics).includes(CANARY), 'a diagnostic never quotes a secret input');
  });
});

void describe('secrets: the worker-side resolver', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ff-secrets-'));
    await writeFile(join(dir, 'token'), `${CANARY}\n`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const sealed = (reference: { env: string } | { file: string }) => ({
    auth: { $secret: 'token', reference },
    other: 'kept',
  });

  void it('opens env and file references the operator allows', async () => {
    const resolver = createSecretResolver(
      loadSecretsConfig({ FINEFLOW_SECRET_ENV: 'MODEL_*', FINEFLOW_SECRET_FILE_ROOTS: dir }),
      { MODEL_TOKEN: CANARY },
    );
    assert.deepEqual(await resolver.open(sealed({ env: 'MODEL_TOKEN' })), {
      inputs: { auth: CANARY, other: 'kept' },
      values: [CANARY],
    });
    assert.deepEqual((await resolver.open(sealed({ file: join(dir, 'token') }))).inputs.auth, CANARY);
  });

  void it("refuses what the operator did not expose: other variables (the worker's own keys), files outside the roots", async () => {
    const env = { FINEFLOW_S3_SECRET_KEY: CANARY, MODEL_TOKEN: CANARY };
    const resolver = createSecretResolver(
      loadSecretsConfig({ FINEFLOW_SECRET_ENV: 'MODEL_TOKEN', FINEFLOW_SECRET_FILE_ROOTS: join(dir, 'sub') }),
      env,
    );
    await assert.rejects(resolver.open(sealed({ env: 'FINEFLOW_S3_SECRET_KEY' })), {
      type: 'FineflowInvalidInput',
      message: /FINEFLOW_SECRET_ENV/,
    });
    await assert.rejects(resolver.open(sealed({ file: join(dir, 'token') })), {
      type: 'FineflowInvalidInput',
      message: /outside the directories/,
    });
    const none = createSecretResolver(loadSecretsConfig({}), env);
    await assert.rejects(none.open(sealed({ env: 'MODEL_TOKEN' })), /FINEFLOW_SECRET_ENV/);
    await assert.rejects(none.open(sealed({ file: join(dir, 'token') })), /FINEFLOW_SECRET_FILE_ROOTS/);
    assert.throws(() => loadSecretsConfig({ FINEFLOW_SECRET_ENV: 'BAD-NAME' }), /FINEFLOW_SECRET_ENV/);
  });

  void it('scrubs opened values out of text and errors', () => {
    assert.equal(scrubSecrets(`header was ${CANARY}!`, [CANARY]), 'header was ***!');
    const error = scrubError(new Error(`failed with ${CANARY}`, { cause: new Error(`inner ${CANARY}`) }), [CANARY]);
    assert.ok(!`${error.message} ${(error.cause as Error).message} ${error.stack}`.includes(CANARY));
  });
});

void describe('URI redaction', () => {
  void it('drops user info and query strings wherever a URI is recorded', () => {
    assert.equal(
      redactUri('https://user:pw@models.example.com/m/model.json?X-Amz-Signature=abc#f'),
      'https://redacted@models.example.com/m/model.json?redacted#f',
    );
    assert.equal(redactUri('s3://bucket/key'), 's3://bucket/key');
    // A registry URI's `@` names the version, not a user: stage logs must keep it readable.
    assert.equal(
      redactUrisIn('fine-tuning registry://surface-cnn@latest on s3://d/x/'),
      'fine-tuning registry://surface-cnn@latest on s3://d/x/',
    );
    assert.equal(
      redactUrisIn('loading http://u:p@h:8080/x?token=t failed'),
      'loading http://redacted@h:8080/x?redacted failed',
    );
    assert.equal(
      redactUrisIn('key AKIAIOSFODNN7EXAMPLE, secret_access_key = abc123 and {"password": "p w"}; AKIA is a word'),
      'key redacted, secret_access_key = redacted and {"password": "redacted"}; AKIA is a word',
    );
  });
});
