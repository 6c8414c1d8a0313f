import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { hostPortsOf, parseClusterConfig, resolveHostPaths } from '../../src/cluster/config.js';
import { repoRoot } from '../helpers/harness.js';

const configPath = join(repoRoot, 'k8s', 'configs', 'k3d-cluster-config.yaml');
const text = readFileSync(configPath, 'utf8');
const schema = JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'k3d-config-v1alpha5.schema.json'), 'utf8'));

// The schema as k3d applies it: with gojsonschema's hostname and ipv4 formats.
const { gojsonschemaFormats } = await import('../../scripts/generate-k3d-validator.mjs');

function validateWithK3dSchema(doc: unknown) {
  const ajv = new Ajv({ allErrors: true, strict: false, formats: gojsonschemaFormats });
  const validate = ajv.compile(schema);
  return { ok: validate(doc) as boolean, errors: validate.errors };
}

describe('k8s/configs/k3d-cluster-config.yaml', () => {
  it("validates against k3d's official v1alpha5 JSON schema", () => {
    const { ok, errors } = validateWithK3dSchema(parse(text));
    expect(errors).toBeNull();
    expect(ok).toBe(true);
  });

  it('the schema check can fail: a field k3d does not know is rejected', () => {
    expect(validateWithK3dSchema({ ...parse(text), workers: 3 }).ok).toBe(false);
  });

  it('has the shape the project needs', () => {
    const config = parseClusterConfig(text, configPath);
    expect(config.metadata.name).toBe('keystone-cluster');
    expect(config.servers).toBe(2);
    expect(config.agents).toBe(3);
    expect(config.ports).toEqual([
      { port: '8080:80', nodeFilters: ['loadbalancer'] },
      { port: '8443:443', nodeFilters: ['loadbalancer'] },
      { port: '6379:6379', nodeFilters: ['loadbalancer'] },
    ]);
    expect(config.volumes).toEqual([{ volume: './data:/data', nodeFilters: ['all'] }]);
    expect(config.registries?.create?.hostPort).toBe('5000');
    expect(config.options?.k3d?.wait).toBe(true);
    expect(config.options?.k3d?.timeout).toBeDefined();
    expect(hostPortsOf(config)).toEqual([8080, 8443, 6379, 5000]);
  });

  it('the resolved config (what k3d gets) still validates against the schema', () => {
    const resolved = resolveHostPaths(parseClusterConfig(text, configPath), '/home/ana/keystone');
    expect(resolved.volumes?.[0]?.volume).toBe('/home/ana/keystone/data:/data');
    expect(validateWithK3dSchema(resolved).ok).toBe(true);
  });
});

describe('parseClusterConfig errors point at file:line:col', () => {
  const base =
    'apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: keystone-cluster\nservers: 2\nagents: 3\n';

  it('invalid YAML', () => {
    expect(() => parseClusterConfig(`${base}ports:\n  - port: "8080:80\n`, 'c.yaml')).toThrow(
      /^c\.yaml:9:1: invalid YAML: Missing closing "quote/,
    );
  });

  it('wrong apiVersion and kind', () => {
    // (k3d.io/v1alpha4 and v1alpha3 are migrated, as k3d does: test/unit/k3d-config.test.ts.)
    expect(() => parseClusterConfig(base.replace('k3d.io/v1alpha5', 'k3d.io/v1'), 'c.yaml')).toThrow(
      'c.yaml:1:13: apiVersion: "k3d.io/v1" is not a k3d config version k3d v5.8.3 reads',
    );
    expect(() => parseClusterConfig(base.replace('Simple', 'Cluster'), 'c.yaml')).toThrow(
      'c.yaml:2:7: kind: must be "Simple"',
    );
  });

  it('unknown fields, with the name of the field', () => {
    expect(() => parseClusterConfig(`${base}workers: 3\n`, 'c.yaml')).toThrow('unknown field "workers"');
  });

  it('servers 0, a bad cluster name, duplicate host ports', () => {
    expect(() => parseClusterConfig(base.replace('servers: 2', 'servers: 0'), 'c.yaml')).toThrow(
      'c.yaml:5:10: servers: must be at least 1',
    );
    expect(() => parseClusterConfig(base.replace('keystone-cluster', 'Keystone-Cluster'), 'c.yaml')).toThrow(
      /metadata\.name: must be lower-case/,
    );
    // k3d's schema says "format: hostname" (gojsonschema's rxHostname): an underscore fails there first.
    expect(() => parseClusterConfig(base.replace('keystone-cluster', 'keystone_cluster'), 'c.yaml')).toThrow(
      'c.yaml:4:9: metadata.name: must be a valid hostname',
    );
    expect(() => parseClusterConfig(`${base}ports:\n  - port: 8080:80\n  - port: 8080:443\n`, 'c.yaml')).toThrow(
      'c.yaml:9:11: ports.1.port: host port 8080 is already used by ports[0]',
    );
  });

  it('duplicate keys are YAML errors', () => {
    expect(() => parseClusterConfig(`${base}agents: 1\n`, 'c.yaml')).toThrow(
      /c\.yaml:7:1: invalid YAML: Map keys must be unique/,
    );
  });
});

