/**
 * The deployment files, checked offline: the Docker recipe's order, the compose file's refusal to
 * start without credentials and its hardening, and every Kubernetes manifest validated against the
 * Kubernetes (and KEDA) schemas that the `kubernetes-models` packages ship, plus the hardening,
 * resources, probes, autoscaling and network rules Fineflow requires of them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';

const INFRA = path.resolve(__dirname, '../../../infra');
type Json = Record<string, unknown>;

const asRecord = (value: unknown): Json =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

// ---------------------------------------------------------------- Dockerfile

interface DockerInstruction {
  readonly stage: number;
  readonly keyword: string;
  readonly args: string;
}

/** Instructions of a Dockerfile (continuation lines joined, comments dropped), numbered by stage. */
function dockerInstructions(text: string): DockerInstruction[] {
  const joined = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  let stage = -1;
  return joined.map((line) => {
    const [keyword = '', ...rest] = line.trim().split(/\s+/);
    if (keyword.toUpperCase() === 'FROM') stage += 1;
    return { stage, keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
}

describe('Dockerfile', () => {
  const instructions = dockerInstructions(readFileSync(path.join(INFRA, 'Dockerfile'), 'utf8'));
  const indexOf = (predicate: (i: DockerInstruction) => boolean): number => instructions.findIndex(predicate);

  test('builds the graph training engine after its sources are copied', () => {
    const setup = indexOf((i) => i.keyword === 'RUN' && i.args.includes('infra/tfjs-native/setup.sh'));
    const sources = indexOf((i) => i.keyword === 'COPY' && /^src\s/.test(i.args));
    assert.ok(setup >= 0, 'the recipe runs infra/tfjs-native/setup.sh');
    assert.ok(sources >= 0, 'the recipe copies src/');
    assert.ok(sources < setup, 'COPY src must come before the setup that compiles src/ml/graph/native');
    assert.equal(instructions[sources]?.stage, instructions[setup]?.stage, 'sources and setup in the same stage');
  });

  test('the final image checks that the native backend and the graph addon load', () => {
    const last = Math.max(...instructions.map((i) => i.stage));
    const check = instructions.find(
      (i) => i.stage === last && i.keyword === 'RUN' && i.args.includes('fineflow_tf_graph.node'),
    );
    assert.ok(check, 'a RUN in the final stage requires build/native/fineflow_tf_graph.node');
  });

  test('installs no dev dependencies and runs as a non-root user', () => {
    const installs = instructions.filter((i) => i.keyword === 'RUN' && /\bnpm (ci|install|i)\b/.test(i.args));
    assert.ok(installs.length > 0);
    for (const install of installs) assert.match(install.args, /--omit=dev/, `npm without --omit=dev: ${install.args}`);
    const last = Math.max(...instructions.map((i) => i.stage));
    const user = instructions.filter((i) => i.stage === last && i.keyword === 'USER').at(-1);
    assert.ok(user, 'the final stage sets USER');
    assert.doesNotMatch(user.args, /^(root|0)(:|$)/);
  });
});

// ---------------------------------------------------------------- compose

describe('compose.yaml', () => {
  const text = readFileSync(path.join(INFRA, 'compose.yaml'), 'utf8');
  const services = asRecord(asRecord(parse(text, { merge: true })).services);

  test('has no default credential: every secret is a required variable', () => {
    assert.doesNotMatch(text, /\$\{[A-Z0-9_]*(PASSWORD|SECRET)[A-Z0-9_]*:-/, 'a secret with a :- default');
    const secretKeys = /PASSWORD|SECRET|_PWD$|API_KEY/;
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(asRecord(asRecord(service).environment))) {
        if (!secretKeys.test(key) && !String(value).includes('@')) continue;
        if (!secretKeys.test(key)) {
          // a URL with credentials: the password part must be a required variable
          if (/:\/\/[^:]+:[^@]+@/.test(String(value)))
            assert.match(String(value), /:\$\{[A-Z0-9_]+:\?[^}]*\}@/, `${name}.${key}`);
          continue;
        }
        assert.match(
          String(value),
          /^\$\{[A-Z0-9_]+:\?[^}]+\}$/,
          `${name}.environment.${key} must be \${VAR:?message}`,
        );
      }
    }
  });

  test('every service drops all capabilities, forbids new privileges and has CPU and memory limits', () => {
    for (const [name, raw] of Object.entries(services)) {
      const service = asRecord(raw);
      assert.deepEqual(service.cap_drop, ['ALL'], `${name}.cap_drop`);
      assert.ok(asArray(service.security_opt).includes('no-new-privileges:true'), `${name}.security_opt`);
      assert.ok(
        !asArray(service.security_opt).some((o) => String(o).includes('unconfined')),
        `${name} keeps the default seccomp profile`,
      );
      const limits = asRecord(asRecord(asRecord(service.deploy).resources).limits);
      assert.ok(limits.cpus && limits.memory, `${name}.deploy.resources.limits`);
    }
  });

  test("Fineflow's containers and MinIO run as uid 1000 on a read-only root filesystem", () => {
    const ours = Object.entries(services).filter(([name]) => name.startsWith('worker-') || name.startsWith('minio'));
    assert.ok(ours.length >= 5);
    for (const [name, raw] of ours) {
      const service = asRecord(raw);
      assert.equal(service.read_only, true, `${name}.read_only`);
      assert.equal(service.user, '1000:1000', `${name}.user`);
    }
  });

  test('workers use the least-privilege MinIO user and report health', () => {
    for (const [name, raw] of Object.entries(services).filter(([n]) => n.startsWith('worker-'))) {
      const service = asRecord(raw);
      assert.equal(asRecord(service.environment).FINEFLOW_S3_ACCESS_KEY, 'fineflow-worker', name);
      assert.ok(asArray(service.command).includes('--health-file'), `${name} writes a health file`);
      assert.ok(asRecord(service.healthcheck).test, `${name}.healthcheck`);
    }
  });
});

