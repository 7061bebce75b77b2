// What may reach a host: an Attachment's inputs are checked, in its own
// `check` and again before create or update contact the host, for being the
// compiled ruleset of a valid declaration.
import type { AttachmentProps } from "./attachmentContract";
import { sha256 } from "./attachmentState";
import { containsUnknown, UNKNOWN } from "./unknown";

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * What makes inputs unfit to reach a host, as check failures: a declaration
 * whose verdict is not valid, content that is not a compiled ruleset (a
 * placeholder, a script that does not match its hash), or no script where
 * the compiler did not say "no table" (sha256 of the empty script).
 */
export function contentProblems(news: AttachmentProps): { property: string; reason: string }[] {
  const { verdictProblems } = require("./verdict") as typeof import("./verdict");
  const out: { property: string; reason: string }[] = [];
  if (news.verdict !== undefined && news.verdict !== UNKNOWN) out.push(...verdictProblems(news.verdict));
  const { OWNER_PATTERN } = require("../vocabulary/names") as typeof import("../vocabulary/names");
  if (news.owner !== UNKNOWN && (typeof news.owner !== "string" || !OWNER_PATTERN.test(news.owner))) {
    out.push({ property: "owner", reason: `${JSON.stringify(news.owner)} is not an owner nftsg can record on the host (at most 128 characters of letters, digits and . _ / @ : = + -); shorten the host name` });
  }
  if (news.jumpTargets !== undefined && !containsUnknown(news.jumpTargets) && !wellFormedJumpTargets(news.jumpTargets)) {
    // The hosts managed through this one: without them its apply could not prove their paths.
    out.push({ property: "jumpTargets", reason: `not a list of {name, host, port} (${JSON.stringify(news.jumpTargets).slice(0, 120)}); nothing is applied` });
  }
  if (news.facts !== undefined && !containsUnknown(news.facts) && !wellFormedFacts(news.facts)) {
    // What the host side checks (the failsafe's port, the local interfaces): the compiler's, or none at all.
    out.push({ property: "facts", reason: `not the compiler's facts of a script ({failsafePort?, localInterfaces}: ${JSON.stringify(news.facts).slice(0, 120)}); nothing is applied` });
  }
  if ([news.hash, news.scriptBrotli, news.script].includes(UNKNOWN)) return out;
  if (typeof news.hash !== "string" || !SHA256_HEX.test(news.hash)) {
    out.push({ property: "hash", reason: `this host has no compiled ruleset (${JSON.stringify(news.rules)}): the declaration did not compile; nothing is applied` });
    return out;
  }
  const encoded = news.script === undefined;
  const script = encoded ? (news.scriptBrotli === undefined ? undefined : safeDecode(news.scriptBrotli)) : news.script;
  if (script === undefined) {
    out.push({ property: "scriptBrotli", reason: "the compiled ruleset is missing or cannot be decoded; nothing is applied" });
  } else if (sha256(script) !== news.hash) {
    out.push({
      property: encoded ? "scriptBrotli" : "script",
      reason: script === "" ? "no script, but the compiler did not mark this host as keeping no table; nothing is applied" : "the script does not match its hash; nothing is applied",
    });
  }
  return out;
}

export function wellFormedJumpTargets(v: unknown): v is NonNullable<AttachmentProps["jumpTargets"]> {
  return (
    Array.isArray(v) &&
    v.every(
      (t) =>
        typeof t === "object" && t !== null && typeof t.name === "string" && typeof t.host === "string" && t.host !== "" &&
        Number.isInteger(t.port) && t.port >= 1 && t.port <= 65535,
    )
  );
}

/** A RulesetFacts as the compiler makes it and the apply takes it: a TCP port if any, and interface names or patterns. */
export function wellFormedFacts(v: unknown): v is NonNullable<AttachmentProps["facts"]> {
  const { assertRulesetFacts } = require("../host/remoteQuote") as typeof import("../host/remoteQuote");
  try {
    assertRulesetFacts(v as AttachmentProps["facts"]);
    return true;
  } catch {
    return false;
  }
}

function safeDecode(encoded: string): string | undefined {
  try {
    return (require("./scriptEncoding") as typeof import("./scriptEncoding")).decodeScript(encoded);
  } catch {
    return undefined;
  }
}

/**
 * The last line before a host is contacted: inputs that check would refuse,
 * or that still hold an unknown value, never reach it (the engine does not
 * normally hand either to create or update; if it ever does, fail closed).
 */
export function refuseUnfit(news: AttachmentProps): void {
  const problems = contentProblems(news);
  if (containsUnknown(news)) problems.push({ property: "inputs", reason: "a value is still unknown" });
  if (problems.length === 0) return;
  const what = problems.map((p) => `${p.property}: ${p.reason}`).join("; ");
  throw new Error(`host ${news.hostName} (${news.address}:${news.port}): refused before contacting the host: ${what}`);
}
