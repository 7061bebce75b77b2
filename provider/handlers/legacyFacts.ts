// Legacy: the facts of a script, read back out of the script itself.
//
// Why this exists: the compiler returns, with each host's script, what the
// host side must know of it (RulesetFacts: the failsafe's port, the local
// interface patterns), and the SDK sends them as the Attachment's `facts`
// input. State written by versions before that carries no `facts`, and an
// Attachment declared by hand may not either; for those, and only those,
// the handler derives them once from the script with the parsers below, the
// ones the apply path itself used before (it now takes the facts as
// parameters and never parses the script). They read the compiler's own
// output format, so they hold for every script nftsg ever compiled;
// test/unit/rulesetFacts.test.ts requires them to agree with the compiler's
// facts on every golden fleet, so the two cannot drift apart.
//
// Do not use them anywhere else: a new fact belongs in the compiler's facts.
import type { RulesetFacts } from "../declaration/declaration";

/** The facts of a script that arrived without them (state written by an older version). */
export function legacyFacts(script: string): RulesetFacts {
  const failsafePort = failsafePortInScript(script);
  return { ...(failsafePort !== undefined ? { failsafePort } : {}), localInterfaces: localInterfacesInScript(script) };
}

/**
 * The port the compiled failsafe rule opens (`tcp dport N accept comment
 * "failsafe ssh"`, with `counter name "failsafe_ssh"` before accept on an
 * observed host), if any.
 */
export function failsafePortInScript(script: string): number | undefined {
  const m = /\btcp dport (\d{1,5}) (?:counter name "failsafe_ssh" )?accept comment "failsafe ssh"$/m.exec(script);
  return m ? Number(m[1]) : undefined;
}

/**
 * The interface patterns the compiled ruleset accepts like loopback
 * (`iifname { "br-*", "docker0" } accept comment "local containers"`, or one
 * name without braces), in the order written; [] if none.
 */
export function localInterfacesInScript(script: string): string[] {
  const m = /^\t\tiifname (\{ [^}\n]* \}|"[^"\n]*") accept comment "local containers"$/m.exec(script);
  return m ? [...m[1]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) : [];
}
