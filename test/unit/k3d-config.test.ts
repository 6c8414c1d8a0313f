// The cluster config read as k3d v5.8.3 reads `k3d cluster create --config FILE`, side by side with
// k3d's own code (k3d-io/k3d v5.8.3, commit 201b614e): cmd/util/config/config.go (os.ExpandEnv
// before anything else; stdin for "-"), pkg/config/config.go (versions, migration),
// pkg/config/v1alpha{3,4,5}/migrations.go and schema.json, cmd/cluster/clusterCreate.go and
// pkg/config/transform.go (defaults), cmd/util/ports.go and docker/go-connections v0.5.0
// nat/nat.go (port values), pkg/config/validate.go (timeout). docs/k3d-config.md has the table.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  configText,
  hostPortFor,
  hostPortsOf,
  loadClusterConfig,
  readClusterConfig,
} from '../../src/cluster/config.js';
import { expandEnv } from '../../src/cluster/expand-env.js';
import { parsePortSpec } from '../../src/cluster/port-spec.js';
import { registryAddresses } from '../../src/cluster/registry.js';
import { shapeDifference } from '../../src/cluster/state.js';
import { repoRoot } from '../helpers/harness.js';

const goExpand = JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'go-os-expandenv.json'), 'utf8')) as {
  go: string;
  env: Record<string, string>;
  cases: { in: string; out: string }[];
};

/** What readClusterConfig throws, as { message, hint, exitCode }. */
function refusal(text: string, env: NodeJS.ProcessEnv = {}) {
  try {
    readClusterConfig(text, 'c.yaml', env);
  } catch (err) {
    const e = err as { message: string; hint?: string; exitCode?: number };
    return { message: e.message, hint: e.hint, exitCode: e.exitCode };
  }
  throw new Error(`accepted:\n${text}`);
}

const head = 'apiVersion: k3d.io/v1alpha5\nkind: Simple\n';

describe('1. environment variables: expanded in the whole file before validation (cmd/util/config/config.go os.ExpandEnv)', () => {
  it(`expands exactly as Go's os.ExpandEnv does (recorded from ${goExpand.go}, go/src/os/env.go)`, () => {
    expect(goExpand.cases.length).toBeGreaterThan(20);
    for (const c of goExpand.cases) expect({ in: c.in, out: expandEnv(c.in, goExpand.env).text }).toEqual(c);
  });

  it('`servers: ${K3D_SERVERS}` is a valid config when the variable is set', () => {
    const { config } = readClusterConfig(
      `${head}metadata:\n  name: $NAME\nservers: \${K3D_SERVERS}\nagents: $AGENTS\n`,
      'c.yaml',
      { NAME: 'ci-cluster', K3D_SERVERS: '3', AGENTS: '2' },
    );
    expect([config.metadata.name, config.servers, config.agents]).toEqual(['ci-cluster', 3, 2]);
  });

  it("an unset variable is empty, as in Go: the error names it and points at the reference in the user's file", () => {
    const r = refusal(`${head}metadata:\n  name: \${NAME}\nservers: \${K3D_SERVERS}\n`, {
      NAME: 'a-much-longer-cluster-name',
    });
    expect(r.message).toBe(
      'c.yaml:5:10: servers: must be a number (after expanding ${K3D_SERVERS} to "": it is not set, as k3d does)',
    );
    expect(r.exitCode).toBe(2);
  });

  it("positions after an expansion on the same line stay those of the user's file", () => {
    // "${P}" (4 characters) expands to 9; the bad value after it is still at column 27 of the file.
    const r = refusal(
      `${head}metadata:\n  name: c\nservers: 1\nports:\n  - port: "\${P}:80"\n    nodeFilters: [loadbalancer]\n    extra: 1\n`,
      { P: '8080' },
    );
    expect(r.message).toMatch(/^c\.yaml:9:5: ports\.0\.extra: unknown field "extra"/);
    // A YAML error after an expansion: the second "name" key is at column 24 of the file (36 once expanded).
    const yamlError = refusal(`${head}metadata: {name: \${N}, name: x}\n`, { N: 'abcdefghijklmnop' });
    expect(yamlError.message).toMatch(/^c\.yaml:3:24: invalid YAML: Map keys must be unique/);
  });

  it('the file keystone hands to k3d survives k3d expanding it again: a "$" in a value stays a "$"', async () => {
    const { config } = readClusterConfig(
      `${head}metadata:\n  name: c\nservers: 1\nregistries:\n  create:\n    proxy:\n      password: \${PW}\n`,
      'c.yaml',
      { PW: 'pa$word${HOME}' },
    );
    expect(config.registries?.create).toEqual({ proxy: { password: 'pa$word${HOME}' } });
    const written = await configText(config);
    // What k3d does with it: os.ExpandEnv, then YAML.
    const again = parse(expandEnv(written, { word: 'X', HOME: '/root' }).text);
    expect(again.registries.create.proxy.password).toBe('pa$word${HOME}');
  });
});

