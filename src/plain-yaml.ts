/**
 * A reader for the plain block YAML that kubeconfigs (as k3d, kind and kubectl write them) and the
 * k3d cluster config are made of: nested mappings and sequences of plain or simply quoted scalars.
 * Loading and running the yaml library costs every command that talks to a cluster ~20 ms; this
 * reads those files in well under one. Anything else — flow collections, anchors, tags, block
 * scalars, multi-line or escaped strings, several documents, numbers other than plain integers,
 * words YAML 1.1 reads as booleans, duplicate keys — returns undefined, and the caller parses
 * with the yaml library, which also gives the exact error for a broken file.
 * test/unit/plain-yaml.test.ts holds it to the yaml library's result over a corpus.
 */

type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

interface Line {
  indent: number;
  text: string;
}

/** Thrown inside the reader when the text is not in its subset; never escapes plainYaml(). */
class NotPlain extends Error {}
const notPlain = (): never => {
  throw new NotPlain();
};

/** The words YAML 1.1 reads as booleans or null (case as the yaml library's 1.1 schema accepts). */
const yaml11Words =
  /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|true|True|TRUE|false|False|FALSE|null|Null|NULL|~)$/;
/** A decimal integer both YAML versions read the same way (no sign, no leading zero, exact in a double). */
const plainInteger = /^(?:0|[1-9][0-9]{0,14})$/;

