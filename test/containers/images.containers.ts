// The project's images, built through keystone's build step before the files run (global-setup.ts,
// build-images.ts): each built one is checked here, each one that could not be built fails here,
// and each whose base cannot be had here is reported as skipped by name, with the reason.
import { describe, expect, inject, it } from 'vitest';
import { createProcessRunner } from '../../src/exec/runner.js';
import { localImageSize } from '../../src/images/images.js';
import { dockerEnv } from './daemon.js';

const tier = inject('containers');

describe(`images/ built with keystone's docker build argv (${tier.daemon || 'no daemon'})`, () => {
  if (tier.skip) {
    it(`SKIPPED: ${tier.skip}`, (ctx) => ctx.skip());
    return;
  }
  it(`has the Debian base the LAMMPS and OpenFOAM Dockerfiles name (${tier.base})`, () => {
    expect(tier.base).not.toMatch(/^not made/);
    console.log(
      `daemon: ${tier.daemon}\nbase: ${tier.base}\nsetup (daemon, base, builds): ${tier.setupSeconds.toFixed(0)} s`,
    );
  });

  for (const image of tier.images) {
    if (image.status === 'skipped') {
      it(`${image.service} (${image.image}): SKIPPED, ${image.reason}`, (ctx) => ctx.skip());
      continue;
    }
    it(`${image.service}: \`docker ${image.argv?.join(' ')}\` builds ${image.image} from ${image.base}`, async () => {
      expect(image.status, `${image.reason}\n${image.output ?? ''}`).toBe('built');
      // The daemon got keystone's argv; on a daemon without a bridge network, with --network host after `build`.
      const ran = image.ran!.filter(
        (a, i, all) => !(a === '--network' && all[i + 1] === 'host') && !(a === 'host' && all[i - 1] === '--network'),
      );
      expect(ran).toEqual(image.argv);
      // keystone's own `docker image inspect --format {{.Size}}` sees it (setup's import step and disk check use it).
      const runner = createProcessRunner({ verbose: false, dryRun: false, log: () => {}, env: dockerEnv(tier.host) });
      const size = await localImageSize(runner, image.image);
      expect(size).toBeGreaterThan(50_000_000);
      console.log(
        `${image.image}: built in ${image.seconds!.toFixed(0)} s, ${(size! / 1e6).toFixed(0)} MB; docker ${image.ran!.join(' ')}`,
      );
    });
  }
});