describe('2. defaults, not requirements: the schema requires only apiVersion and kind (v1alpha5/schema.json)', () => {
  it("a config with only apiVersion and kind gets k3d's defaults, and keystone says which it used", () => {
    const parsed = readClusterConfig(head, 'c.yaml', {});
    expect([parsed.config.metadata.name, parsed.config.servers, parsed.config.agents]).toEqual(['k3s-default', 1, 0]);
    expect(parsed.defaults).toEqual([
      { field: 'metadata.name', value: 'k3s-default' },
      { field: 'servers', value: 1 },
      { field: 'agents', value: 0 },
    ]);
  });

  it("the drift message says when the count it compares with is k3d's default", () => {
    const parsed = readClusterConfig(`${head}metadata:\n  name: c\nagents: 2\n`, 'c.yaml', {});
    const state = {
      name: 'c',
      phase: 'running' as const,
      servers: { running: 2, count: 2 },
      agents: { running: 2, count: 2 },
    };
    expect(shapeDifference(state, parsed.config, parsed.defaults)).toBe(
      'cluster "c" has 2 servers and 2 agents, but the config asks for 1 server and 2 agents (k3d\'s default, not set in the config: servers 1)',
    );
  });

  it('still refuses what k3d refuses: no apiVersion, no kind', () => {
    expect(refusal('kind: Simple\n').message).toBe(
      'c.yaml:1:1: (top level): missing required field "apiVersion" (k3d v5.8.3 requires apiVersion and kind)',
    );
    expect(refusal('apiVersion: k3d.io/v1alpha5\n').message).toContain('missing required field "kind"');
  });
});

