// Comparing what is on a host with what we meant to put there.
//
// `normaliseNftListing(text)` turns nft ruleset text — the output of
// `nft list table inet X` (with or without -a handles), or the table
// definition part of a compiled script — into a canonical form, so that
//
//   normaliseNftListing(<nft list table inet X after loading script>)
//     === normaliseNftListing(tableDefinition(script))
//
// It is deliberately tolerant of how nft prints things and strict about what
// they mean:
//   - indentation, blank lines, line wrapping of set elements, `;` vs newline;
//   - `# handle N` annotations and other comments outside quotes;
//   - the order of elements inside `{ ... }` (set elements, anonymous sets);
//   - the order of sets and chains inside a table (declaration order has no
//     meaning) — but never the order of rules inside a chain;
//   - counter values (`counter packets 12 bytes 3456` -> `counter`), also of
//     named counters (`counter c { packets 12 bytes 3456 }`), and the elements
//     of dynamic sets (`flags dynamic`): what the kernel counts and records by
//     itself (docs/observe.md) changes all the time and is never drift;
//   - symbolic vs numeric `meta l4proto`, `icmp type/code`, `icmpv6 type/code`
//     (a host without /etc/protocols prints `meta l4proto 6`).

import { SYMBOL_NUMBERS } from "./symbols";

type Token = { kind: "word"; text: string } | { kind: "quoted"; text: string } | { kind: "punct"; text: "{" | "}" | ";" | "," | "\n" };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "\n") {
      out.push({ kind: "punct", text: "\n" });
      i++;
    } else if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (c === "\\" && text[i + 1] === "\n") {
      i += 2; // line continuation
    } else if (c === "#") {
      while (i < n && text[i] !== "\n") i++;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      const stop = end < 0 ? n : end;
      out.push({ kind: "quoted", text: text.slice(i, stop + 1) });
      i = stop + 1;
    } else if (c === "{" || c === "}" || c === ";" || c === ",") {
      out.push({ kind: "punct", text: c });
      i++;
    } else {
      let j = i;
      while (j < n && !' \t\r\n{};,"#'.includes(text[j]!)) j++;
      // `#` inside a word (never produced by nft) would start a comment.
      out.push({ kind: "word", text: text.slice(i, j) });
      i = j;
    }
  }
  return out;
}

/** A statement is a sequence of atoms; a `{ ... }` list is one atom. */
type Atom = string | { list: string[] };

interface Block {
  header: string;
  kind: string;
  statements: string[];
  children: Block[];
}