/** A plain (unquoted) scalar as the yaml library resolves it under this YAML version. */
function plainScalar(text: string, version: '1.1' | '1.2'): Value {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null' || text === '~') return null;
  if (plainInteger.test(text)) return Number(text);
  // Indicators that start something other than a plain scalar, or that YAML reserves; and ": ",
  // which would start a mapping the yaml library refuses on one line.
  if (text.includes(': ') || text.endsWith(':')) return notPlain();
  // Command-line flags (`--region`, `-v`) are strings in both versions.
  if (/^--?[A-Za-z]/.test(text)) return text;
  if (/^[-?:,[\]{}#&*!|>'"%@`<=+]/.test(text)) return notPlain();
  if (version === '1.1') {
    // 1.1 also reads yes/no/on/off, sexagesimal and underscored numbers, dates...: only names that
    // start with a letter or a slash and are none of those words are plainly strings.
    if (!/^[A-Za-z/]/.test(text) || yaml11Words.test(text)) return notPlain();
    return text;
  }
  // 1.2 core schema: null, booleans, integers (decimal, 0o, 0x) and floats; every other plain scalar is a string.
  if (/^(?:Null|NULL|True|TRUE|False|FALSE)$/.test(text)) return notPlain();
  if (
    /^(?:[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|\.(?:inf|Inf|INF|nan|NaN|NAN))$/.test(
      text,
    )
  )
    return notPlain();
  return text;
}

/** A value written after `key: ` or `- `: a quoted or plain scalar, or `{}` / `[]`. */
function scalar(raw: string, version: '1.1' | '1.2'): Value {
  if (raw === '{}') return {};
  if (raw === '[]') return [];
  const quote = raw[0];
  if (quote === '"' || quote === "'") {
    // Only a quoted string with no escapes, no inner quote and nothing after it.
    const inner = raw.slice(1, -1);
    if (raw.length < 2 || raw[raw.length - 1] !== quote || inner.includes(quote) || inner.includes('\\'))
      return notPlain();
    return inner;
  }
  return plainScalar(raw, version);
}

/** Removes a trailing comment (` #...`) and spaces; a `#` inside a quoted string keeps it there. */
function stripComment(text: string): string {
  if (text.startsWith('#')) return '';
  const hash = text.indexOf(' #');
  if (hash < 0) return text.trimEnd();
  if (/["']/.test(text.slice(0, hash))) return notPlain(); // a quote before the comment: leave it to the yaml library
  return text.slice(0, hash).trimEnd();
}

/** `key: rest` or `key:`; undefined when the line is not a mapping entry. */
function entry(text: string): { key: string; rest: string } | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0 || (colon + 1 < text.length && text[colon + 1] !== ' ')) {
    // `a:b` is a plain scalar; a later ": " would still make this line an entry: leave it to the library.
    if (text.includes(': ') || text.endsWith(':')) return notPlain();
    return undefined;
  }
  const key = text.slice(0, colon);
  // Keys are plain names; a key that YAML 1.1 would read as a boolean or null is not plain.
  if (!/^[A-Za-z_][A-Za-z0-9_./-]*$/.test(key) || yaml11Words.test(key) || key === '__proto__') return notPlain();
  return { key, rest: text.slice(colon + 1).trim() };
}

class Reader {
  private i = 0;

  constructor(
    private readonly lines: Line[],
    private readonly version: '1.1' | '1.2',
  ) {}

  get done(): boolean {
    return this.i >= this.lines.length;
  }

  /** The node whose first line is the current one, at that line's indent. */
  node(): Value {
    const line = this.lines[this.i]!;
    return line.text === '-' || line.text.startsWith('- ') ? this.sequence(line.indent) : this.mapping(line.indent);
  }

  private mapping(indent: number): { [key: string]: Value } {
    const map: { [key: string]: Value } = {};
    while (!this.done) {
      const line = this.lines[this.i]!;
      if (line.indent < indent) break;
      if (line.indent > indent) return notPlain(); // a continuation line or a stray indent
      const found = entry(line.text);
      if (!found) return notPlain();
      if (Object.hasOwn(map, found.key)) return notPlain(); // the yaml library refuses duplicate keys
      this.i++;
      map[found.key] = this.valueAfter(found.rest, indent, true);
    }
    return map;
  }

  private sequence(indent: number): Value[] {
    const list: Value[] = [];
    while (!this.done) {
      const line = this.lines[this.i]!;
      if (line.indent !== indent || !(line.text === '-' || line.text.startsWith('- '))) {
        if (line.indent > indent) return notPlain();
        break;
      }
      const rest = line.text.slice(1).trimStart();
      if (rest.startsWith('- ') || rest === '-') return notPlain(); // a sequence in a sequence on one line
      if (rest !== '' && entry(rest)) {
        // `- key: value`: a mapping whose keys line up after the dash.
        this.lines[this.i] = { indent: indent + (line.text.length - rest.length), text: rest };
        list.push(this.mapping(this.lines[this.i]!.indent));
      } else {
        this.i++;
        list.push(this.valueAfter(rest, indent, false));
      }
    }
    return list;
  }

  /** The value of an entry whose rest of line is `rest`: a scalar there, or the block below it. */
  private valueAfter(rest: string, indent: number, inMapping: boolean): Value {
    if (rest !== '') {
      const value = scalar(rest, this.version);
      if (!this.done && this.lines[this.i]!.indent > indent) return notPlain(); // a multi-line scalar
      return value;
    }
    if (this.done) return null;
    const next = this.lines[this.i]!;
    if (next.indent > indent) return this.node();
    // `key:` followed by `- item` at the same indent (how go-yaml writes kubeconfig lists).
    if (inMapping && next.indent === indent && (next.text === '-' || next.text.startsWith('- ')))
      return this.sequence(indent);
    return null;
  }
}

/**
 * The document, when `text` is one block mapping in the plain subset (read as the yaml library
 * reads it under this YAML version); undefined otherwise.
 */
export function plainYaml(text: string, version: '1.1' | '1.2' = '1.2'): Record<string, Value> | undefined {
  if (text.includes('\t') || text.includes('\r') || text.charCodeAt(0) === 0xfeff) return undefined;
  try {
    const lines: Line[] = [];
    for (const raw of text.split('\n')) {
      const body = raw.trimStart();
      if (body === '' || body.startsWith('#')) continue;
      // Document markers and directives: more than one plain mapping.
      if (raw.startsWith('---') || raw.startsWith('...') || raw.startsWith('%')) return undefined;
      const content = stripComment(body);
      if (content === '') continue;
      lines.push({ indent: raw.length - body.length, text: content });
    }
    if (lines.length === 0 || lines[0]!.indent !== 0) return undefined;
    const reader = new Reader(lines, version);
    const doc = reader.node();
    if (!reader.done || doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
    return doc;
  } catch (err) {
    if (err instanceof NotPlain) return undefined;
    throw err;
  }
}