describe("3. values k3d takes are taken; keystone's own rules say so", () => {
  const base = `${head}metadata:\n  name: c\nservers: 1\n`;

  it('registries.create.hostPort: "random" (k3d\'s default, cmd/util/ports.go apiPortRegexp) is valid', () => {
    const { config } = readClusterConfig(
      `${base}registries:\n  create:\n    name: reg\n    hostPort: random\n`,
      'c.yaml',
      {},
    );
    expect(hostPortsOf(config)).toEqual([]);
    expect(registryAddresses(config)).toEqual({ name: 'reg', inCluster: 'reg:5000' });
    expect(refusal(`${base}registries:\n  create:\n    hostPort: any\n`).message).toMatch(
      /registries\.create\.hostPort: must be a port number in quotes \(e\.g\. "5000"\) or "random" \(k3d v5\.8\.3 refuses anything else\)/,
    );
  });

  it("ports: every form Docker's nat.ParsePortSpec takes (go-connections v0.5.0) is valid, the rest refused with Docker's reason", () => {
    const ok = [
      '8081',
      '8080:80',
      '127.0.0.1:8080:80',
      '127.0.0.1::80',
      '[::1]:8080:80/udp',
      '8000-8001:80-81',
      '9000-9010:80',
      '80/sctp',
    ];
    for (const port of ok)
      expect(readClusterConfig(`${base}ports:\n  - port: "${port}"\n`, 'c.yaml', {}).config.ports?.[0]?.port).toBe(
        port,
      );
    expect(parsePortSpec('8000-8001:80-81')).toEqual({
      ip: '',
      hostPorts: [8000, 8001],
      containerPorts: [80, 81],
      protocol: 'tcp',
    });
    expect(parsePortSpec('9000-9010:80')).toEqual({ ip: '', hostPorts: [], containerPorts: [80], protocol: 'tcp' }); // Docker picks from the range
    expect(refusal(`${base}ports:\n  - port: "8080:80/xyz"\n`).message).toContain(
      'is not a port mapping Docker takes (invalid proto: xyz): k3d v5.8.3 would refuse it',
    );
    expect(refusal(`${base}ports:\n  - port: "70000:80"\n`).message).toContain('(invalid hostPort: 70000)');
    expect(refusal(`${base}ports:\n  - port: "8000-8002:80-81"\n`).message).toContain('invalid ranges specified');
    const { config } = readClusterConfig(
      `${base}ports:\n  - port: "127.0.0.1:8088:80"\n  - port: "8443"\n`,
      'c.yaml',
      {},
    );
    expect([hostPortsOf(config), hostPortFor(config, 80), hostPortFor(config, 8443)]).toEqual([
      [8088],
      8088,
      undefined,
    ]);
  });

  it('options.k3d.timeout: any Go duration (time.ParseDuration); negative refused as k3d does (pkg/config/validate.go)', () => {
    for (const t of ['60s', '1m30s', '1.5h', '500ms', '0'])
      expect(
        readClusterConfig(`${base}options:\n  k3d:\n    timeout: "${t}"\n`, 'c.yaml', {}).config.options?.k3d?.timeout,
      ).toBe(t);
    expect(refusal(`${base}options:\n  k3d:\n    timeout: "-5s"\n`).message).toContain(
      'may not be negative (k3d v5.8.3 refuses a negative timeout)',
    );
    expect(refusal(`${base}options:\n  k3d:\n    timeout: "5 minutes"\n`).message).toContain(
      "reads it with Go's time.ParseDuration",
    );
    expect(refusal(`${base}options:\n  k3d:\n    timeout: 300\n`).message).toContain(
      "(keystone's rule, not k3d's: k3d would read a bare number as nanoseconds)",
    );
  });

  it("servers and agents have no upper bound (k3d has none); keystone's own checks are worded as keystone's", () => {
    expect(readClusterConfig(`${head}servers: 11\nagents: 40\n`, 'c.yaml', {}).config.servers).toBe(11);
    expect(refusal(`${head}servers: 1.5\n`).message).toContain(
      "servers: must be a whole number (keystone's rule, not k3d's",
    );
    expect(refusal(`${head}metadata:\n  name: My.Cluster\n`).message).toContain(
      "(keystone's rule, not k3d's: k3d also takes upper case and dots",
    );
    // k3d's own rule (pkg/client/clusterName.go CheckName, DefaultClusterNameMaxLength 32), said as k3d's.
    expect(refusal(`${head}metadata:\n  name: ${'a'.repeat(33)}\n`).message).toContain(
      'must be at most 32 characters (k3d v5.8.3 refuses longer cluster names',
    );
    expect(refusal(`${base}ports:\n  - port: "8080:80"\n  - port: "8080:443"\n`).message).toBe(
      "c.yaml:8:11: ports.1.port: host port 8080 is already used by ports[0] (keystone's rule, not k3d's: keystone checks it before k3d starts; Docker can bind a host port only once)",
    );
  });
});

