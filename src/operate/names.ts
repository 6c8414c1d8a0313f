/** Checking names users type before they reach the API. */
import { UsageError } from '../errors.js';
import { dns1123Label, dns1123LabelMaxLength, dns1123Subdomain, dns1123SubdomainMaxLength } from '../vocabulary.js';

/** Deployment and service names: DNS-1123 labels (63 characters at most). */
export function requireLabelName(name: string, what: string): string {
  if (!dns1123Label.test(name) || name.length > dns1123LabelMaxLength) {
    throw new UsageError(
      `"${printable(name)}" is not a valid ${what} name`,
      'names are lower-case letters, digits and "-", starting and ending with a letter or digit',
    );
  }
  return name;
}

/** Pod names: DNS-1123 subdomains (253 characters at most). */
export function requireObjectName(name: string, what: string): string {
  if (!dns1123Subdomain.test(name) || name.length > dns1123SubdomainMaxLength) {
    throw new UsageError(
      `"${printable(name)}" is not a valid ${what} name`,
      'names are lower-case letters, digits, "-" and "."',
    );
  }
  return name;
}

/**
 * `kind/NAME` as kubectl writes it (`pod/redis-x`, `deployment/redis`), or a bare NAME: split,
 * with neither part empty (`--for ''` or `pod/` names nothing; refused, never taken as "all").
 */
export function splitKindName(text: string, what: string): { kind?: string; name: string } {
  const slash = text.indexOf('/');
  const kind = slash < 0 ? undefined : text.slice(0, slash);
  const name = slash < 0 ? text : text.slice(slash + 1);
  if (name === '' || kind === '')
    throw new UsageError(
      `${what} "${printable(text)}" names nothing`,
      'give a NAME (redis-5d9c7f-x7k2p) or KIND/NAME (pod/redis-5d9c7f-x7k2p)',
    );
  return kind === undefined ? { name } : { kind, name };
}

/** A name as it can be shown on one line without the terminal interpreting it. */
export function printable(text: string): string {
  return JSON.stringify(text)
    .slice(1, -1)
    .replace(/[\u0000-\u001f\u007f]/g, '?');
}