// ---------------------------------------------------------------- Kubernetes

interface Manifest {
  readonly file: string;
  readonly doc: Json;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(entry) ? [full] : [];
  });
}

function loadManifests(): Manifest[] {
  return yamlFiles(path.join(INFRA, 'k8s')).flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8'))
      .map((doc) => {
        assert.equal(doc.errors.length, 0, `${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
        return { file: path.relative(INFRA, file), doc: asRecord(doc.toJS()) };
      })
      .filter((m) => Object.keys(m.doc).length > 0),
  );
}

/** The kubernetes-models class for a manifest's apiVersion and kind (KEDA's from @kubernetes-models/keda). */
async function modelClass(apiVersion: string, kind: string): Promise<new (data: Json) => { validate(): void }> {
  const specifier = apiVersion.startsWith('keda.sh/')
    ? `@kubernetes-models/keda/${apiVersion}`
    : `kubernetes-models/${apiVersion}`;
  const module = (await import(specifier)) as Record<string, unknown>;
  const model = module[kind];
  assert.equal(typeof model, 'function', `no schema for ${apiVersion} ${kind}`);
  return model as new (data: Json) => { validate(): void };
}

async function validateManifest(doc: Json): Promise<void> {
  const Model = await modelClass(String(doc.apiVersion), String(doc.kind));
  new Model(doc).validate();
}

/** Pod templates of workloads, with the manifest they come from. */
function podSpecs(manifests: readonly Manifest[]): { name: string; spec: Json }[] {
  return manifests
    .filter((m) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(String(m.doc.kind)))
    .map((m) => ({
      name: `${m.file}:${String(asRecord(m.doc.metadata).name)}`,
      spec: asRecord(asRecord(asRecord(m.doc.spec).template).spec),
    }));
}

describe('Kubernetes manifests', () => {
  const manifests = loadManifests();

  test('every manifest validates against the Kubernetes and KEDA schemas', async () => {
    assert.ok(manifests.length >= 10, `found ${manifests.length} manifests`);
    for (const manifest of manifests) {
      await assert.doesNotReject(validateManifest(manifest.doc), `${manifest.file} ${String(manifest.doc.kind)}`);
    }
  });

  test('the schema check catches a malformed manifest', async () => {
    const deployment = manifests.find((m) => m.doc.kind === 'Deployment');
    assert.ok(deployment);
    const broken = structuredClone(deployment.doc);
    const container = asRecord(asArray(asRecord(asRecord(asRecord(broken.spec).template).spec).containers)[0]);
    container.securityContext = { capabilities: { drop: 'ALL' } };
    await assert.rejects(validateManifest(broken), /capabilities\/drop must be array/);
  });

  test('no Secret and no credential value is committed', () => {
    for (const { file, doc } of manifests) {
      assert.notEqual(doc.kind, 'Secret', `${file} commits a Secret`);
      if (doc.kind === 'ConfigMap') {
        for (const key of Object.keys(asRecord(doc.data)))
          assert.doesNotMatch(key, /SECRET|PASSWORD|API_KEY|ACCESS_KEY/, `${file}: ${key} in a ConfigMap`);
      }
    }
  });

  test('pods are hardened: non-root, read-only root, no capabilities, seccomp RuntimeDefault, no token', () => {
    const pods = podSpecs(manifests);
    assert.ok(pods.length >= 4);
    for (const { name, spec } of pods) {
      assert.equal(spec.automountServiceAccountToken, false, `${name}: automountServiceAccountToken`);
      const podSecurity = asRecord(spec.securityContext);
      assert.equal(podSecurity.runAsNonRoot, true, `${name}: runAsNonRoot`);
      assert.deepEqual(podSecurity.seccompProfile, { type: 'RuntimeDefault' }, `${name}: seccompProfile`);
      for (const raw of [...asArray(spec.containers), ...asArray(spec.initContainers)]) {
        const container = asRecord(raw);
        const where = `${name}/${String(container.name)}`;
        const security = asRecord(container.securityContext);
        assert.equal(security.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
        assert.equal(security.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
        assert.deepEqual(asRecord(security.capabilities).drop, ['ALL'], `${where}: capabilities.drop`);
        const resources = asRecord(container.resources);
        for (const kind of ['requests', 'limits']) {
          const amounts = asRecord(resources[kind]);
          assert.ok(
            amounts.cpu !== undefined && amounts.memory !== undefined,
            `${where}: resources.${kind}.cpu and .memory`,
          );
        }
        assert.ok(container.livenessProbe && container.readinessProbe, `${where}: liveness and readiness probes`);
      }
    }
  });

  test('credentials come from Secrets that must exist, not optional ones', () => {
    for (const { name, spec } of podSpecs(manifests)) {
      for (const raw of asArray(spec.containers)) {
        for (const env of asArray(asRecord(raw).env).map(asRecord)) {
          const ref = asRecord(asRecord(env.valueFrom).secretKeyRef);
          if (/S3_(ACCESS|SECRET)_KEY|ROOT_(USER|PASSWORD)/.test(String(env.name))) {
            assert.ok(ref.name, `${name}: ${String(env.name)} from a Secret`);
            assert.notEqual(ref.optional, true, `${name}: ${String(env.name)} must not be optional`);
          }
        }
      }
    }
  });

  test('each worker pool is a Deployment autoscaled on its task-queue backlog', () => {
    const workers = manifests.filter(
      (m) => m.doc.kind === 'Deployment' && String(asRecord(m.doc.metadata).name).startsWith('fineflow-worker-'),
    );
    assert.deepEqual(workers.map((w) => String(asRecord(w.doc.metadata).name)).sort(), [
      'fineflow-worker-control',
      'fineflow-worker-cpu',
      'fineflow-worker-train',
    ]);
    for (const worker of workers) {
      const name = String(asRecord(worker.doc.metadata).name);
      const pool = name.replace('fineflow-worker-', '');
      const scaled = manifests.find(
        (m) => m.doc.kind === 'ScaledObject' && asRecord(asRecord(m.doc.spec).scaleTargetRef).name === name,
      );
      assert.ok(scaled, `${name} has a ScaledObject`);
      const trigger = asRecord(asArray(asRecord(scaled.doc.spec).triggers)[0]);
      assert.equal(trigger.type, 'temporal');
      assert.equal(asRecord(trigger.metadata).taskQueue, `fineflow-${pool}`);
    }
  });

  test('worker pods serve /metrics and probe /healthz and /readyz on the same named port, scraped by annotation', () => {
    const workers = manifests.filter(
      (m) => m.doc.kind === 'Deployment' && String(asRecord(m.doc.metadata).name).startsWith('fineflow-worker-'),
    );
    assert.equal(workers.length, 3);
    for (const worker of workers) {
      const name = String(asRecord(worker.doc.metadata).name);
      const template = asRecord(asRecord(worker.doc.spec).template);
      const annotations = asRecord(asRecord(template.metadata).annotations);
      assert.equal(annotations['prometheus.io/scrape'], 'true', name);
      const container = asRecord(asArray(asRecord(template.spec).containers)[0]);
      const args = asArray(container.args).map(String);
      const address = args[args.indexOf('--metrics') + 1] ?? '';
      assert.match(address, /^0\.0\.0\.0:\d+$/, `${name} passes --metrics on all interfaces`);
      const port = asArray(container.ports)
        .map(asRecord)
        .find((p) => p.name === 'metrics');
      assert.equal(String(port?.containerPort), address.split(':')[1], `${name} declares the metrics port`);
      assert.equal(annotations['prometheus.io/port'], address.split(':')[1], name);
      const path = (probe: string) => asRecord(asRecord(container[probe]).httpGet);
      assert.deepEqual(path('livenessProbe'), { path: '/healthz', port: 'metrics' }, name);
      assert.deepEqual(path('startupProbe'), { path: '/healthz', port: 'metrics' }, name);
      assert.deepEqual(path('readinessProbe'), { path: '/readyz', port: 'metrics' }, name);
    }
  });

  test('workers reach only DNS, Temporal and MinIO, and a default-deny policy covers the namespace', () => {
    const policies = manifests.filter((m) => m.doc.kind === 'NetworkPolicy' && !m.file.includes('examples'));
    const deny = policies.find((p) => Object.keys(asRecord(asRecord(p.doc.spec).podSelector)).length === 0);
    assert.ok(deny, 'a default-deny NetworkPolicy');
    assert.deepEqual(asRecord(deny.doc.spec).policyTypes, ['Ingress', 'Egress']);
    assert.equal(asRecord(deny.doc.spec).egress, undefined);
    const workers = policies.find(
      (p) =>
        asRecord(asRecord(asRecord(p.doc.spec).podSelector).matchLabels)['app.kubernetes.io/name'] ===
        'fineflow-worker',
    );
    assert.ok(workers, 'a NetworkPolicy for the workers');
    const egress = asArray(asRecord(workers.doc.spec).egress).map(asRecord);
    const ports = egress.flatMap((rule) => asArray(rule.ports).map((p) => asRecord(p).port));
    assert.deepEqual([...new Set(ports)].sort(), [53, 7233, 9000]);
    for (const rule of egress) assert.ok(asArray(rule.to).length > 0, 'every egress rule names its destination');
    const ingress = asArray(asRecord(workers.doc.spec).ingress).map(asRecord);
    const served = ingress.flatMap((rule) => asArray(rule.ports).map((p) => asRecord(p).port));
    assert.deepEqual(served, [9464], 'workers serve only their metrics and probe port');
    for (const rule of ingress) assert.ok(asArray(rule.from).length > 0, 'every ingress rule names its source');
  });

  test('TLS examples exist for self-hosted Temporal, Temporal Cloud (API key and mTLS) and S3 with a CA', () => {
    const configs = manifests.filter((m) => m.doc.kind === 'ConfigMap').map((m) => asRecord(m.doc.data));
    assert.ok(configs.some((c) => c.TEMPORAL_TLS_CA && c.TEMPORAL_TLS_CERT && c.TEMPORAL_TLS_KEY && c.FINEFLOW_S3_CA));
    assert.ok(configs.some((c) => String(c.TEMPORAL_ADDRESS).endsWith('.api.temporal.io:7233')));
    assert.ok(configs.some((c) => String(c.TEMPORAL_ADDRESS).endsWith('.tmprl.cloud:7233') && c.TEMPORAL_TLS_CERT));
  });
});
