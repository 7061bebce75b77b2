// What the named checks of validation pass 2 share: where problems are
// collected, how prefixes are parsed, and what the group check learnt (the
// declared group names and which rule first uses each as a peer), which the
// rule and host checks need to resolve references.
import type { PrefixParse } from "../../addressing/cidr";
import { didYouMean } from "../didYouMean";
import type { ValidationIssue } from "../fleetModel";

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
export const present = (v: unknown) => v !== undefined && v !== null;

export interface CheckContext {
  readonly issues: ValidationIssue[];
  add(path: string, message: string): void;
  parsePrefix(text: string): PrefixParse;
  /** Group name -> index of its first declaration. */
  readonly groupIndex: Map<string, number>;
  /** Peer group name -> path of the first rule using it. */
  readonly peerGroupUse: Map<string, string>;
  /** Address list name -> index of its first declaration (docs/multistack.md). */
  readonly listIndex: Map<string, number>;
  /** Address list name -> what rules need to know of its entries (valid ones only). */
  readonly listInfo: Map<string, { families: Set<4 | 6>; multicast?: string }>;
  /** Remote group name -> index of its first declaration. */
  readonly remoteIndex: Map<string, number>;
  /** Published group name -> path of the entry publishing it. */
  readonly publishedGroupUse: Map<string, string>;
}

export function newCheckContext(parsePrefix: (text: string) => PrefixParse): CheckContext {
  const issues: ValidationIssue[] = [];
  return {
    issues,
    add: (path, message) => issues.push({ path, message }),
    parsePrefix,
    groupIndex: new Map(),
    peerGroupUse: new Map(),
    listIndex: new Map(),
    listInfo: new Map(),
    remoteIndex: new Map(),
    publishedGroupUse: new Map(),
  };
}

/** A rule may name a security group of this fleet or a remote group. */
export const isPeerGroupName = (ctx: CheckContext, name: string): boolean => ctx.groupIndex.has(name) || ctx.remoteIndex.has(name);

/** "unknown address list ..." with a suggestion and the declared names. */
export function unknownListMessage(ctx: CheckContext, name: string): string {
  const names = [...ctx.listIndex.keys()].sort();
  const hint = didYouMean(name, names);
  return `unknown address list ${JSON.stringify(name)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}${
    names.length === 0
      ? " (no address lists are declared: declare it in addressLists: [{ name, cidrs }])"
      : names.length <= 12
        ? ` (declared: ${names.join(", ")})`
        : ` (${names.length} address lists are declared)`
  }`;
}

/** "unknown security group ..." with a suggestion and the declared names. */
export function unknownGroupMessage(ctx: CheckContext, name: string): string {
  const groupNames = [...ctx.groupIndex.keys(), ...ctx.remoteIndex.keys()].sort();
  const hint = didYouMean(name, groupNames);
  return `unknown security group ${JSON.stringify(name)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}${
    groupNames.length === 0
      ? " (no groups are declared)"
      : groupNames.length <= 12
        ? ` (declared: ${groupNames.join(", ")})`
        : ` (${groupNames.length} groups are declared)`
  }`;
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export function checkDescription(ctx: CheckContext, v: unknown, path: string): void {
  if (typeof v === "string" && CONTROL_CHARS.test(v)) {
    ctx.add(path, "contains control characters (newline, tab, ...); use a single line of text");
  }
}

export const arrayAt = (o: Obj, key: string): unknown[] => (Array.isArray(o[key]) ? (o[key] as unknown[]) : []);
