/**
 * Environment variables in a k3d config, expanded as k3d v5.8.3 expands them: the whole file's
 * text goes through Go's os.ExpandEnv before it is parsed or validated (k3d-io/k3d v5.8.3
 * cmd/util/config/config.go InitViperWithConfigFile). The rules are Go's os.Expand (go/src/os/env.go):
 * `$NAME` and `${NAME}`; an unset variable is the empty string; `${}` and an unclosed `${` are
 * dropped; a `$` not followed by a name stays; `$1`, `$$`, `$?` and the like are one-character
 * names. test/fixtures/go-os-expandenv.json holds what Go itself returns for each of these.
 *
 * Each replacement is recorded, so a position in the expanded text maps back to the user's file.
 */

export interface Expansion {
  /** The reference as written, e.g. "${K3D_SERVERS}". */
  reference: string;
  name: string;
  value: string;
  /** Whether the variable was set (an unset one expands to "", as in Go). */
  set: boolean;
  /** Offsets of the reference in the original text, and of its value in the expanded text. */
  from: number;
  to: number;
  expandedFrom: number;
  expandedTo: number;
}

export interface ExpandedText {
  text: string;
  expansions: Expansion[];
  /** The offset in the original text that an offset in the expanded text came from. */
  originalOffset(expandedOffset: number): number;
}

const isShellSpecialVar = (c: string) => '*#$@!?-0123456789'.includes(c);
const isAlphaNum = (c: string) => /^[A-Za-z0-9_]$/.test(c);

/** Go's getShellName: the name after a "$", and how many characters it took ("" with w > 0: bad syntax, eaten). */
function shellName(s: string): { name: string; w: number } {
  if (s[0] === '{') {
    if (s.length > 2 && isShellSpecialVar(s[1]!) && s[2] === '}') return { name: s[1]!, w: 3 };
    for (let i = 1; i < s.length; i++) {
      if (s[i] === '}') return i === 1 ? { name: '', w: 2 } : { name: s.slice(1, i), w: i + 1 };
    }
    return { name: '', w: 1 };
  }
  if (isShellSpecialVar(s[0]!)) return { name: s[0]!, w: 1 };
  let i = 0;
  while (i < s.length && isAlphaNum(s[i]!)) i++;
  return { name: s.slice(0, i), w: i };
}

export function expandEnv(text: string, env: NodeJS.ProcessEnv): ExpandedText {
  let out = '';
  let i = 0;
  const expansions: Expansion[] = [];
  for (let j = 0; j < text.length; j++) {
    if (text[j] !== '$' || j + 1 >= text.length) continue;
    out += text.slice(i, j);
    const { name, w } = shellName(text.slice(j + 1));
    if (name === '' && w > 0) {
      // Bad syntax ("${}", an unclosed "${"): Go drops it.
      expansions.push({
        reference: text.slice(j, j + 1 + w),
        name: '',
        value: '',
        set: false,
        from: j,
        to: j + 1 + w,
        expandedFrom: out.length,
        expandedTo: out.length,
      });
    } else if (name === '') {
      out += '$';
    } else {
      const value = env[name] ?? '';
      expansions.push({
        reference: text.slice(j, j + 1 + w),
        name,
        value,
        set: env[name] !== undefined,
        from: j,
        to: j + 1 + w,
        expandedFrom: out.length,
        expandedTo: out.length + value.length,
      });
      out += value;
    }
    j += w;
    i = j + 1;
  }
  out += text.slice(i);
  return {
    text: out,
    expansions,
    originalOffset(offset: number): number {
      let shift = 0;
      for (const e of expansions) {
        if (offset < e.expandedFrom) break;
        // Inside a value, or where an empty one stands: the reference it came from.
        if (offset < e.expandedTo || (offset === e.expandedFrom && e.expandedFrom === e.expandedTo)) return e.from;
        shift = e.to - e.expandedTo;
      }
      return offset + shift;
    },
  };
}

/** The variables whose value is (or, when empty, would be) in [from, to] of the expanded text. */
export function expansionsWithin(expanded: ExpandedText, from: number, to: number): Expansion[] {
  return expanded.expansions.filter((e) => e.name !== '' && e.expandedFrom >= from && e.expandedFrom <= to);
}
