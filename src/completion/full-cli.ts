/**
 * The TAB bundle (dist/complete.cjs) is built without the modules a common TAB never needs (the
 * yaml library, client-node's KubeConfig, the zod validation of the cluster config and of the
 * profiles, the compose reader, the lock; scripts/build.mjs lists them): the build puts in the
 * place of each a module that calls fullCliNeeded(), so that a TAB which does need one (a
 * kubeconfig with an exec plugin, YAML beyond the plain subset, a profiles file not yet
 * validated) is answered by main() instead, exactly as it would have been. Once a left-out module
 * was asked for, this process's TAB bundle cannot answer again, so the mark stays.
 */
let needed: string | undefined;

export function fullCliNeeded(what: string): never {
  needed ??= what;
  throw new Error(`the TAB fast path leaves out ${what}: the full CLI answers`);
}

/** What a TAB asked for that the TAB bundle left out, if anything. */
export function fullCliWasNeeded(): string | undefined {
  return needed;
}
