/**
 * What setup's steps use from the command that runs them, and nothing more: the process runner,
 * the target and its client, the project's paths, the kubeconfig files, --dry-run and
 * --force-conflicts, the per-wait timeout, Ctrl-C, and notes on stderr. Commands pass their
 * AppContext, which has all of it; a test can pass just this.
 */
import type { Runner } from '../exec/runner.js';
import type { KubeClient } from '../kube/client.js';
import type { Kubeconfigs } from '../kube/kubeconfig/files.js';
import type { KubeTarget } from '../kube/target.js';
import type { ProjectPaths } from '../project.js';
import type { Ui } from '../ui/ui.js';
import type { ImportImagesContext } from '../images/import-images.js';
import type { Machine } from '../machine.js';

/** What the pre-checks read (doctor runs them too). */
export interface PreflightContext {
  runner: Runner;
  /** The free space of the disk where Docker keeps images. */
  machine: Machine;
  env: NodeJS.ProcessEnv;
  cwd: string;
  paths: Pick<ProjectPaths, 'composeFile'>;
  kubeconfigs: Kubeconfigs;
}

export interface SetupContext extends PreflightContext, ImportImagesContext {
  paths: Pick<ProjectPaths, 'composeFile' | 'dataDir' | 'root' | 'profiles'>;
  options: { dryRun?: boolean; forceConflicts?: boolean };
  target(): Promise<KubeTarget>;
  client(): Promise<KubeClient>;
  signal: AbortSignal;
  ui: Pick<Ui, 'info' | 'warn' | 'debug'>;
}
