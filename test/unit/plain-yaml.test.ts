// src/plain-yaml.ts reads kubeconfigs and the cluster config without the yaml library. Whatever it
// reads must be exactly what the yaml library gives (YAML 1.1 for kubeconfigs, as kubectl reads
// them; 1.2 for the cluster config), and whatever it cannot read exactly it must leave to it.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { plainYaml } from '../../src/plain-yaml.js';
import { scenarioFiles } from '../fixtures/kubeconfig-lists/scenarios.mjs';
import { repoRoot } from '../fakes/sandbox.mjs';

const pem =
  'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lCQURBS0JnZ3Foa2pPUFFRREFqQWpNU0V3SHdZRFZRUUREQmhyTTNNdGMyVnkK';

/** A one-context kubeconfig with inline certificates, laid out as go-yaml (clientcmd.Write) writes it. */
function goYamlKubeconfig(name: string, server: string, user: string): string {
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${pem}
    server: ${server}
  name: ${name}
contexts:
- context:
    cluster: ${name}
    user: ${user}
  name: ${name}
current-context: ${name}
kind: Config
preferences: {}
users:
- name: ${user}
  user:
    client-certificate-data: ${pem}
    client-key-data: ${pem}
`;
}

/** Kubeconfigs as the tools that write them lay them out (go-yaml for k3d, kind and kubectl). */
const written: Record<string, string> = {
  // k3d v5 (pkg/client/kubeconfig.go) and kind, both written through client-go's clientcmd.
  k3d: goYamlKubeconfig('k3d-keystone-cluster', 'https://0.0.0.0:6443', 'admin@k3d-keystone-cluster'),
  kind: goYamlKubeconfig('kind-kind', 'https://127.0.0.1:38291', 'kind-kind'),
  // EKS-style exec plugin with args and env lists (aws eks update-kubeconfig).
  eks: `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${pem}
    server: https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com
  name: arn:aws:eks:eu-west-1:123456789012:cluster/lab
contexts:
- context:
    cluster: arn:aws:eks:eu-west-1:123456789012:cluster/lab
    namespace: keystone
    user: arn:aws:eks:eu-west-1:123456789012:cluster/lab
  name: lab
current-context: lab
kind: Config
preferences: {}
users:
- name: arn:aws:eks:eu-west-1:123456789012:cluster/lab
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - eu-west-1
      - eks
      - get-token
      - --cluster-name
      - lab
      command: aws
      env:
      - name: AWS_PROFILE
        value: lab
      interactiveMode: IfAvailable
      provideClusterInfo: false
`,
  // GKE's older auth-provider entry, quoted strings included.
  gke: `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${pem}
    server: https://35.187.1.2
  name: gke_proj_europe-west1_lab
contexts:
- context:
    cluster: gke_proj_europe-west1_lab
    user: gke_proj_europe-west1_lab
  name: gke_proj_europe-west1_lab
current-context: gke_proj_europe-west1_lab
kind: Config
preferences: {}
users:
- name: gke_proj_europe-west1_lab
  user:
    auth-provider:
      config:
        cmd-args: config config-helper --format=json
        cmd-path: /usr/lib/google-cloud-sdk/bin/gcloud
        expiry-key: '{.credential.token_expiry}'
        token-key: '{.credential.access_token}'
      name: gcp
`,
  token: `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: https://lab.example:6443
    insecure-skip-tls-verify: true
    tls-server-name: api.lab.example
users:
- name: lab
  user:
    token: abc.def-ghi
    token-file: /var/run/secrets/token
contexts:
- name: lab
  context:
    cluster: lab
    user: lab
current-context: lab   # a comment
`,
  // As keystone itself (and the test sandbox) write it: the yaml library's layout.
  keystone: stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'k3d-keystone-cluster',
        cluster: { server: 'https://127.0.0.1:33019', 'certificate-authority-data': pem },
      },
    ],
    users: [
      {
        name: 'admin@k3d-keystone-cluster',
        user: { 'client-certificate': '/home/me/.kube/client.crt', 'client-key': 'client.key' },
      },
    ],
    contexts: [
      {
        name: 'k3d-keystone-cluster',
        context: { cluster: 'k3d-keystone-cluster', user: 'admin@k3d-keystone-cluster' },
      },
    ],
    'current-context': 'k3d-keystone-cluster',
  }),
};

const clusterConfig = readFileSync(join(repoRoot, 'k8s', 'configs', 'k3d-cluster-config.yaml'), 'utf8');

/** Texts a naive reader would get wrong: each must be left to the yaml library, or read exactly as it reads it. */
const tricky: Record<string, string> = {
  'YAML 1.1 boolean as a name': 'name: n\n',
  'YAML 1.1 boolean key': 'on: x\n',
  'yes as a value': 'a: yes\n',
  'octal-looking number': 'a: 010\n',
  float: 'a: 1.5\n',
  hex: 'a: 0x1F\n',
  'sexagesimal (1.1)': 'a: 12:30\n',
  'date (1.1 timestamp)': 'a: 2001-12-14\n',
  'anchor and alias': 'a: &x 1\nb: *x\n',
  'flow mapping': 'a: {b: c}\n',
  'block scalar': 'a: |\n  line\n',
  'multi-line plain scalar': 'a: one\n  two\n',
  'document marker': '---\na: b\n',
  'two documents': 'a: b\n---\nc: d\n',
  'duplicate key': 'a: 1\na: 2\n',
  tab: 'a:\n\tb: c\n',
  'escaped string': 'a: "x\\ty"\n',
  'quote inside single quotes': "a: 'it''s'\n",
  'colon space in a value': 'a: b: c\n',
  'sequence in a sequence': 'a:\n- - x\n',
  'quoted hash': 'a: "x #y"\n',
  tag: 'a: !!str 5\n',
  'Null and True (1.2)': 'a: Null\nb: True\n',
  'negative number': 'a: -5\n',
  'empty value and empty items': 'a:\nb:\n- \n- x\n',
  'nested sequence of mappings': 'a:\n  - b: 1\n    c: [ ]\n  - d: {}\n',
  'comment-only and blank lines': '# c\n\na: b # c\n  # indented comment\nc: d\n',
  'value with a hash and no space': 'a: b#c\n',
  'quoted numbers stay strings': 'a: "5000"\nb: \'0.0.0.0\'\n',
  'a list at the root': '- a\n- b\n',
  'a scalar at the root': 'hello\n',
  empty: '',
  'indented root': '  a: b\n',
  'key with a dot and slash': 'kubernetes.io/role: x\n',
  'mapping below a scalar value': 'a: b\n  c: d\n',
  'IPv4 (1.2 string)': 'host: 127.0.0.1\n',
  'port mapping (1.2 string)': 'port: 8080:80\n',
  'CRLF line ends': 'a: b\r\nc: d\r\n',
  '__proto__ key': '__proto__: x\n',
  'flags and dashes': 'args:\n- --region\n- -v\n- -5\n- -.inf\n- -\n',
};

const versions = ['1.1', '1.2'] as const;

function expectParity(text: string, version: '1.1' | '1.2', label: string) {
  const fast = plainYaml(text, version);
  if (fast === undefined) return false;
  let slow: unknown;
  expect(
    () => (slow = parse(text, { version })),
    `${label} (${version}) read by plainYaml but refused by yaml`,
  ).not.toThrow();
  expect(fast, `${label} (${version})`).toEqual(slow);
  return true;
}

describe('plain YAML reader', () => {
  it('reads kubeconfigs as k3d, kind, kubectl (EKS exec, GKE auth-provider, token) and keystone write them, exactly as the yaml library', () => {
    for (const [name, text] of Object.entries(written)) {
      expect(expectParity(text, '1.1', name), `${name} should be read without the yaml library`).toBe(true);
    }
  });

  it("reads the project's cluster config and the one the test sandbox writes, exactly as the yaml library", () => {
    expect(expectParity(clusterConfig, '1.2', 'k8s/configs/k3d-cluster-config.yaml')).toBe(true);
    expect(expectParity(stringify(parse(clusterConfig)), '1.2', 'cluster config rewritten by the yaml library')).toBe(
      true,
    );
  });

  it('agrees with the yaml library, or leaves the text to it, over the kubeconfig-lists corpus and the tricky cases', () => {
    for (const [name, text] of Object.entries(scenarioFiles() as Record<string, string>))
      for (const v of versions) expectParity(text, v, name);
    for (const [name, text] of Object.entries(tricky)) for (const v of versions) expectParity(text, v, name);
    // The cases that would be read wrongly by a reader that ignores them are left to the library.
    for (const name of [
      'YAML 1.1 boolean as a name',
      'YAML 1.1 boolean key',
      'yes as a value',
      'sexagesimal (1.1)',
      'date (1.1 timestamp)',
    ]) {
      expect(plainYaml(tricky[name]!, '1.1'), name).toBeUndefined();
    }
    for (const name of [
      'anchor and alias',
      'flow mapping',
      'block scalar',
      'multi-line plain scalar',
      'two documents',
      'duplicate key',
      'tab',
      'escaped string',
      'colon space in a value',
      'tag',
      'CRLF line ends',
      'Null and True (1.2)',
      'octal-looking number',
      'float',
      'hex',
    ]) {
      for (const v of versions) expect(plainYaml(tricky[name]!, v), `${name} (${v})`).toBeUndefined();
    }
  });
});
