// Revocation that really revokes: replacing a table leaves established
// connections alive (conntrack). With revokeEstablished (the default) a live
// connection that the new ruleset no longer allows stops at once; with
// revokeEstablished: false it continues, as in AWS.
import { beforeAll, describe, expect, it } from "vitest";
import { LiveConnection } from "./support/liveConnection";
import { useLab } from "./support/useLab";
import { compileFleet } from "../provider/compiler/compile";
import type { FleetDeclaration } from "../provider/declaration/declaration";

const PORT = 7000;

const lab = useLab({ hosts: 2 });

function fleet(allow: "app" | "other" | "none", revokeEstablished: boolean): FleetDeclaration {
  const from = [`${lab.host("h1").ipv4}/32`];
  return {
    revokeEstablished,
    securityGroups: [
      { name: "app", ingress: allow === "app" ? [{ protocol: "tcp", ports: PORT, cidrs: from, description: "app port from h1" }] : [] },
      { name: "other", ingress: allow === "other" ? [{ protocol: "tcp", ports: [PORT, 7001], cidrs: from, description: "same port, another group" }] : [] },
    ],
    hosts: [{ name: "h2", connection: { host: lab.host("h2").ipv4 }, securityGroups: ["app", "other"] }],
  };
}

async function apply(decl: FleetDeclaration): Promise<void> {
  const r = await lab.exec("h2", "nft -f -", { input: compileFleet(decl)["h2"]!.script });
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  await lab.listen("h2", "tcp", [PORT]);
});

describe("revocation of established connections", () => {
  it.each([
    [true, "timeout"],
    [false, "ok"],
  ])("revokeEstablished=%s: after the rule is removed, the live connection gets %s", async (revoke, expected) => {
    await apply(fleet("app", revoke));
    const conn = await LiveConnection.open(lab, "h1", lab.host("h2").ipv4, PORT);
    try {
      expect(await conn.roundTrip()).toBe("ok");
      await apply(fleet("none", revoke));
      expect(await conn.roundTrip()).toBe(expected);
      // New connections are refused in both modes.
      expect(await lab.probe("h1", lab.host("h2").ipv4, { proto: "tcp", port: PORT })).toBe(false);
    } finally {
      conn.close();
    }
  });

  it("revokeEstablished keeps a connection that the new ruleset still allows (through another group)", async () => {
    await apply(fleet("app", true));
    const conn = await LiveConnection.open(lab, "h1", lab.host("h2").ipv4, PORT);
    try {
      expect(await conn.roundTrip()).toBe("ok");
      await apply(fleet("other", true));
      expect(await conn.roundTrip()).toBe("ok");
      expect(await conn.roundTrip()).toBe("ok");
    } finally {
      conn.close();
    }
  });
});
