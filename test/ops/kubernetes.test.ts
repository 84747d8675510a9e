/**
 * deploy/: the Kubernetes manifests. The built-in kinds are validated against the models the
 * official Kubernetes Java client generates from the API's OpenAPI spec (unknown or missing
 * fields, wrong types); a broken copy must be refused, so the validator is known to look. The
 * Prometheus Operator's kinds (ServiceMonitor, PrometheusRule) have no such model here: their
 * rules pass promtool (alert-rules.test.ts) and their wiring is checked below. Then what on-call
 * relies on: probes, sizing from CAPACITY.md, non-root and read-only, labels that match up.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { KUBERNETES_DEPLOYMENT } from '../../prometheus/generate.js';
import { validateKubernetes } from '../support/kubernetes-java.js';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

const kustomization = parse(readFileSync('deploy/kustomization.yaml', 'utf8')) as {
  namespace: string;
  resources: string[];
  images: Array<{ name: string; newTag: string }>;
};
const manifests: Manifest[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(`deploy/${file}`, 'utf8')).map((d) => d.toJS() as Manifest),
);
const of = (kind: string) => manifests.find((m) => m.kind === kind)!;
const OPERATOR_KINDS = new Set(['ServiceMonitor', 'PrometheusRule']);

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are read as plain YAML */
const deployment = of('Deployment') as any;
const pod = deployment.spec.template.spec;
const container = pod.containers[0];

describe('deploy/', () => {
  it('lists every manifest in kustomization.yaml (all but the example Secret)', () => {
    const files = readdirSync('deploy').filter(
      (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'secret.example.yaml',
    );
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(manifests.map((m) => m.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Namespace',
      'PodDisruptionBudget',
      'PrometheusRule',
      'Service',
      'ServiceMonitor',
    ]);
  });

  it('are valid Kubernetes objects by the API models generated from its OpenAPI spec, and a broken copy is not', async () => {
    const builtIn = [
      ...manifests.filter((m) => !OPERATOR_KINDS.has(m.kind)),
      parse(readFileSync('deploy/secret.example.yaml', 'utf8')) as Manifest,
    ];
    const broken = structuredClone(deployment);
    broken.spec.template.spec.containers[0].readinessProbe.httpGet.paht = '/readyz';
    const wrongType = structuredClone(of('Service')) as any;
    wrongType.spec.ports[0].port = 'metrics';
    const verdicts = await validateKubernetes([...builtIn, broken, wrongType]);
    expect(verdicts.slice(0, builtIn.length)).toEqual(builtIn.map((m) => ({ kind: m.kind, verdict: 'ok' })));
    expect(verdicts[builtIn.length]!.verdict).toContain(
      'The field `paht` in the JSON string is not defined in the `V1HTTPGetAction` properties',
    );
    expect(verdicts[builtIn.length + 1]!.verdict).toContain('NumberFormatException');
  }, 300_000);

  it('probe /healthz for liveness and /readyz for readiness on the port pairguard serves', () => {
    const port = container.ports.find((p: { name: string }) => p.name === 'metrics');
    expect(container.env).toContainEqual({ name: 'HTTP_PORT', value: String(port.containerPort) });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    // The graceful stop is bounded at 30 s (close-with-grace in src/cli/main.ts): Kubernetes must wait longer.
    expect(readFileSync('src/cli/main.ts', 'utf8')).toContain('closeWithGrace({ delay: 30_000 }');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30);
  });

  it('size instances as CAPACITY.md plans them', () => {
    const plan = /^\| pairguard instances[^|]*\| (\d+) \| (\d+) vCPU, (\d+) MB/m.exec(
      readFileSync('CAPACITY.md', 'utf8'),
    );
    expect(plan, 'CAPACITY.md "The plan" row for pairguard instances').not.toBeNull();
    const [, instances, cpus, mb] = plan!;
    expect(deployment.spec.replicas).toBe(Number(instances));
    expect(container.resources).toEqual({ requests: { cpu: cpus, memory: `${mb}Mi` }, limits: { memory: `${mb}Mi` } });
    expect((of('PodDisruptionBudget').spec as any).minAvailable).toBe(Number(instances) - 1);
  });

  it('run as non-root with a read-only root filesystem and no capabilities (the restricted Pod Security Standard)', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(of('Namespace').metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    // The image's user is the one the pod runs as.
    expect(readFileSync('Dockerfile', 'utf8')).toMatch(/^USER node$/m);
  });

  it('wire the pods, Service, ServiceMonitor and PrometheusRule to one another and to the rules', () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    const service = of('Service') as any;
    expect(Object.entries(service.spec.selector).every(([k, v]) => labels[k] === v)).toBe(true);
    expect(service.spec.ports[0]).toMatchObject({ name: 'metrics', targetPort: 'metrics' });
    const monitor = of('ServiceMonitor') as any;
    expect(Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => service.metadata.labels[k] === v)).toBe(
      true,
    );
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    // The ServiceMonitor's job label is the Service's name: the generated rules select that job in this namespace.
    expect({ job: service.metadata.name, namespace: kustomization.namespace }).toEqual(KUBERNETES_DEPLOYMENT);
    expect(of('PrometheusRule').metadata.namespace).toBe(kustomization.namespace);
    // Secrets are files; the ConfigMap holds none.
    expect(container.env).toContainEqual({ name: 'REDIS_URL_FILE', value: '/var/run/secrets/pairguard/redis-url' });
    expect(Object.keys(of('ConfigMap').data!).filter((k) => /PASSWORD|TOKEN|REDIS_URL/.test(k))).toEqual([]);
  });

  it('deploy the version package.json names', () => {
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(kustomization.images).toEqual([{ name: container.image, newTag: version }]);
  });
});
