// SSH host keys in the known_hosts form users pin ("ssh-ed25519 AAAA...") and
// in the OpenSSH fingerprint form people compare by eye ("SHA256:...").
import { createHash } from "node:crypto";

/** The algorithms a client may negotiate to receive a key of each type. */
const ALGORITHMS_FOR_TYPE: Record<string, string[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
};

/** Key type named inside an SSH wire-format public key blob (a uint32-length-prefixed string). */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) throw new Error("host key blob too short");
  const len = blob.readUInt32BE(0);
  if (len > 64 || 4 + len > blob.length) throw new Error("malformed host key blob");
  return blob.subarray(4, 4 + len).toString("ascii");
}

/** "ssh-ed25519 AAAA..." from the raw blob ssh2's hostVerifier receives. */
export function formatHostKey(blob: Buffer): string {
  return `${blobType(blob)} ${blob.toString("base64")}`;
}

/** "SHA256:..." as printed by `ssh-keygen -lf` (base64 without padding). */
export function fingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

export type ParsedHostKey =
  | { form: "key"; type: string; blob: Buffer }
  | { form: "fingerprint"; fingerprint: string };

/**
 * Accepts "ssh-ed25519 AAAA... [comment]", a known_hosts line with a leading
 * host field ("198.18.1.11 ssh-ed25519 AAAA..."), or a "SHA256:..." fingerprint.
 */
export function parseHostKey(text: string): ParsedHostKey {
  const t = text.trim();
  // known_hosts markers: "@revoked" names a key that must NOT be trusted,
  // "@cert-authority" a CA, not this host's key: neither can pin a host.
  const marker = /(?:^|\s)(@[A-Za-z-]+)(?=\s|$)/.exec(t);
  if (marker) {
    throw new Error(`a known_hosts line with the marker ${marker[1]} is not a host key (it revokes a key or names a certificate authority); pin the host's own key`);
  }
  if (/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(t)) return { form: "fingerprint", fingerprint: t.replace(/=$/, "") };
  const fields = t.split(/\s+/);
  for (let i = 0; i + 1 < fields.length; i++) {
    const type = fields[i];
    if (!(type in ALGORITHMS_FOR_TYPE)) continue;
    const b64 = fields[i + 1];
    if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) break;
    const blob = Buffer.from(b64, "base64");
    let inner: string;
    try {
      inner = blobType(blob);
    } catch {
      break;
    }
    if (inner !== type) break;
    return { form: "key", type, blob };
  }
  throw new Error(`not an SSH host key: expected "ssh-ed25519 AAAA..." or "SHA256:..."`);
}

export function parsedFingerprint(k: ParsedHostKey): string {
  return k.form === "fingerprint" ? k.fingerprint : fingerprint(k.blob);
}

/** Whether the key the host presented is the expected one. */
export function hostKeyMatches(expected: ParsedHostKey, seen: Buffer): boolean {
  return expected.form === "fingerprint" ? expected.fingerprint === fingerprint(seen) : expected.blob.equals(seen);
}

/**
 * Host key algorithms to offer when a key is expected: a server with several
 * keys presents the one matching the first algorithm both sides support, so
 * offering only the expected type makes the comparison meaningful instead of
 * depending on negotiation order. Undefined = ssh2's defaults.
 */
export function hostKeyAlgorithms(expected: ParsedHostKey | undefined): string[] | undefined {
  return expected?.form === "key" ? ALGORITHMS_FOR_TYPE[expected.type] : undefined;
}

/**
 * For a pinned fingerprint (which does not say its key type): the host key
 * algorithms of every type not yet presented, so that a host with several
 * keys can be asked for its others in turn; undefined when none is left.
 */
export function otherKeyAlgorithms(presentedTypes: ReadonlySet<string>): string[] | undefined {
  const left = Object.entries(ALGORITHMS_FOR_TYPE).filter(([type]) => !presentedTypes.has(type)).flatMap(([, algs]) => algs);
  return left.length > 0 ? left : undefined;
}