const TABLE_CHILD_BLOCKS = new Set(["set", "map", "chain", "flowtable", "counter", "quota", "limit", "ct", "secmark", "synproxy", "tunnel"]);

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private skipSeparators(): void {
    for (let t = this.peek(); t && t.kind === "punct" && (t.text === "\n" || t.text === ";"); t = this.peek()) this.pos++;
  }

  /** A `{ ... }` value list after its opening brace; elements may span lines. */
  private parseList(): { list: string[] } {
    const elements: string[] = [];
    let current: Atom[] = [];
    const flush = () => {
      if (current.length) elements.push(renderAtoms(canonicalAtoms(current)));
      current = [];
    };
    for (;;) {
      const t = this.peek();
      if (!t) break;
      this.pos++;
      if (t.kind === "punct") {
        if (t.text === "}") break;
        if (t.text === ",") flush();
        else if (t.text === "{") current.push(this.parseList());
        // newlines and `;` inside a list are layout only
      } else {
        current.push(t.text);
      }
    }
    flush();
    elements.sort();
    return { list: elements };
  }

  /**
   * Read one statement. Stops at newline/`;` (outside lists) or before `}`.
   * If `allowBlock`, a `{` at the end of a block header opens a block.
   */
  private parseStatement(blockKinds: ReadonlySet<string> | undefined): { atoms: Atom[]; block?: Block } {
    const atoms: Atom[] = [];
    for (;;) {
      const t = this.peek();
      if (!t) break;
      if (t.kind === "punct") {
        if (t.text === "\n" || t.text === ";") {
          this.pos++;
          break;
        }
        if (t.text === "}") break;
        if (t.text === "{") {
          this.pos++;
          const first = atoms[0];
          if (blockKinds && typeof first === "string" && blockKinds.has(first)) {
            const header = renderAtoms(canonicalAtoms(atoms));
            const block = this.parseBlockBody(header, first);
            return { atoms, block };
          }
          atoms.push(this.parseList());
          continue;
        }
        if (t.text === ",") {
          this.pos++;
          atoms.push(",");
          continue;
        }
      }
      this.pos++;
      atoms.push(t.text);
    }
    return { atoms };
  }

  private parseBlockBody(header: string, kind: string): Block {
    const block: Block = { header, kind, statements: [], children: [] };
    const childKinds = kind === "table" ? TABLE_CHILD_BLOCKS : undefined;
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (!t) break;
      if (t.kind === "punct" && t.text === "}") {
        this.pos++;
        break;
      }
      const { atoms, block: child } = this.parseStatement(childKinds);
      if (child) block.children.push(child);
      else if (atoms.length) block.statements.push(renderAtoms(canonicalAtoms(atoms)));
    }
    return block;
  }

  parseTop(): Block[] {
    const tables: Block[] = [];
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (!t) break;
      if (t.kind === "punct" && t.text === "}") {
        this.pos++; // stray brace: ignore
        continue;
      }
      const { atoms, block } = this.parseStatement(new Set(["table"]));
      if (block) {
        // `table x {}` followed by `table x { ... }` declares one table.
        const same = tables.find((t) => t.header === block.header);
        if (same) {
          for (const st of block.statements) same.statements.push(st);
          for (const ch of block.children) same.children.push(ch);
        } else {
          tables.push(block);
        }
      } else if (atoms[0] === "delete" && atoms[1] === "table") {
        // A script's prelude: what was declared before is gone.
        const header = renderAtoms(["table", ...atoms.slice(2)]);
        const i = tables.findIndex((t) => t.header === header);
        if (i >= 0) tables.splice(i, 1);
      }
      // Other top-level commands (flush, add element ...) are not definitions.
    }
    return tables;
  }
}

/** Canonical spelling of atoms: symbolic constants to numbers, counters zeroed. */
function canonicalAtoms(atoms: Atom[]): Atom[] {
  const out: Atom[] = [];
  for (let i = 0; i < atoms.length; i++) {
    const a = atoms[i]!;
    const prev = out[out.length - 1];
    const prev2 = out[out.length - 2];
    if (a === "counter" && atoms[i + 1] === "packets" && atoms[i + 3] === "bytes") {
      out.push("counter");
      i += 4;
      continue;
    }
    let map: ReadonlyMap<string, number> | undefined;
    if (prev === "l4proto" && prev2 === "meta") map = SYMBOL_NUMBERS.l4proto;
    else if (prev === "protocol" && prev2 === "ip") map = SYMBOL_NUMBERS.l4proto;
    else if (prev === "nexthdr" && prev2 === "ip6") map = SYMBOL_NUMBERS.l4proto;
    else if (prev === "type" && prev2 === "icmp") map = SYMBOL_NUMBERS.icmpType;
    else if (prev === "code" && prev2 === "icmp") map = SYMBOL_NUMBERS.icmpCode;
    else if (prev === "type" && prev2 === "icmpv6") map = SYMBOL_NUMBERS.icmpv6Type;
    else if (prev === "code" && prev2 === "icmpv6") map = SYMBOL_NUMBERS.icmpv6Code;
    if (map) {
      if (typeof a === "string") {
        out.push(symbolToNumber(map, a));
      } else {
        out.push({ list: a.list.map((e) => symbolToNumber(map!, e)).sort() });
      }
      continue;
    }
    out.push(a);
  }
  return out;
}

function symbolToNumber(map: ReadonlyMap<string, number>, text: string): string {
  const n = map.get(text);
  return n === undefined ? text : String(n);
}

function renderAtoms(atoms: Atom[]): string {
  let out = "";
  for (const a of atoms) {
    if (a === ",") {
      out += ",";
      continue;
    }
    const text = typeof a === "string" ? a : a.list.length ? `{ ${a.list.join(", ")} }` : "{ }";
    out += out === "" || out.endsWith(",") ? text : ` ${text}`;
  }
  return out;
}

