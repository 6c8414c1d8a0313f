/**
 * The Redis password lives in the Secret `redis-auth`, generated once by setup: created only
 * when absent (a POST that answers 409 AlreadyExists when it is there), so a re-run never
 * replaces it. The value is never printed or logged.
 */
import { randomBytes } from 'node:crypto';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { fieldManagers, labels, labelValue } from '../vocabulary.js';

export const redisSecretName = 'redis-auth';

export async function ensureRedisSecret(
  client: KubeClient,
  namespace: string,
  options: { dryRun?: boolean } = {},
): Promise<'created' | 'kept'> {
  try {
    await client.request({
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/secrets`,
      query: { fieldManager: fieldManagers.apply, dryRun: options.dryRun ? 'All' : undefined },
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: redisSecretName,
          namespace,
          labels: { [labels.partOf]: labelValue, [labels.managedBy]: labelValue },
        },
        type: 'Opaque',
        stringData: { password: randomBytes(24).toString('base64url') },
      },
    });
    return 'created';
  } catch (err) {
    if (err instanceof KubeApiError && err.statusCode === 409) return 'kept';
    throw err;
  }
}
