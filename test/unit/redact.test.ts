// Secrets never leave the provider: every error message and log line is
// scrubbed of private keys, passwords and passphrases (docs/apply.md#errors).
import fc from "fast-check";
import { utils } from "ssh2";
import { describe, expect, it } from "vitest";
import { HostError } from "../../provider/host/errors";
import { connectionSecrets, redact, REDACTED } from "../../provider/host/redact";

const key = utils.generateKeyPairSync("ed25519").private;
const rsaPem = [
  "-----BEGIN RSA PRIVATE KEY-----",
  "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
  "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK",
  "-----END RSA PRIVATE KEY-----",
].join("\n");

describe("redact", () => {
  it("removes a whole OpenSSH private key and keeps the surrounding text", () => {
    const out = redact(`cannot use key ${key} for host 198.18.1.11`);
    expect(out).not.toContain("PRIVATE KEY");
    expect(out).toContain(REDACTED);
    expect(out).toContain("for host 198.18.1.11");
  });

  it("removes PEM blocks even when the END line was cut off", () => {
    const truncated = rsaPem.split("\n").slice(0, 2).join("\n");
    const out = redact(`error: ${truncated}`);
    expect(out).not.toContain("MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun");
    expect(out).not.toContain("BEGIN RSA");
  });

  it("removes known secret values and single lines of multi-line secrets", () => {
    const line = key.split("\n")[1];
    expect(line.length).toBeGreaterThan(16);
    const out = redact(`server echoed ${line} and password hunter2-very-secret`, [key, "hunter2-very-secret"]);
    expect(out).not.toContain(line);
    expect(out).not.toContain("hunter2-very-secret");
    expect(out).toBe(`server echoed ${REDACTED} and password ${REDACTED}`);
  });

  it("redacts every occurrence, longest secret first", () => {
    const out = redact("abcdefgh abcdefghijkl abcdefgh", ["abcdefgh", "abcdefghijkl"]);
    expect(out).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
  });

  it("ignores empty secrets", () => {
    expect(redact("nothing to hide", ["", undefined as unknown as string])).toBe("nothing to hide");
  });

  it("property: a secret embedded anywhere never survives", () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 4, maxLength: 80 }), fc.string(), (pre, secret, post) => {
        fc.pre(secret.trim().length > 0 && !REDACTED.includes(secret) && !secret.includes(REDACTED.slice(0, 3)));
        const out = redact(`${pre}${secret}${post}`, [secret]);
        expect(out.includes(secret)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe("connectionSecrets", () => {
  it("collects key, password and passphrase of the connection and its jump host", () => {
    const s = connectionSecrets({
      host: "198.18.1.11",
      privateKey: "K1",
      password: "P1",
      privateKeyPassword: "PP1",
      proxy: { host: "198.18.1.10", privateKey: "K2", password: "P2" },
    });
    expect(s.sort()).toEqual(["K1", "K2", "P1", "P2", "PP1"]);
  });
});

describe("HostError", () => {
  it("names the host and kind, and its message is redacted", () => {
    const e = new HostError("198.18.1.11", "auth", `bad key ${key} (pass s3cret-pass)`, {
      label: "db-1 (198.18.1.11)",
      secrets: connectionSecrets({ host: "198.18.1.11", privateKey: key, privateKeyPassword: "s3cret-pass" }),
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.host).toBe("198.18.1.11");
    expect(e.kind).toBe("auth");
    expect(e.message.startsWith("db-1 (198.18.1.11): ")).toBe(true);
    expect(e.message).not.toContain("PRIVATE KEY");
    expect(e.message).not.toContain("s3cret-pass");
    for (const l of key.split("\n").filter((x) => x.length > 16)) expect(e.message).not.toContain(l);
  });
});
