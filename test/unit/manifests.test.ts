// The shipped manifests: valid Kubernetes objects, least privilege, and imported images used as imported.
import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifests, type Manifest } from '../../src/stack/manifests.js';
import { isFloatingTag } from '../../src/images/image-names.js';
import { loadImageSpecs } from '../../src/images/images.js';
import { repoRoot } from '../helpers/harness.js';

const manifestsDir = join(repoRoot, 'k8s', 'manifests');
const manifests = await loadManifests(manifestsDir, repoRoot);

type PodSpec = {
  hostNetwork?: boolean;
  hostPID?: boolean;
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type?: string } };
  containers: {
    name: string;
    image: string;
    imagePullPolicy?: string;
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    securityContext?: {
      privileged?: boolean;
      allowPrivilegeEscalation?: boolean;
      capabilities?: { drop?: string[]; add?: string[] };
    };
  }[];
};

function podSpecs(list: Manifest[]): { owner: string; spec: PodSpec }[] {
  return list
    .filter((m) => ['Deployment', 'Job', 'StatefulSet'].includes(m.object.kind))
    .map((m) => ({
      owner: `${m.object.kind}/${m.object.metadata.name}`,
      spec: (m.object.spec as { template: { spec: PodSpec } }).template.spec,
    }));
}

describe('k8s/manifests', () => {
  it('are all valid against the Kubernetes schemas, in file order, namespace first', () => {
    expect(manifests.map((m) => `${m.object.kind}/${m.object.metadata.name}`)).toEqual([
      'Namespace/keystone',
      'PersistentVolumeClaim/redis-data',
      'Deployment/redis',
      'Service/redis',
      'Service/redis-external',
      'NetworkPolicy/redis-clients-only',
      'Deployment/celery-worker',
      'Job/fenicsx-template',
      'Job/lammps-template',
      'Job/openfoam-template',
    ]);
  });

  it('run every workload with least privilege and limits', () => {
    for (const { owner, spec } of podSpecs(manifests)) {
      expect(spec.hostNetwork ?? false, owner).toBe(false);
      expect(spec.hostPID ?? false, owner).toBe(false);
      expect(spec.securityContext?.runAsNonRoot, owner).toBe(true);
      expect(spec.securityContext?.seccompProfile?.type, owner).toBe('RuntimeDefault');
      for (const c of spec.containers) {
        expect(c.securityContext?.privileged ?? false, `${owner} ${c.name}`).toBe(false);
        expect(c.securityContext?.allowPrivilegeEscalation, `${owner} ${c.name}`).toBe(false);
        expect(c.securityContext?.capabilities?.drop, `${owner} ${c.name}`).toEqual(['ALL']);
        expect(c.securityContext?.capabilities?.add, `${owner} ${c.name}`).toBeUndefined();
        expect(c.resources?.limits?.memory && c.resources.limits.cpu, `${owner} ${c.name} limits`).toBeTruthy();
        expect(c.resources?.requests?.memory && c.resources.requests.cpu, `${owner} ${c.name} requests`).toBeTruthy();
      }
    }
  });

  it('use the locally built images by version tag with IfNotPresent, never :latest', async () => {
    const local = (await loadImageSpecs(join(repoRoot, 'images', 'compose.yaml'))).map((s) => s.image);
    expect(local).toEqual([
      'keystone-celery-worker:0.1.0',
      'fenicsx-toolbox:0.1.0',
      'keystone/lammps:0.1.0',
      'openfoam-toolbox:0.1.0',
    ]);
    const used = podSpecs(manifests).flatMap(({ spec }) => spec.containers);
    for (const c of used) {
      expect(isFloatingTag(c.image), c.image).toBe(false);
      expect(c.imagePullPolicy, c.image).toBe('IfNotPresent');
    }
    for (const image of local) expect(used.map((c) => c.image)).toContain(image);
  });

  it('give the simulation templates their resources, suspended, with ./data mounted', () => {
    for (const tool of ['fenicsx', 'lammps', 'openfoam']) {
      const job = manifests.find((m) => m.object.metadata.name === `${tool}-template`)!.object as unknown as {
        metadata: { labels: Record<string, string> };
        spec: { suspend: boolean; template: { spec: PodSpec & { volumes: { hostPath?: { path: string } }[] } } };
      };
      expect(job.spec.suspend).toBe(true);
      expect(job.metadata.labels['keystone.io/simulation-template']).toBe(tool);
      const c = job.spec.template.spec.containers[0]!;
      expect(c.resources).toEqual({ requests: { memory: '512Mi', cpu: '500m' }, limits: { memory: '4Gi', cpu: '2' } });
      expect(job.spec.template.spec.volumes[0]?.hostPath?.path).toBe(`/data/${tool}`);
    }
  });
});

describe('loadManifests rejects what is not a Kubernetes object', () => {
  async function dirWith(text: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'keystone-manifests-'));
    await writeFile(join(dir, '10-x.yaml'), text);
    return dir;
  }

  it('unknown kinds, missing names or namespaces, invalid fields, broken YAML', async () => {
    await expect(
      loadManifests(await dirWith('apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: k\n'), '/'),
    ).rejects.toThrow(/keystone does not apply v1\/Pod/);
    await expect(
      loadManifests(await dirWith('apiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\n  namespace: k\n'), '/'),
    ).rejects.toThrow(/metadata\.name "Bad_Name" is not a valid name/);
    await expect(
      loadManifests(await dirWith('apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n'), '/'),
    ).rejects.toThrow(/has no metadata\.namespace/);
    await expect(
      loadManifests(
        await dirWith(
          '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: k\nspec:\n  ports: 80\n',
        ),
        '/',
      ),
    ).rejects.toThrow(/10-x\.yaml:7: Service s is not a valid Kubernetes object: spec\.ports must be array/);
    await expect(loadManifests(await dirWith('kind: [\n'), '/')).rejects.toThrow(/10-x\.yaml:\d+:\d+: invalid YAML/);
  });
});
