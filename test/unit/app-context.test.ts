import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ui } from '../../src/ui/ui.js';
import { createAppContext, type GlobalOptions } from '../../src/app-context.js';

function sink() {
  let text = '';
  const s = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { s, text: () => text };
}

async function project(config: string) {
  const root = await mkdtemp(join(tmpdir(), 'keystone-app-'));
  await mkdir(join(root, 'k8s', 'configs'), { recursive: true });
  await writeFile(join(root, 'k8s', 'configs', 'k3d-cluster-config.yaml'), config);
  return root;
}

function appIn(root: string, options: GlobalOptions) {
  const err = sink();
  const ui = new Ui({ stdout: sink().s, stderr: err.s }, { quiet: false, verbose: true, env: {} });
  const app = createAppContext({
    version: '0',
    ui,
    env: { KEYSTONE_PROJECT_DIR: root },
    cwd: root,
    options: { verbose: true, ...options },
    signal: new AbortController().signal,
    stdinIsTTY: false,
  });
  return { app, stderr: err.text };
}

describe('the app context owns the target', () => {
  it("resolves it once from the config's cluster name and announces it once", async () => {
    const root = await project('apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: lab\nservers: 1\n');
    try {
      const { app, stderr } = appIn(root, {});
      const [a, b] = await Promise.all([app.target(), app.target()]);
      expect(a).toBe(b);
      expect(a).toMatchObject({
        context: 'k3d-lab',
        local: true,
        clusterName: 'lab',
        kubeconfig: { explicit: undefined },
      });
      // The config is read once: a change after the first resolution does not move the target.
      await writeFile(join(root, 'k8s', 'configs', 'k3d-cluster-config.yaml'), 'metadata:\n  name: other\n');
      expect(await app.target()).toBe(a);
      expect(stderr().match(/target: /g)).toHaveLength(1);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('takes --context and --kubeconfig as given: another cluster, never the k3d one', async () => {
    const root = await project('apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: lab\nservers: 1\n');
    try {
      const { app } = appIn(root, { context: 'prod', kubeconfig: '/tmp/kc' });
      expect(await app.target()).toMatchObject({
        context: 'prod',
        local: false,
        kubeconfig: { explicit: '/tmp/kc', files: ['/tmp/kc'] },
      });
      const { app: same } = appIn(root, { context: 'k3d-lab' });
      expect((await same.target()).local).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("the name and shape reads share one read: status's shape names the target", async () => {
    const root = await project(
      'apiVersion: k3d.io/v1alpha5\nkind: Simple\nmetadata:\n  name: lab\nservers: 1\nagents: 2\n',
    );
    try {
      const { app } = appIn(root, {});
      expect(await app.clusterShape()).toEqual({ name: 'lab', servers: 1, agents: 2 });
      await writeFile(join(root, 'k8s', 'configs', 'k3d-cluster-config.yaml'), 'metadata:\n  name: other\n');
      expect((await app.target()).clusterName).toBe('lab');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
