// Scrubs secrets out of any text that may leave the provider (error messages,
// log lines). Private keys, passwords and key passphrases must never appear in
// Pulumi state, logs or errors (docs/apply.md#errors), and an error from ssh2, sudo or a
// shell could in principle echo one back, so every message is passed through
// here before it is thrown or logged.
import type { ConnectionDeclaration } from "../declaration/declaration";

export const REDACTED = "[REDACTED]";

// Any PEM-style block (OpenSSH, PKCS#1, PKCS#8, encrypted or not), even when
// its END line was cut off: a truncated key is still a leaked key.
const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

// Lines of a key shorter than this are too generic to scrub on their own
// (a base64 line of a key is 64–70 characters).
const MIN_FRAGMENT = 16;

/** Every secret value a connection carries (its proxy's too). */
export function connectionSecrets(conn: ConnectionDeclaration | undefined): string[] {
  if (!conn) return [];
  const out: string[] = [];
  for (const v of [conn.privateKey, conn.password, conn.privateKeyPassword]) {
    if (typeof v === "string" && v.length > 0) out.push(v);
  }
  return out.concat(connectionSecrets(conn.proxy as ConnectionDeclaration | undefined));
}

/**
 * Returns `text` with every known secret, every line of a multi-line secret
 * (so a key quoted line by line is still caught) and every PEM private-key
 * block replaced by [REDACTED].
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(PEM_BLOCK, REDACTED);
  const needles = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    needles.add(s);
    const trimmed = s.trim();
    if (trimmed) needles.add(trimmed);
    for (const line of s.split(/\r?\n/)) {
      const l = line.trim();
      if (l.length >= MIN_FRAGMENT) needles.add(l);
    }
  }
  // Longest first, so a whole secret is replaced before its fragments.
  for (const n of [...needles].sort((a, b) => b.length - a.length)) {
    out = out.split(n).join(REDACTED);
  }
  return out;
}
