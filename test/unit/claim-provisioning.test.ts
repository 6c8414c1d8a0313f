// Watching a claim while a helper pod waits for it (claim-provisioning.ts): a provisioner's
// ProvisioningFailed Warning on a still-unbound ReadWriteMany claim, or no provisioner answering at
// all, end the wait at once instead of the scheduler's 10-minute PreBind wait. Time is a clock that
// jumps, so the "no answer" deadline passes without waiting.
import { afterEach, describe, expect, it } from 'vitest';
import { startApiWithClient, type FakeApi } from '../helpers/api-client.js';
import type { KubeClient } from '../../src/kube/client.js';
import { ClaimProvisioningError, claimProvisioningProblem } from '../../src/runs/storage/claim-provisioning.js';
import type { Clock } from '../../src/clock.js';

type Api = FakeApi;
let api: Api | undefined;
let client: KubeClient | undefined;
afterEach(async () => {
  client?.close();
  await api?.close();
  api = client = undefined;
});

async function start(): Promise<{ api: Api; client: KubeClient }> {
  return ({ api, client } = await startApiWithClient());
}

/** A clock whose every wait is over at once: any deadline has passed when it is first looked at. */
const jumping: Clock = { now: () => Date.now(), sleep: async () => undefined };

function claim(a: Api, accessMode: string, phase = 'Pending') {
  a.create('persistentvolumeclaims', {
    metadata: { name: 'keystone-data', namespace: 'ks' },
    spec: { accessModes: [accessMode], resources: { requests: { storage: '1Gi' } } },
    status: { phase },
  });
}
function event(a: Api, type: string, reason: string, message: string, component: string) {
  a.create('events', {
    metadata: { name: `keystone-data.${reason}`, namespace: 'ks' },
    involvedObject: { kind: 'PersistentVolumeClaim', namespace: 'ks', name: 'keystone-data' },
    type,
    reason,
    message,
    source: { component },
  });
}

describe('claimProvisioningProblem', () => {
  it("a ProvisioningFailed Warning on an unbound ReadWriteMany claim is a ClaimProvisioningError with the provisioner's words", async () => {
    const { api: a, client: c } = await start();
    claim(a, 'ReadWriteMany');
    event(
      a,
      'Normal',
      'ExternalProvisioning',
      "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path'",
      'persistentvolume-controller',
    );
    event(
      a,
      'Warning',
      'ProvisioningFailed',
      'failed to provision volume with StorageClass "local-path": NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes',
      'rancher.io/local-path_local-path-provisioner',
    );
    const problem = await claimProvisioningProblem({
      client: c,
      namespace: 'ks',
      claim: 'keystone-data',
      signal: new AbortController().signal,
      timeoutMs: 600_000,
    });
    expect(problem).toBeInstanceOf(ClaimProvisioningError);
    expect(problem!.message).toContain(
      'volume keystone-data could not be provisioned: failed to provision volume with StorageClass "local-path": NodePath only supports ReadWriteOnce',
    );
  });

  it('a refusal that arrives while it watches ends the wait as it comes', async () => {
    const { api: a, client: c } = await start();
    claim(a, 'ReadWriteMany');
    event(
      a,
      'Normal',
      'Provisioning',
      'External provisioner is provisioning volume for claim "ks/keystone-data"',
      'ebs.csi.aws.com_ebs-csi-controller',
    );
    const waiting = claimProvisioningProblem({
      client: c,
      namespace: 'ks',
      claim: 'keystone-data',
      signal: new AbortController().signal,
      timeoutMs: 600_000,
    });
    event(
      a,
      'Warning',
      'ProvisioningFailed',
      'failed to provision volume with StorageClass "gp3": rpc error: code = InvalidArgument desc = Volume capabilities MULTI_NODE_MULTI_WRITER not supported',
      'ebs.csi.aws.com_ebs-csi-controller',
    );
    expect((await waiting)?.message).toContain('InvalidArgument');
  });

  it("a ReadWriteOnce claim's failure is the provisioner's to retry, and a bound claim is no problem", async () => {
    const { api: a, client: c } = await start();
    claim(a, 'ReadWriteOnce');
    event(
      a,
      'Warning',
      'ProvisioningFailed',
      'failed to provision volume: quota exceeded',
      'ebs.csi.aws.com_ebs-csi-controller',
    );
    expect(
      await claimProvisioningProblem({
        client: c,
        namespace: 'ks',
        claim: 'keystone-data',
        signal: new AbortController().signal,
        timeoutMs: 600_000,
        clock: jumping,
      }),
    ).toBeUndefined();
    a.update('persistentvolumeclaims', {
      ...a.get('persistentvolumeclaims', 'ks', 'keystone-data'),
      spec: { accessModes: ['ReadWriteMany'] },
      status: { phase: 'Bound' },
    });
    expect(
      await claimProvisioningProblem({
        client: c,
        namespace: 'ks',
        claim: 'keystone-data',
        signal: new AbortController().signal,
        timeoutMs: 600_000,
      }),
    ).toBeUndefined();
  });

  it('a claim no provisioner answers for (no default StorageClass) is an error naming it and what to check', async () => {
    const { api: a, client: c } = await start();
    claim(a, 'ReadWriteMany');
    event(
      a,
      'Normal',
      'FailedBinding',
      'no persistent volumes available for this claim and no storage class is set',
      'persistentvolume-controller',
    );
    const problem = await claimProvisioningProblem({
      client: c,
      namespace: 'ks',
      claim: 'keystone-data',
      signal: new AbortController().signal,
      timeoutMs: 600_000,
      clock: jumping,
    });
    expect(problem).not.toBeInstanceOf(ClaimProvisioningError);
    expect(problem!.message).toBe(
      'volume keystone-data is still Pending: no storage provisioner has answered for it (last event: no persistent volumes available for this claim and no storage class is set)',
    );
    expect(problem!.hint).toContain('kubectl get storageclass');
    expect(problem!.hint).toContain('kubectl describe pvc keystone-data -n ks');
  });
});
