// Fake `docker`: the subset keystone calls, with the real CLI's output and failure modes.
import { dockerImageId, loadState, logCall, saveState, sleep } from './fake-state.mjs';

const argv = process.argv.slice(2);
await logCall('docker', argv);
const state = loadState();
const docker = state.docker ?? {};

if (docker.slowMs) await sleep(docker.slowMs);

const daemonDown = () => {
  // What docker prints with no engine behind the socket (checked against the real client).
  process.stderr.write(
    'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
  );
};

if (argv[0] === 'info') {
  const format = argv.includes('--format') ? argv[argv.indexOf('--format') + 1] : undefined;
  if (docker.down) {
    if (format) process.stdout.write('""\n');
    daemonDown();
    process.exit(1);
  }
  if (docker.permissionDenied) {
    process.stderr.write(
      'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.47/info": dial unix /var/run/docker.sock: connect: permission denied\n',
    );
    process.exit(1);
  }
  if (format === '{{json .DockerRootDir}}') {
    process.stdout.write(`${JSON.stringify(docker.rootDir ?? '/var/lib/docker')}\n`);
    process.exit(0);
  }
  process.stdout.write(
    format
      ? `${JSON.stringify(docker.serverVersion ?? '28.2.2')}\n`
      : `Server Version: ${docker.serverVersion ?? '28.2.2'}\n`,
  );
  process.exit(0);
}

if (argv[0] === 'image' && argv[1] === 'inspect') {
  const image = argv[argv.length - 1];
  const format = argv.includes('--format') ? argv[argv.indexOf('--format') + 1] : '';
  // With --format, the real CLI prints an empty line for a reference it could not inspect, daemon
  // stopped or no such image (checked against Docker 28.2 and dockerd 20.10 by npm run test:containers).
  const noResult = () => format && process.stdout.write('\n');
  if (docker.down) {
    noResult();
    daemonDown();
    process.exit(1);
  }
  if ((docker.images ?? []).includes(image)) {
    // The Go template fields keystone asks for, printed as the real CLI prints them: .Id is
    // "sha256:<config digest>"; RepoDigests is "repo@sha256:…" per repository Docker pushed the
    // image to or pulled it from, [] for an image built here and never pushed (a JSON array, not null).
    const fields = {
      '{{.Size}}': String(docker.imageSizes?.[image] ?? 200_000_000),
      '{{.Id}}': dockerImageId(docker, image),
      '{{json .RepoDigests}}': JSON.stringify(repoDigestsOf(image)),
    };
    if (!format)
      process.stdout.write(
        `${JSON.stringify([{ Id: dockerImageId(docker, image), RepoTags: [image], RepoDigests: repoDigestsOf(image) }], null, 4)}\n`,
      );
    else
      process.stdout.write(
        `${Object.entries(fields).reduce((text, [field, value]) => text.split(field).join(value), format)}\n`,
      );
    process.exit(0);
  }
  noResult();
  process.stderr.write(`Error response from daemon: No such image: ${image}\n`);
  process.exit(1);
}

/** RepoDigests belong to the image, not the tag: every tag of the same image ID shows them all. */
function repoDigestsOf(tag) {
  const id = dockerImageId(docker, tag);
  return [
    ...new Set(
      (docker.images ?? [])
        .filter((t) => dockerImageId(docker, t) === id)
        .flatMap((t) => docker.repoDigests?.[t] ?? []),
    ),
  ];
}

// docker tag SOURCE TARGET: another name for the same image (same ID).
if (argv[0] === 'tag') {
  const [source, target] = argv.slice(1);
  if (docker.down) {
    daemonDown();
    process.exit(1);
  }
  if (!(docker.images ?? []).includes(source)) {
    process.stderr.write(`Error response from daemon: No such image: ${source}\n`);
    process.exit(1);
  }
  const next = loadState();
  next.docker.images = [...new Set([...next.docker.images, target])];
  next.docker.imageIds = { ...next.docker.imageIds, [target]: dockerImageId(next.docker, source) };
  saveState(next);
  process.exit(0);
}

// docker image rm TAG: of an image with other tags, only the name goes ("Untagged: …").
if (argv[0] === 'image' && argv[1] === 'rm') {
  const tag = argv[2];
  const next = loadState();
  if (!(next.docker?.images ?? []).includes(tag)) {
    process.stderr.write(`Error response from daemon: No such image: ${tag}\n`);
    process.exit(1);
  }
  next.docker.images = next.docker.images.filter((t) => t !== tag);
  saveState(next);
  process.stdout.write(`Untagged: ${tag}\n`);
  process.exit(0);
}

/*
 * docker push REGISTRY/PATH:TAG, with the CLI's output and its refusals as the docker 28.2 CLI
 * prints them against dockerd 20.10 and Debian's docker-registry 2.8 (checked by hand: nothing
 * listening; htpasswd auth without `docker login`). 'tls' is Go's net/http error for a plain-HTTP
 * server asked over HTTPS (net/http transport.go), which Docker reports for a registry it does not
 * treat as insecure. docker.registryFailures[host] = 'auth' | 'tls' | 'unreachable'.
 */
