// Each profile's exact command in the project's own image under a real Docker daemon: the checks
// of `npm run test:engines` (test/engines/engine-cases.ts: every example input, serial and with
// --ranks 2, the outputs each code writes, who owns them, a broken input failing), with the pod's
// container run by dockerd instead of this machine's engine. The pod's security settings are
// docker run flags (pod-to-docker.ts), and the container really has them (first test).
import { describe, expect, inject, it } from 'vitest';
import { execa } from 'execa';
import { engineChecks } from '../engines/engine-cases.js';
import { engineIdentity, loadProject, runLikeTheJob } from '../engines/engine-run.js';
import { buildJobFromTemplate } from '../../src/runs/build/job.js';
import type { JobObject } from '../../src/kube/objects.js';
import { runCommand } from '../../src/runs/request/profiles.js';
import { dockerEnv } from './daemon.js';
import { inContainer, uniqueName } from './job-in-docker.js';
import { dockerRunArgs, type PodSpecLike } from './pod-to-docker.js';

const tier = inject('containers');
const project = await loadProject();
const who = engineIdentity();

describe('profiles in their images', () => {
  if (tier.skip) {
    it(`SKIPPED: ${tier.skip}`, (ctx) => ctx.skip());
    return;
  }
  const built = new Map(tier.images.map((i) => [i.service, i]));
  for (const tool of Object.keys(project.profiles)) {
    const template = project.templates.get(project.profiles[tool]!.template)!;
    const image = template.spec.template.spec.containers[0]!.image!;
    const outcome = [...built.values()].find((i) => i.image === image);
    if (outcome?.status !== 'built') {
      it(`${tool} (${image}): SKIPPED, ${outcome?.status === 'failed' ? `its build failed (images.containers.ts): ${outcome.reason}` : (outcome?.reason ?? 'not built')}`, (ctx) =>
        ctx.skip());
      continue;
    }
    describe(`${tool} in ${image} (as uid ${who.uid})`, () => {
      it("the container has the pod's settings: its uid/gid, no capabilities, no privilege escalation, seccomp, the data directory", async () => {
        const { command } = runCommand(project.profiles[tool]!, 'x', []);
        const job: JobObject = buildJobFromTemplate(template, {
          tool,
          runId: 'settings',
          name: `${tool}-settings`,
          command,
          workingDir: `/data/${tool}`,
          inputName: 'x',
          outputDir: '/tmp',
          retries: 0,
          env: [],
          runAs: { uid: who.uid, gid: who.gid },
        });
        const pod = job.spec.template.spec as unknown as PodSpecLike;
        const c = {
          ...pod.containers[0]!,
          command: [
            'sh',
            '-c',
            'id -u; id -g; grep -E "^(CapEff|CapPrm|NoNewPrivs|Seccomp):" /proc/self/status; pwd; touch ro-check 2>&1 && echo data-writable; awk \'$5 == "/" { split($6, o, ","); print "root-mount-" o[1] }\' /proc/self/mountinfo',
          ],
        };
        const { mkdtemp, rm, chown } = await import('node:fs/promises');
        const dataDir = await mkdtemp('/tmp/keystone-tier-data-');
        try {
          const args = await dockerRunArgs(pod, c, {
            name: uniqueName(`${tool}-settings`),
            nodeDataDir: dataDir,
            network: 'none',
          });
          await chown(`${dataDir}/${tool}`, who.uid, who.gid);
          expect(args).toEqual(
            expect.arrayContaining([
              '--user',
              `${who.uid}:${who.gid}`,
              '--cap-drop',
              'ALL',
              '--security-opt',
              'no-new-privileges',
            ]),
          );
          const r = await execa('docker', ['run', '--rm', ...args], {
            env: dockerEnv(tier.host),
            reject: false,
            all: true,
          });
          expect(r.exitCode, r.all).toBe(0);
          const lines = r.stdout.split('\n');
          expect(lines.slice(0, 2)).toEqual([String(who.uid), String(who.gid)]);
          expect(r.stdout).toMatch(/^CapEff:\s+0+$/m);
          expect(r.stdout).toMatch(/^CapPrm:\s+0+$/m);
          expect(r.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
          expect(r.stdout).toMatch(/^Seccomp:\s+2$/m); // 2: a seccomp filter (Docker's default profile)
          expect(r.stdout).toContain(`/data/${tool}`);
          expect(r.stdout).toContain('data-writable');
          const readOnly =
            (c.securityContext as { readOnlyRootFilesystem?: boolean } | undefined)?.readOnlyRootFilesystem === true;
          expect(r.stdout).toMatch(new RegExp(`^root-mount-${readOnly ? 'ro' : 'rw'}$`, 'm'));
          console.log(
            `${tool}: docker run ${args.join(' ')}\n${r.stdout
              .split('\n')
              .map((l) => `  ${l}`)
              .join('\n')}`,
          );
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      });
      engineChecks((req) => runLikeTheJob(project, who, { ...req, executor: inContainer(tier.host) }), who)[tool]!();
    });
  }
});