/** What the kernel changes by itself: a named counter's values, a dynamic set's elements (docs/observe.md). */
function live(b: Block, statement: string): boolean {
  if (b.kind === "counter") return /^packets \d+ bytes \d+$/.test(statement);
  if (b.kind === "set" || b.kind === "map") return statement.startsWith("elements =") && b.statements.some((s) => /^flags .*\bdynamic\b/.test(s));
  return false;
}

function renderBlock(b: Block, depth: number): string[] {
  const ind = "\t".repeat(depth);
  const lines = [`${ind}${b.header} {`];
  // Inside a set or map, statement order means nothing; inside a chain the
  // order of rules is the semantics, so it is kept.
  const kept = b.statements.filter((s) => !live(b, s));
  const statements = b.kind === "chain" ? kept : kept.sort();
  for (const s of statements) lines.push(`${ind}\t${s}`);
  const children = [...b.children].sort((x, y) => (x.header < y.header ? -1 : x.header > y.header ? 1 : 0));
  for (const c of children) for (const l of renderBlock(c, depth + 1)) lines.push(l);
  lines.push(`${ind}}`);
  return lines;
}

/** Canonical form of nft ruleset text; "" when it defines no table. */
export function normaliseNftListing(text: string): string {
  const tables = new Parser(tokenize(text)).parseTop();
  tables.sort((x, y) => (x.header < y.header ? -1 : x.header > y.header ? 1 : 0));
  const lines = tables.flatMap((t) => renderBlock(t, 0));
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/**
 * The table definition part of a compiled script: everything from the last
 * `table <family> <name> {` that opens a non-empty definition, without the
 * `table ... {}` + `delete table ...` prelude. "" for an empty script.
 */
export function tableDefinition(script: string): string {
  const lines = script.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (/^table \S+ \S+ \{\s*$/.test(l)) return `${lines.slice(i).join("\n").trimEnd()}\n`;
  }
  return "";
}

/** The table's comment (nftsg records the owning stack there), if any. */
export function tableOwner(listing: string): string | undefined {
  const tables = new Parser(tokenize(listing)).parseTop();
  for (const t of tables) {
    for (const s of t.statements) {
      const m = /^comment "(.*)"$/.exec(s);
      if (m) return m[1];
    }
  }
  return undefined;
}

/** What `nft list table` must show (after normalising) for this ruleset. */
export function expectedListing(r: { script: string }): string {
  return normaliseNftListing(tableDefinition(r.script));
}

/**
 * A short, readable line diff of two normalised listings: "- " lines are
 * expected but missing on the host, "+ " lines are on the host but not
 * expected. At most `maxLines` lines, then a count of the rest.
 */
export function describeDifference(expected: string, actual: string, maxLines = 40): string {
  const a = expected.split("\n").filter((l) => l !== "");
  const b = actual.split("\n").filter((l) => l !== "");
  const out: string[] = [];
  if (a.length * b.length > 4_000_000) {
    // Too big for an LCS table: compare as multisets of lines.
    const count = new Map<string, number>();
    for (const l of b) count.set(l, (count.get(l) ?? 0) + 1);
    for (const l of a) {
      const c = count.get(l) ?? 0;
      if (c > 0) count.set(l, c - 1);
      else out.push(`- ${l.trim()}`);
    }
    for (const [l, c] of count) for (let i = 0; i < c; i++) out.push(`+ ${l.trim()}`);
  } else {
    // Classic LCS; tables are at most a few thousand lines.
    const n = a.length;
    const m = b.length;
    const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[i] === b[j]) {
        i++;
        j++;
      } else if (j >= m || (i < n && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
        out.push(`- ${a[i++]!.trim()}`);
      } else {
        out.push(`+ ${b[j++]!.trim()}`);
      }
    }
  }
  if (out.length === 0) return "(no difference)";
  const shown = out.slice(0, maxLines);
  if (out.length > maxLines) shown.push(`... and ${out.length - maxLines} more differing lines`);
  return shown.join("\n");
}
