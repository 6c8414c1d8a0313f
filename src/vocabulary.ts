/**
 * keystone's Kubernetes vocabulary, in one place: the namespace its stack lives in, the label and
 * annotation keys it writes and reads, its field managers and the API's name rules (a run's directory
 * layout is the runs domain's: runs/model.ts). Everything else imports these; a second spelling of any of them is a bug.
 */
/** The namespace of the stack and of simulation runs; commands look nowhere else. */
export const stackNamespace = 'keystone';

/** Label keys keystone puts on (and selects) its objects. */
export const labels = {
  /** The simulation code a run or template is for (lammps, fenicsx, openfoam). */
  tool: 'keystone.io/simulation',
  runId: 'keystone.io/run-id',
  /** Marks a suspended Job in the stack as the template runs are copied from. */
  template: 'keystone.io/simulation-template',
  /** The recommended Kubernetes labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/). */
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** The value of labels.partOf / labels.managedBy on keystone's objects. */
export const labelValue = 'keystone';

/**
 * Annotation keys on run Jobs: the input, the run directory, where that directory is ("host": on
 * this machine; "node": on the node that ran the pod, for runs made before volumes; "volume": on
 * the PersistentVolumeClaim named by outputClaim), a sweep's parameters, and when `jobs cancel`
 * stopped a run on a volume (cancelledAt, RFC 3339: the run is suspended and kept, not deleted).
 */
export const annotations = {
  input: 'keystone.io/input',
  sweep: 'keystone.io/sweep',
  outputDir: 'keystone.io/output-dir',
  outputOn: 'keystone.io/output-on',
  outputClaim: 'keystone.io/output-claim',
  cancelledAt: 'keystone.io/cancelled-at',
  /** The run's record (runs/record/record.ts): JSON with its own checksum. */
  runRecord: 'keystone.io/run-record',
} as const;

/**
 * Server-side apply / patch field managers (who owns which field, as `kubectl get -o yaml
 * --show-managed-fields` shows): setup's manifests, templates and redis secret; scale; restart.
 */
export const fieldManagers = { apply: 'keystone', scale: 'keystone-scale', restart: 'keystone-restart' } as const;

/**
 * The API server's name rules (kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go:
 * IsDNS1123Label, 63 characters; IsDNS1123Subdomain, 253 characters).
 */
export const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dns1123LabelMaxLength = 63;
export const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const dns1123SubdomainMaxLength = 253;
