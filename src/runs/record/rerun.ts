/**
 * `jobs rerun`: the run request a record describes, checked before anything is submitted: the
 * same profile (as recorded), the same arguments and options, the same image (by digest; an image
 * pinned by ID only while its tag still names that image), and the same input, from the run's
 * own copy (data/<tool>/runs/<id>/.keystone/input/), whose SHA-256 must still be the recorded one.
 * What must differ is said (`notes`): a profile or template changed since, a moved tag.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KeystoneError, UsageError } from '../../errors.js';
import type { KubeClient } from '../../kube/client.js';
import type { Runner } from '../../exec/runner.js';
import { dockerKnows, nodesKnow, pinImage, repositoryOf, type PinnedImage } from '../../images/pin.js';
import { loadProfiles, profileSchema, type Profile } from '../request/profiles.js';
import { resolveInput } from '../request/input.js';
import { parseEnv, parseImage, parseProgressMode } from '../request/options.js';
import { podCpus } from '../request/ranks.js';
import { hostRunDir } from '../model.js';
import type { RunRequest } from '../request/request.js';
import { inputDigest } from './input-digest.js';
import { canonicalJson, recordInputDir, type RunRecord } from './record.js';

export interface RerunFlags {
  env?: string[];
  image?: string;
  detach?: boolean;
  cancelOnInterrupt?: boolean;
  progress?: string;
}

export interface RerunPlan {
  request: RunRequest;
  /** What differs from the original run, one sentence each. */
  notes: string[];
}

export async function planRerun(
  record: RunRecord,
  flags: RerunFlags,
  o: {
    client: KubeClient;
    runner: Runner;
    context: string;
    local: boolean;
    dataDir: string;
    cwd: string;
    profilesFile: string;
  },
): Promise<RerunPlan> {
  const notes: string[] = [];
  const id = record.runId;
  if (flags.detach && flags.cancelOnInterrupt)
    throw new UsageError(
      '--cancel-on-interrupt does nothing with --detach (keystone returns at once)',
      'drop one of them',
    );
  const progressMode = parseProgressMode(flags.progress);

  // The environment: values are never recorded, so the same names must be given again.
  const env = parseEnv(flags.env ?? []);
  const given = env.map(([k]) => k);
  const missing = record.env.filter((name) => !given.includes(name));
  if (missing.length) {
    throw new UsageError(
      `run ${id} was given --env ${missing.join(', ')}, whose values are not recorded`,
      `give them again: ${missing.map((n) => `--env ${n}=…`).join(' ')}`,
    );
  }
  const added = given.filter((name) => !record.env.includes(name));
  if (added.length)
    notes.push(
      `--env ${added.join(', ')} ${added.length === 1 ? 'is' : 'are'} new (run ${id} had no such variable${added.length === 1 ? '' : 's'})`,
    );

  // The profile as it was used; a different one now is said, not used.
  const parsed = profileSchema.safeParse(record.profile);
  if (!parsed.success)
    throw new KeystoneError(
      `the ${record.tool} profile recorded for run ${id} is not one this keystone understands: ${parsed.error.issues[0]!.message}`,
      { hint: 'rerun it with the keystone that made it (record keystoneVersion)' },
    );
  const profile: Profile = parsed.data;
  const current = await loadProfiles(o.profilesFile, o.cwd)
    .then((p) => p[record.tool])
    .catch(() => undefined);
  if (current === undefined)
    notes.push(
      `the ${record.tool} profile is no longer in ${relative(o.cwd, o.profilesFile)}: the rerun uses the recorded one`,
    );
  else if (canonicalJson(current) !== canonicalJson(profile))
    notes.push(`the ${record.tool} profile has changed since run ${id}: the rerun uses the recorded one`);

  const pinnedImage = await rerunImage(record, flags.image, o, notes);
  const input = await rerunInput(record, o);

  const r = record.request;
  return {
    notes,
    request: {
      tool: record.tool,
      profile,
      input,
      extraArgs: r.args,
      retries: r.retries,
      ranks: r.ranks,
      nodes: r.nodes,
      cpusPerRank: r.cpus,
      cpus: podCpus(r.ranks, r.cpus),
      memory: r.memory,
      env,
      image: pinnedImage.ref,
      pinnedImage,
      deadlineSeconds: r.deadlineSeconds,
      sweep: r.sweep,
      parallel: r.parallel,
      progressMode,
      detach: Boolean(flags.detach),
      cancelOnInterrupt: Boolean(flags.cancelOnInterrupt),
      volumeSize: r.volumeSize,
      rerunOf: id,
    },
  };
}

