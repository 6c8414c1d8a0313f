// The cluster config as a user brings it to `keystone setup`, read as k3d v5.8.3 reads it
// (k3d-io/k3d v5.8.3 cmd/util/config/config.go, pkg/config/config.go; the side-by-side table is
// docs/k3d-config.md). The fake k3d expands the file it is given as k3d does (os.ExpandEnv).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
let configPath: string;
beforeEach(async () => {
  h = await createHarness();
  configPath = join(h.project, 'k8s', 'configs', 'k3d-cluster-config.yaml');
});
afterEach(async () => h?.cleanup());

async function editConfig(edit: (text: string) => string): Promise<void> {
  await writeFile(configPath, edit(await readFile(configPath, 'utf8')));
}

describe('keystone setup with a k3d config that k3d takes', () => {
  it('expands ${VAR} as k3d does, and k3d gets the values (a "$" inside one is not expanded twice)', async () => {
    await editConfig((t) =>
      t
        .replace('servers: 2', 'servers: ${K3D_SERVERS}')
        .replace(
          '    hostPort:',
          '    proxy:\n      remoteURL: https://registry-1.docker.io\n      password: ${REGISTRY_PASSWORD}\n    hostPort:',
        ),
    );
    const r = await h.run(['setup'], { env: { K3D_SERVERS: '2', REGISTRY_PASSWORD: 'pa$word' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const given = (await h.state()).lastCreateConfig;
    expect(given.servers).toBe(2);
    expect(given.registries.create.proxy.password).toBe('pa$word');
    expect(r.stderr).toContain('5/5 nodes Ready');
  });

  it('an unset variable: exit 2, the file position of the reference, and the variable named', async () => {
    await editConfig((t) => t.replace('servers: 2', 'servers: ${K3D_SERVERS}'));
    const r = await h.run(['setup']);
    expect(r.exitCode).toBe(2);
    const line = (await readFile(configPath, 'utf8')).split('\n').indexOf('servers: ${K3D_SERVERS}') + 1;
    expect(r.stderr).toContain(
      `${configPath}:${line}:10: servers: must be a number (after expanding \${K3D_SERVERS} to "": it is not set, as k3d does)`,
    );
    expect(await h.calls('k3d')).toEqual([]);
  });

  it('--dry-run shows the k3d defaults it used for fields the config leaves out', async () => {
    await editConfig((t) => t.replace('metadata:\n  name: keystone-cluster\nservers: 2\nagents: 3\n', ''));
    const r = await h.run(['setup', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'would create cluster k3s-default (1 server, 0 agents; k3d\'s defaults, not set in the config: metadata.name "k3s-default", servers 1, agents 0)',
    );
  });

  it('a k3d.io/v1alpha4 config is migrated as k3d does, with a warning naming `k3d config migrate`', async () => {
    await editConfig((t) => t.replace('k3d.io/v1alpha5', 'k3d.io/v1alpha4'));
    const r = await h.run(['setup', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `warning: ${configPath} is a k3d.io/v1alpha4 config: read as k3d v5.8.3 reads it, migrated to k3d.io/v1alpha5 (only apiVersion changes). To update the file: k3d config migrate ${configPath} ${configPath}`,
    );
    expect(r.stderr).toContain('would create cluster keystone-cluster (2 servers, 3 agents)');
  });

  it('--config - (standard input, as k3d takes it) is refused with the reason, exit 2', async () => {
    const r = await h.run(['setup', '--config', '-']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      'error: --config -: keystone does not read the cluster config from standard input (k3d does)',
    );
    expect(r.stderr).toContain('hint: keystone reads the config again in later commands');
  });
});
