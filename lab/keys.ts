// Ed25519 keys in OpenSSH format, made in-process: one lab needs up to 51 key
// pairs and spawning ssh-keygen for each would dominate `up`. The format is
// PROTOCOL.key from OpenSSH (unencrypted "openssh-key-v1").
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";

export interface SshKeyPair {
  /** "-----BEGIN OPENSSH PRIVATE KEY-----..." */
  privateKey: string;
  /** "ssh-ed25519 AAAA..." (no comment), as in authorized_keys/known_hosts. */
  publicKey: string;
  /** "SHA256:..." as printed by ssh-keygen -l. */
  fingerprint: string;
}

const KEY_TYPE = "ssh-ed25519";

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** SSH wire "string": length-prefixed bytes. */
function sshString(data: Buffer | string): Buffer {
  const b = typeof data === "string" ? Buffer.from(data) : data;
  return Buffer.concat([u32(b.length), b]);
}

function wrap(b64: string, width: number): string {
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return lines.join("\n");
}

export function generateEd25519(comment: string): SshKeyPair {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  if (!jwk.d || !jwk.x) throw new Error("ed25519 JWK export lacks key material");
  const seed = Buffer.from(jwk.d, "base64url");
  const pub = Buffer.from(jwk.x, "base64url");

  const pubBlob = Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  // Pad with 1, 2, 3, ... to the cipher block size (8 for "none").
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);

  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    u32(1),
    sshString(pubBlob),
    sshString(priv),
  ]);
  return {
    privateKey:
      "-----BEGIN OPENSSH PRIVATE KEY-----\n" + wrap(body.toString("base64"), 70) + "\n-----END OPENSSH PRIVATE KEY-----\n",
    publicKey: `${KEY_TYPE} ${pubBlob.toString("base64")}`,
    fingerprint: "SHA256:" + createHash("sha256").update(pubBlob).digest("base64").replace(/=+$/, ""),
  };
}