if (argv[0] === 'push') {
  const target = argv[1];
  if (docker.down) {
    daemonDown();
    process.exit(1);
  }
  if (!(docker.images ?? []).includes(target)) {
    process.stderr.write(`An image does not exist locally with the tag: ${target}\n`);
    process.exit(1);
  }
  const slash = target.indexOf('/');
  const host = target.slice(0, slash);
  const colon = target.lastIndexOf(':');
  const repo = colon > target.lastIndexOf('/') ? target.slice(0, colon) : target;
  const tag = colon > target.lastIndexOf('/') ? target.slice(colon + 1) : 'latest';
  process.stdout.write(`The push refers to repository [${repo}]\n`);
  const failure = docker.registryFailures?.[host];
  const [name, port] = host.split(':');
  // Docker talks plain HTTP to 127.0.0.0/8 (and --insecure-registry), HTTPS to anything else.
  const loopback = name === 'localhost' || name.startsWith('127.');
  if (failure === 'unreachable') {
    process.stderr.write(
      `Get "${loopback ? 'http' : 'https'}://${host}/v2/": dial tcp ${name === 'localhost' ? '127.0.0.1' : name}:${port ?? 443}: connect: connection refused\n`,
    );
    process.exit(1);
  }
  if (failure === 'tls') {
    process.stderr.write(`Get "https://${host}/v2/": http: server gave HTTP response to HTTPS client\n`);
    process.exit(1);
  }
  // A registry with htpasswd auth and no `docker login` for it (seen with Debian's docker-registry 2.8).
  if (failure === 'auth') {
    process.stdout.write('5f70bf18a086: Preparing\n');
    process.stderr.write('no basic auth credentials\n');
    process.exit(1);
  }
  const { createHash } = await import('node:crypto');
  const digest = `sha256:${createHash('sha256')
    .update(`manifest:${target}:${dockerImageId(docker, target)}`)
    .digest('hex')}`;
  process.stdout.write(`5f70bf18a086: Pushed\n${tag}: digest: ${digest} size: 1234\n`);
  const next = loadState();
  next.docker.repoDigests = { ...next.docker.repoDigests, [target]: [`${repo}@${digest}`] };
  next.docker.pushes = [...(next.docker.pushes ?? []), { target, digest }];
  saveState(next);
  process.exit(0);
}

// docker ps --filter publish=<port> --format {{.Names}}: containers publishing that host port.
if (argv[0] === 'ps') {
  if (docker.down) {
    daemonDown();
    process.exit(1);
  }
  const filter = argv[argv.indexOf('--filter') + 1] ?? '';
  const port = Number(filter.replace(/^publish=/, ''));
  for (const c of docker.containers ?? []) if ((c.ports ?? []).includes(port)) process.stdout.write(`${c.name}\n`);
  process.exit(0);
}

// docker build -t IMAGE [-f DOCKERFILE] [--build-arg K=V]... [--target T] CONTEXT
if (argv[0] === 'build') {
  const { existsSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const valueFlags = new Set(['-t', '-f', '--build-arg', '--target']);
  const positional = argv.slice(1).filter((a, i, all) => !a.startsWith('-') && !valueFlags.has(all[i - 1]));
  const context = positional[0];
  const tag = argv[argv.indexOf('-t') + 1];
  if (docker.down) {
    daemonDown();
    process.exit(1);
  }
  // buildx's wording when the context or the Dockerfile is missing.
  if (!context || !existsSync(context) || !statSync(context).isDirectory()) {
    process.stderr.write(`ERROR: unable to prepare context: path "${context}" not found\n`);
    process.exit(1);
  }
  const dockerfile = argv.includes('-f') ? argv[argv.indexOf('-f') + 1] : join(context, 'Dockerfile');
  if (!existsSync(dockerfile)) {
    process.stderr.write(
      `ERROR: failed to solve: failed to read dockerfile: open ${dockerfile}: no such file or directory\n`,
    );
    process.exit(1);
  }
  if (docker.buildFails) {
    process.stderr.write(`ERROR: failed to solve: ${docker.buildFails}\n`);
    process.exit(1);
  }
  const next = loadState();
  next.docker ??= {};
  next.docker.images ??= [];
  next.docker.builds ??= [];
  next.docker.builds.push({ tag, context, argv });
  if (!next.docker.images.includes(tag)) next.docker.images.push(tag);
  // A build makes a new image: the tag moves to a new ID, and its old RepoDigests stay with the old image.
  const { createHash } = await import('node:crypto');
  next.docker.imageIds = {
    ...next.docker.imageIds,
    [tag]: `sha256:${createHash('sha256').update(`image:${tag}:build ${next.docker.builds.length}`).digest('hex')}`,
  };
  if (next.docker.repoDigests) delete next.docker.repoDigests[tag];
  saveState(next);
  process.stderr.write(`#9 naming to docker.io/${tag.includes('/') ? tag : `library/${tag}`} done\n`);
  process.exit(0);
}

// Compose v2 is a CLI plugin (docker-compose in a cli-plugins directory). Without it the CLI
// has no `compose` command and says so: docker/cli cmd/docker/docker.go, the root command's RunE
// returns "docker: '%s' is not a docker command.\nSee 'docker --help'" (exit status 1).
if (argv[0] === 'compose' && docker.compose === false) {
  process.stderr.write(`docker: 'compose' is not a docker command.\nSee 'docker --help'\n`);
  process.exit(1);
}

if (argv[0] === 'compose') {
  // docker compose -f FILE build SERVICE...
  const file = argv[argv.indexOf('-f') + 1];
  const services = argv.slice(argv.indexOf('build') + 1);
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const compose = parse(readFileSync(file, 'utf8'));
  if (docker.buildFails) {
    process.stderr.write(`failed to solve: ${docker.buildFails}\n`);
    process.exit(1);
  }
  const state2 = loadState();
  state2.docker ??= {};
  state2.docker.images ??= [];
  for (const service of services) {
    const image = compose.services?.[service]?.image;
    if (!image) {
      process.stderr.write(`no such service: ${service}\n`);
      process.exit(1);
    }
    process.stderr.write(` => naming to ${image} done\n`);
    if (!state2.docker.images.includes(image)) state2.docker.images.push(image);
  }
  saveState(state2);
  process.exit(0);
}

process.stderr.write(`docker: '${argv[0]}' is not a docker command.\nSee 'docker --help'\n`);
process.exit(1);