/**
 * The original's image: its digest; or, pinned by image ID, the tag while it still names that
 * image (on this machine's Docker, and on the nodes), else its registry digest when Docker knew one.
 */
async function rerunImage(
  record: RunRecord,
  override: string | undefined,
  o: { client: KubeClient; runner: Runner; context: string; local: boolean },
  notes: string[],
): Promise<PinnedImage> {
  const was = record.image;
  if (override !== undefined) {
    const pinned = await pinImage(parseImage(override), { client: o.client, runner: o.runner, context: o.context });
    if (pinned.ref !== was.ref) notes.push(`the image is ${pinned.ref} (--image), not the original's ${was.ref}`);
    else if (pinned.digest !== was.digest || (pinned.id && was.id && pinned.id !== was.id))
      notes.push(
        `the image is ${pinned.ref} (--image) as it is now (image ID ${pinned.id ?? 'unknown'}), not the original's (${was.id ?? was.digest})`,
      );
    return pinned;
  }
  if (was.pinnedBy === 'digest') return { ...was, source: `run ${record.runId}'s record` };
  const byDigest = (why: string): PinnedImage => {
    notes.push(
      `${why}: the rerun runs the registry digest Docker knew for it, ${repositoryOf(was.requested)}@${was.digest}`,
    );
    return {
      ...was,
      ref: `${repositoryOf(was.requested)}@${was.digest}`,
      pinnedBy: 'digest',
      source: `run ${record.runId}'s record (registry digest)`,
    };
  };
  const refuse = (why: string) =>
    new KeystoneError(`cannot rerun run ${record.runId} with the same image: ${why}`, {
      hint: `its image ${was.requested} was loaded into the nodes with no registry digest, so only its image ID (${was.id ?? 'unknown'}) names it; rerun with --image to accept another image, and push images to a registry (\`keystone push-images\`) so runs are pinned by digest; nothing was submitted`,
    });
  if (!o.local) {
    if (was.digest) return byDigest(`its image ${was.requested} was only loaded into the keystone cluster's nodes`);
    throw refuse(`it was loaded into the keystone cluster's nodes, which context ${o.context} is not`);
  }
  const docker = await dockerKnows(o.runner, was.requested);
  const nodes = await nodesKnow(o.client, was.requested);
  if (docker && was.id && docker.id !== was.id) {
    if (was.digest) return byDigest(`the tag ${was.requested} has moved (now ${docker.id.slice(0, 19)}…)`);
    throw refuse(`the tag ${was.requested} now names another image (${docker.id}, the run used ${was.id})`);
  }
  if (!nodes.onNodes) {
    if (was.digest) return byDigest(`${was.requested} is no longer on the nodes`);
    throw refuse(
      `${was.requested} is no longer on the nodes (\`keystone import-images\` puts it back, if the tag still names the same image)`,
    );
  }
  return { ...was, source: `run ${record.runId}'s record (image ID, the tag unchanged)` };
}

/** The run's own copy of its input, checked against the recorded SHA-256. */
async function rerunInput(
  record: RunRecord,
  o: { dataDir: string; cwd: string; context: string },
): Promise<RunRequest['input']> {
  const path = join(hostRunDir(o.dataDir, record.tool, record.runId), recordInputDir, record.input.name);
  const shown = relative(o.cwd, path) || path;
  if (!existsSync(path)) {
    throw new KeystoneError(`the input of run ${record.runId} (its own copy, ${shown}) is not on this machine`, {
      hint: record.cluster.local
        ? 'it was removed (`jobs clean --purge-outputs`?); nothing was submitted'
        : `bring the run's directory first: \`keystone jobs fetch ${record.runId} --context ${record.cluster.context}\``,
    });
  }
  const input = await resolveInput(path, {
    tool: record.tool,
    kind: record.input.kind,
    dataDir: o.dataDir,
    cwd: o.cwd,
  });
  const sha256 = await inputDigest(input);
  if (sha256 !== record.input.sha256) {
    throw new KeystoneError(
      `the input of run ${record.runId} (${shown}) is not the one it ran with: SHA-256 ${sha256}, recorded ${record.input.sha256}`,
      { hint: 'it was changed after the run; nothing was submitted' },
    );
  }
  return input;
}
