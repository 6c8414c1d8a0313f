/** Where keystone's files are: the project root holds k8s/ and data/. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const clusterConfigRelativePath = join('k8s', 'configs', 'k3d-cluster-config.yaml');

export interface ProjectPaths {
  root: string;
  clusterConfig: string;
  manifestsDir: string;
  dataDir: string;
  /** Build files of the locally built images. */
  composeFile: string;
  /** Simulation profiles. */
  profiles: string;
}

/**
 * KEYSTONE_PROJECT_DIR, else the nearest directory at or above cwd that has the cluster config
 * (so keystone works from any subdirectory of a checkout), else the installed package itself.
 */
export function findProjectRoot(cwd: string, env: NodeJS.ProcessEnv): string {
  if (env.KEYSTONE_PROJECT_DIR) return resolve(cwd, env.KEYSTONE_PROJECT_DIR);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, clusterConfigRelativePath))) return dir;
    if (dirname(dir) === dir) break;
  }
  return packageRoot();
}

/** The directory of keystone's own package.json (this module may sit in dist/ or dist/chunks/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export function projectPaths(root: string, configOverride: string | undefined, cwd: string): ProjectPaths {
  return {
    root,
    // "-" stays as it is: k3d's name for standard input, which loadClusterConfig refuses with a reason.
    clusterConfig:
      configOverride === '-'
        ? '-'
        : configOverride
          ? resolve(cwd, configOverride)
          : join(root, clusterConfigRelativePath),
    manifestsDir: join(root, 'k8s', 'manifests'),
    dataDir: join(root, 'data'),
    composeFile: join(root, 'images', 'compose.yaml'),
    profiles: join(root, 'k8s', 'simulations', 'profiles.yaml'),
  };
}