describe('resolveHostPaths', () => {
  it('makes relative host paths absolute against the project root and leaves the rest alone', () => {
    const config = parseClusterConfig(
      'apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: c\nservers: 1\nvolumes:\n  - volume: ./data:/data\n  - volume: /abs:/abs\n  - volume: named-vol:/cache\n  - volume: sub/dir:/x:ro\n',
      'c.yaml',
    );
    expect(resolveHostPaths(config, '/p').volumes?.map((v) => v.volume)).toEqual([
      '/p/data:/data',
      '/abs:/abs',
      'named-vol:/cache',
      '/p/sub/dir:/x:ro',
    ]);
  });
});

describe("the config is judged by k3d v5.8.3's own schema", () => {
  const base = 'apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: c\nservers: 1\n';
  const files = `${base}files:\n  - source: extra.yaml\n    destination: /var/lib/rancher/k3s/server/manifests/extra.yaml\n    nodeFilters:\n      - server:*\n`;
  const manifests = `${base}manifests:\n  - name: extra\n    manifest: "apiVersion: v1"\n`;

  it('accepts `files`, as k3d does, and keeps it for k3d', () => {
    expect(validateWithK3dSchema(parse(files)).ok).toBe(true);
    expect(parseClusterConfig(files, 'c.yaml').files).toEqual([
      {
        source: 'extra.yaml',
        destination: '/var/lib/rancher/k3s/server/manifests/extra.yaml',
        nodeFilters: ['server:*'],
      },
    ]);
  });

  it('rejects `manifests`, as k3d does, naming the field and pointing at `files`', () => {
    expect(validateWithK3dSchema(parse(manifests)).ok).toBe(false);
    let error: unknown;
    try {
      parseClusterConfig(manifests, 'c.yaml');
    } catch (err) {
      error = err;
    }
    expect((error as Error).message).toBe(
      'c.yaml:6:1: manifests: unknown field "manifests" (k3d v5.8.3 would refuse this config)',
    );
    expect((error as { hint?: string }).hint).toMatch(/use "files"/);
    expect((error as { exitCode?: number }).exitCode).toBe(2);
  });

  it('agrees with the schema on each of these documents', () => {
    const docs = [
      files,
      manifests,
      `${base}kubeAPI:\n  hostIP: "127.0.0.1"\n`,
      `${base}kubeAPI:\n  hostIP: "localhost"\n`,
      `${base}files:\n  - source: a\n`,
      `${base}registries:\n  create:\n    name: reg\n    enforcePortMatch: true\n`,
      `${base}options:\n  k3s:\n    extraArgs:\n      - arg: --disable=traefik\n        nodeFilters: [server:*]\n`,
      `${base}env:\n  - envVar: A=1\n`,
      `${base}hostAliases:\n  - ip: 1.2.3.4\n    hostnames: [a.b]\n`,
      `${base}agents: -1\n`,
      `${base}servers2: 1\n`,
    ];
    for (const text of docs) {
      let ours = true;
      try {
        parseClusterConfig(text, 'c.yaml');
      } catch {
        ours = false;
      }
      expect({ text, ok: ours }).toEqual({ text, ok: validateWithK3dSchema(parse(text)).ok });
    }
  });

  it('the committed validator is the one generated from the vendored schema', async () => {
    const { generateK3dValidator, schemaPath, outputPath } = await import('../../scripts/generate-k3d-validator.mjs');
    expect(readFileSync(outputPath as string, 'utf8')).toBe(await generateK3dValidator(schemaPath));
  });
});
