/**
 * Older k3d config versions, handled as k3d v5.8.3 handles them (k3d-io/k3d v5.8.3
 * pkg/config/config.go SimpleConfigFromViper: a config that is not k3d.io/v1alpha5 is validated
 * against its own version's schema, then migrated with pkg/config/v1alpha5/migrations.go, with
 * the warning "consider migrating"; `k3d config migrate IN [OUT]` writes the migrated file).
 *
 * - k3d.io/v1alpha4 → v1alpha5: the Go types are the same but for two fields v1alpha5 added
 *   (`files`, `options.runtime.ulimits`); MigrateV1Alpha4 copies every field and sets apiVersion.
 * - k3d.io/v1alpha3 → v1alpha4 (v1alpha4/migrations.go MigrateV1Alpha3): the top-level `name`
 *   becomes `metadata.name`, every other field is copied; v1alpha4 added `metadata`,
 *   `hostAliases`, `options.runtime.hostPidMode` and `registries.create.image/proxy/volumes`.
 * (The field lists are the differences between the three versions' schema.json at v5.8.3.)
 * A field a version does not have is refused, as that version's schema refuses it.
 * - k3d.io/v1alpha2: its migration (v1alpha3/migrations.go MigrateV1Alpha2) rewrites node filters,
 *   k3s arguments, labels and registries; keystone does not copy it and refuses the file,
 *   naming `k3d config migrate`.
 */
export const currentVersion = 'k3d.io/v1alpha5';

export interface VersionMigration {
  from: string;
  note: string;
  /** Where a path of the migrated config is in the user's file. */
  pathInFile(path: (string | number)[]): (string | number)[];
}

export interface VersionRefusal {
  path: (string | number)[];
  message: string;
  hint: string;
  atKey?: boolean;
}

/** Fields each version lacks that a later one has: [path, the version that added it]. */
const addedLater: Record<string, [string[], string][]> = {
  'k3d.io/v1alpha4': [
    [['files'], 'k3d.io/v1alpha5'],
    [['options', 'runtime', 'ulimits'], 'k3d.io/v1alpha5'],
  ],
  'k3d.io/v1alpha3': [
    [['files'], 'k3d.io/v1alpha5'],
    [['options', 'runtime', 'ulimits'], 'k3d.io/v1alpha5'],
    [['metadata'], 'k3d.io/v1alpha4'],
    [['hostAliases'], 'k3d.io/v1alpha4'],
    [['options', 'runtime', 'hostPidMode'], 'k3d.io/v1alpha4'],
    [['registries', 'create', 'image'], 'k3d.io/v1alpha4'],
    [['registries', 'create', 'proxy'], 'k3d.io/v1alpha4'],
    [['registries', 'create', 'volumes'], 'k3d.io/v1alpha4'],
  ],
};

const migrateCommand = (file: string) => `k3d config migrate ${file} ${file}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function has(data: unknown, path: string[]): boolean {
  let node: unknown = data;
  for (const key of path) {
    if (!isObject(node) || !(key in node)) return false;
    node = node[key];
  }
  return true;
}

/**
 * The config as a k3d.io/v1alpha5 one (data unchanged when it already is, or when its apiVersion
 * is missing or not a string: the schema says what is wrong then), or why it cannot be read.
 */
export function migrateConfigVersion(
  data: unknown,
  file: string,
): { data: unknown; migration?: VersionMigration } | { refusal: VersionRefusal } {
  if (!isObject(data) || typeof data.apiVersion !== 'string' || data.apiVersion === currentVersion) return { data };
  const from = data.apiVersion;
  if (from === 'k3d.io/v1alpha2') {
    return {
      refusal: {
        path: ['apiVersion'],
        message: `${from} is an older k3d config version that keystone does not migrate (k3d v5.8.3 does: node filters, k3s arguments and registries change shape); keystone reads ${currentVersion}`,
        hint: `update the file with \`${migrateCommand(file)}\` (k3d v5.8.3 migrates it to ${currentVersion}), then run keystone again`,
      },
    };
  }
  const later = addedLater[from];
  if (!later) {
    return {
      refusal: {
        path: ['apiVersion'],
        message: `"${from}" is not a k3d config version k3d v5.8.3 reads (${currentVersion}, or the older k3d.io/v1alpha4, v1alpha3, v1alpha2, which it migrates)`,
        hint: `set apiVersion: ${currentVersion}; see https://k3d.io/v5.8.3/usage/configfile/`,
      },
    };
  }
  for (const [path, since] of later) {
    if (has(data, path)) {
      return {
        refusal: {
          path,
          atKey: true,
          message: `unknown field "${path.at(-1)}" in a ${from} config (it came with ${since}; k3d v5.8.3 would refuse this config)`,
          hint: `set apiVersion: ${since === currentVersion ? currentVersion : `${since} or ${currentVersion}`} to use it (\`${migrateCommand(file)}\` updates the rest of the file)`,
        },
      };
    }
  }
  const migrated: Record<string, unknown> = { ...data, apiVersion: currentVersion };
  const moveName = from === 'k3d.io/v1alpha3';
  if (moveName) {
    delete migrated.name;
    // MigrateV1Alpha3: cfg.Name = cfgIntermediate.Name (checked by the same hostname format in both schemas).
    if (data.name !== undefined) migrated.metadata = { name: data.name };
  }
  return {
    data: migrated,
    migration: {
      from,
      note: `${file} is a ${from} config: read as k3d v5.8.3 reads it, migrated to ${currentVersion}${moveName ? ' (name is now metadata.name)' : ' (only apiVersion changes)'}. To update the file: ${migrateCommand(file)}`,
      pathInFile: (path) =>
        moveName && path[0] === 'metadata' && path[1] === 'name'
          ? ['name', ...path.slice(2)]
          : moveName && path[0] === 'metadata'
            ? ['name']
            : path,
    },
  };
}