describe('4. older config versions: migrated as k3d v5.8.3 migrates them, or refused naming `k3d config migrate`', () => {
  const v4 =
    'apiVersion: k3d.io/v1alpha4\nkind: Simple\nmetadata:\n  name: old\nservers: 1\nagents: 2\nports:\n  - port: 8080:80\n    nodeFilters: [loadbalancer]\n';

  it('k3d.io/v1alpha4 is migrated (v1alpha5/migrations.go MigrateV1Alpha4: same fields, new apiVersion), and the user is told how to update the file', () => {
    const parsed = readClusterConfig(v4, 'c.yaml', {});
    expect(parsed.config).toEqual({ ...parse(v4), apiVersion: 'k3d.io/v1alpha5' });
    expect(parsed.notes).toEqual([
      'c.yaml is a k3d.io/v1alpha4 config: read as k3d v5.8.3 reads it, migrated to k3d.io/v1alpha5 (only apiVersion changes). To update the file: k3d config migrate c.yaml c.yaml',
    ]);
  });

  it('a v1alpha4 config with a field only v1alpha5 has is refused, as v1alpha4/schema.json refuses it', () => {
    const r = refusal(`${v4}files:\n  - source: a\n    destination: /b\n`);
    expect(r.message).toBe(
      'c.yaml:10:1: files: unknown field "files" in a k3d.io/v1alpha4 config (it came with k3d.io/v1alpha5; k3d v5.8.3 would refuse this config)',
    );
    expect(r.hint).toContain('k3d config migrate c.yaml c.yaml');
  });

  it('k3d.io/v1alpha3: the top-level name becomes metadata.name (v1alpha4/migrations.go MigrateV1Alpha3); errors point at `name`', () => {
    const v3 = 'apiVersion: k3d.io/v1alpha3\nkind: Simple\nname: older\nservers: 2\n';
    const parsed = readClusterConfig(v3, 'c.yaml', {});
    expect([parsed.config.apiVersion, parsed.config.metadata, parsed.config.servers]).toEqual([
      'k3d.io/v1alpha5',
      { name: 'older' },
      2,
    ]);
    expect(parsed.notes[0]).toContain('(name is now metadata.name)');
    expect(refusal(v3.replace('older', 'bad_name')).message).toBe('c.yaml:3:7: name: must be a valid hostname');
    expect(refusal(`${v3}metadata:\n  name: x\n`).message).toContain(
      'unknown field "metadata" in a k3d.io/v1alpha3 config (it came with k3d.io/v1alpha4',
    );
  });

  it('k3d.io/v1alpha2 is refused naming the version and `k3d config migrate`, never a field error', () => {
    const r = refusal('apiVersion: k3d.io/v1alpha2\nkind: Simple\nname: oldest\nservers: 1\n');
    expect(r.message).toBe(
      'c.yaml:1:13: apiVersion: k3d.io/v1alpha2 is an older k3d config version that keystone does not migrate (k3d v5.8.3 does: node filters, k3s arguments and registries change shape); keystone reads k3d.io/v1alpha5',
    );
    expect(r.hint).toBe(
      'update the file with `k3d config migrate c.yaml c.yaml` (k3d v5.8.3 migrates it to k3d.io/v1alpha5), then run keystone again',
    );
    expect(r.exitCode).toBe(2);
    expect(refusal('apiVersion: k3d.io/v1alpha9\nkind: Simple\n').message).toContain(
      '"k3d.io/v1alpha9" is not a k3d config version k3d v5.8.3 reads',
    );
  });
});

describe('5. `--config -` (k3d reads standard input): keystone refuses it, saying why', () => {
  it('names the option, says k3d reads stdin and keystone does not, exit 2', async () => {
    const err = await loadClusterConfig('-').catch(
      (e: unknown) => e as { message: string; hint: string; exitCode: number },
    );
    expect(err).toMatchObject({
      message: '--config -: keystone does not read the cluster config from standard input (k3d does)',
      exitCode: 2,
    });
    expect((err as { hint: string }).hint).toContain('save it to a file and pass --config FILE');
  });
});
