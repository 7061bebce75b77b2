// nftsg owns exactly one table per host and never touches any other
// (docs/semantics.md#only-its-own-table). Rollback, ownership and the lock all cover that
// one table, so a script that reached outside it would escape every safety
// net: refuse it before contacting the host. A best-effort syntactic check of
// the top-level statements (what nft executes outside any `{}` block).

import { OWNER_ID } from "./remoteQuote";

const COMMANDS = new Set(["add", "create", "insert", "replace", "delete", "destroy", "flush", "reset", "list"]);
const OBJECTS = new Set(["table", "chain", "rule", "set", "map", "element", "flowtable", "counter", "quota", "limit", "ct", "secmark", "synproxy"]);

/** Top-level statements of an nft script, with quoted strings and comments handled. */
export function topLevelStatements(script: string): string[] {
  const out: string[] = [];
  let cur = "";
  let depth = 0;
  let quote = false;
  let comment = false;
  const flush = () => {
    const s = cur.trim();
    if (s) out.push(s);
    cur = "";
  };
  for (const ch of script) {
    if (comment) {
      if (ch === "\n") {
        comment = false;
        if (depth === 0) flush();
      }
      continue;
    }
    if (quote) {
      if (ch === '"') quote = false;
      if (depth === 0) cur += ch;
      continue;
    }
    if (ch === "#") {
      comment = true;
      continue;
    }
    if (ch === '"') quote = true;
    if (ch === "{") {
      if (depth === 0) cur += "{";
      depth++;
      continue;
    }
    if (ch === "}") {
      depth = Math.max(0, depth - 1);
      if (depth === 0) cur += "}";
      continue;
    }
    if (depth === 0) {
      if (ch === "\n" || ch === ";") flush();
      else cur += ch;
    }
  }
  flush();
  return out;
}

/**
 * Statements that read other files or run anything, at any depth (nft
 * accepts `include` inside a table block too): never in a ruleset of ours.
 */
function nestedEscape(script: string): string | undefined {
  // Quoted strings and comments removed, so only statements are searched.
  const bare = script.replace(/"[^"\n]*"/g, '""').replace(/#[^\n]*/g, "");
  const m = /(?:^|[\n;{}])\s*(include\s+\S+)/.exec(bare);
  return m?.[1];
}

/** Throws with the offending statement if the script may touch anything but `table inet <table>`. */
export function assertScriptScope(script: string, table: string): void {
  const own = (family: string | undefined, name: string | undefined) => family === "inet" && name === table;
  const escape = nestedEscape(script);
  if (escape !== undefined) throw new Error(`the ruleset may only touch table inet ${table}; refusing statement: ${escape.slice(0, 120)}`);
  for (const stmt of topLevelStatements(script)) {
    const w = stmt.replace(/[{}]/g, " ").split(/\s+/).filter(Boolean);
    const bad = () => new Error(`the ruleset may only touch table inet ${table}; refusing statement: ${stmt.slice(0, 120)}`);
    if (w[0] === "define" || w[0] === "undefine" || w[0] === "redefine") continue;
    if (w[0] === "table") {
      if (!own(w[1], w[2])) throw bad();
      continue;
    }
    if (w[0] !== undefined && COMMANDS.has(w[0]) && w[1] !== undefined && OBJECTS.has(w[1])) {
      // "add rule inet T ...", "delete table inet T"; ct objects: "add ct helper inet T ..."
      const at = w[1] === "ct" ? 3 : 2;
      if (!own(w[at], w[at + 1])) throw bad();
      continue;
    }
    throw bad();
  }
}

/**
 * The owner named in the script's table comment (the comment line indented by
 * exactly one tab, as nft lists it): "owner=<id>" inside it, or the whole
 * comment when it is a bare stack id, as the compiler writes it.
 *
 * Not a fact the apply takes from the script: the owner it records is its own
 * `owner` option (the Attachment's input). This is a check of the script, like
 * assertScriptScope: the host reads a table's owner from its comment first
 * (remoteLib.ts live_owner), so a script naming another owner than the apply's
 * would leave a table its own stack is then refused; it is refused before
 * contacting the host.
 */
export function ownerInScript(script: string): string | undefined {
  const m = /^\tcomment "([^"\n]*)"\s*$/m.exec(script);
  if (!m) return undefined;
  const inner = /owner=([^\s";,]+)/.exec(m[1]);
  if (inner) return inner[1];
  return OWNER_ID.test(m[1]) ? m[1] : undefined;
}
