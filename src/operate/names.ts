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

/** A name as it can be shown on one line without the terminal interpreting it. */
export function printable(text: string): string {
  return JSON.stringify(text)
    .slice(1, -1)
    .replace(/[\u0000-\u001f\u007f]/g, '?');
}
