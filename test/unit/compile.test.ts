import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFleet, tableRemovalScript } from "../../provider/compiler/compile";
import type { FleetDeclaration, HostDeclaration, RuleDeclaration, SecurityGroupDeclaration } from "../../provider/declaration/declaration";
import { normaliseNftListing, tableDefinition } from "../../provider/nft/listing";
import { generateFleet, makeRng, shuffle, type Rng } from "../support/fleetGen";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

function fleet(groups: SecurityGroupDeclaration[], hosts: HostDeclaration[], extra: Partial<FleetDeclaration> = {}): FleetDeclaration {
  return { securityGroups: groups, hosts, ...extra };
}
const host = (name: string, ip: string, groups: string[], more: Partial<HostDeclaration> = {}): HostDeclaration => ({
  name,
  connection: { host: ip },
  securityGroups: groups,
  ...more,
});

/** Statements of one chain of a script, without the indentation. */
function chain(script: string, name: "ingress" | "egress"): string[] {
  const m = new RegExp(`\\tchain ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(script);
  if (!m) throw new Error(`no chain ${name}`);
  return m[1]!.split("\n").map((l) => l.trim());
}

/** Elements of a named set of a script. */
function setElements(script: string, name: string): string[] {
  const m = new RegExp(`\\tset ${name} \\{[\\s\\S]*?elements = \\{([^}]*)\\}`).exec(script);
  if (!m) return [];
  return m[1]!.split(",").map((e) => e.trim());
}

const webDb = (): FleetDeclaration =>
  fleet(
    [
      { name: "web", ingress: [{ protocol: "tcp", ports: [443, 80], cidrs: ["0.0.0.0/0", "::/0"], description: "https" }] },
      { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["web"], description: "postgres from web" }] },
    ],
    [
      host("web-1", "198.18.0.11", ["web"], { addresses: ["198.18.0.11", "2001:db8::11"] }),
      host("web-2", "198.18.0.12", ["web"]),
      host("db-1", "198.18.0.21", ["db"]),
      host("loose", "198.18.0.99", []),
    ],
  );

describe("per-host rulesets", () => {
  const out = compileFleet(webDb());

  it("has an entry for every host, keyed by name", () => {
    expect(Object.keys(out).sort()).toEqual(["db-1", "loose", "web-1", "web-2"]);
    for (const [name, r] of Object.entries(out)) {
      expect(r.host).toBe(name);
      expect(r.table).toBe("nftsg");
      expect(r.hash).toBe(sha256(r.script));
    }
  });

  it("a host attached to no group keeps no table: empty script and lines, no facts to check", () => {
    expect(out["loose"]).toEqual({ host: "loose", table: "nftsg", script: "", lines: [], hash: sha256(""), facts: { localInterfaces: [] } });
  });

  it("replaces the whole table in one transaction, and never touches anything else", () => {
    const s = out["db-1"]!.script;
    const commands = s.split("\n").filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("\t") && l !== "}");
    expect(commands).toEqual(["table inet nftsg {}", "delete table inet nftsg", "table inet nftsg {"]);
    expect(s).not.toMatch(/flush|flags owner|auto-merge|destroy/);
    expect(s.match(/^\s*flags .*$/gm)!.every((l) => l.trim() === "flags interval")).toBe(true);
    expect(tableDefinition(s).startsWith("table inet nftsg {\n")).toBe(true);
    expect(tableRemovalScript("nftsg")).toBe("table inet nftsg {}\ndelete table inet nftsg\n");
  });

  it("resolves a group peer to its members' addresses, per family", () => {
    const db = out["db-1"]!.script;
    expect(chain(db, "ingress")).toContain('ip saddr @sg_web_v4 tcp dport 5432 accept comment "db: postgres from web"');
    expect(chain(db, "ingress")).toContain('ip6 saddr @sg_web_v6 tcp dport 5432 accept comment "db: postgres from web"');
    expect(setElements(db, "sg_web_v4")).toEqual(["198.18.0.11-198.18.0.12"]);
    expect(setElements(db, "sg_web_v6")).toEqual(["2001:db8::11"]);
  });

  it("opens egress when no group has egress rules; ingress drops by default", () => {
    const web = out["web-1"]!.script;
    expect(chain(web, "egress")).toEqual(["type filter hook output priority filter; policy accept;"]);
    expect(chain(web, "ingress")[0]).toBe("type filter hook input priority filter; policy drop;");
    expect(out["web-1"]!.lines).toContain("egress all to any [default: no egress rules]");
  });

  it("puts stateful, loopback, essential ICMPv6, invalid, DHCP and failsafe before the group rules", () => {
    const rules = chain(out["web-1"]!.script, "ingress");
    expect(rules.slice(1, 10).map((r) => r.replace(/ comment .*$/, ""))).toEqual([
      // Default revokeEstablished: only replies pass unchecked.
      "ct state established ct direction reply accept",
      "ct state related accept",
      'iif "lo" accept',
      "icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report } accept",
      "ct state invalid drop",
      "meta nfproto ipv4 udp sport 67 udp dport 68 accept",
      "meta nfproto ipv6 udp sport 547 udp dport 546 accept",
      // Default containers.interfaces: the host's own container bridges are local (containers.ts).
      'iifname { "br-*", "cali*", "cni-podman*", "cni0", "docker0", "incusbr*", "lxcbr*", "lxdbr*", "podman*", "virbr*" } accept',
      "tcp dport 22 accept",
    ]);
  });

  it("applies a mixed-family rule in each family to that family's peers", () => {
    const rules = chain(out["web-1"]!.script, "ingress");
    expect(rules).toContain('ip saddr @any_v4 tcp dport @ports_80_443 accept comment "web: https"');
    expect(rules).toContain('ip6 saddr @any_v6 tcp dport @ports_80_443 accept comment "web: https"');
    expect(setElements(out["web-1"]!.script, "ports_80_443")).toEqual(["80", "443"]);
  });

  it("writes one readable line per permission, sorted", () => {
    const lines = out["db-1"]!.lines;
    expect(lines).toEqual([...lines].sort());
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines).toContain("ingress tcp/5432 from 198.18.0.11 (host web-1 in sg web) [db: postgres from web]");
    expect(lines).toContain("ingress tcp/5432 from 2001:db8::11 (host web-1 in sg web) [db: postgres from web]");
    expect(lines).toContain("ingress tcp/5432 from 198.18.0.12 (host web-2 in sg web) [db: postgres from web]");
    expect(lines).toContain("ingress tcp/22 from any [failsafe ssh]");
    expect(lines).toContain("table inet nftsg");
  });

  it("records the owner as the table comment", () => {
    const owned = compileFleet(webDb(), { owner: "acme/web/prod" })["db-1"]!;
    expect(tableDefinition(owned.script)).toMatch(/^table inet nftsg \{\n\tcomment "acme\/web\/prod"\n\tset /);
    expect(owned.lines).toContain("table inet nftsg [owner: acme/web/prod]");
    expect(out["db-1"]!.script).not.toContain("comment \"acme");
  });

  it("is deterministic", () => {
    expect(compileFleet(webDb())).toEqual(out);
  });
});

describe("semantics", () => {
  it("self reference includes the host itself; mutual references resolve both ways", () => {
    const out = compileFleet(
      fleet(
        [
          { name: "a", ingress: [{ protocol: "udp", ports: 5000, securityGroups: ["a", "b"] }] },
          { name: "b", ingress: [{ protocol: "tcp", ports: 9000, securityGroups: ["a"] }] },
        ],
        [host("a-1", "10.0.0.1", ["a"]), host("a-2", "10.0.0.2", ["a"]), host("b-1", "10.0.0.9", ["b"])],
      ),
    );
    const a1 = out["a-1"]!.script;
    expect(chain(a1, "ingress").some((r) => r.startsWith("ip saddr @peers_v4_") && r.includes("udp dport 5000"))).toBe(true);
    const setName = /ip saddr @(peers_v4_\w+) udp dport 5000/.exec(a1)![1]!;
    expect(setElements(a1, setName)).toEqual(["10.0.0.1-10.0.0.2", "10.0.0.9"]);
    expect(setElements(out["b-1"]!.script, "sg_a_v4")).toEqual(["10.0.0.1-10.0.0.2"]);
  });

  it("an empty peer group is valid and matches nothing", () => {
    const out = compileFleet(
      fleet(
        [
          { name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["web"] }] },
          { name: "web" },
        ],
        [host("db-1", "10.0.0.1", ["db"])],
      ),
    );
    const r = out["db-1"]!;
    expect(r.script).not.toContain("5432");
    expect(r.lines).toContain("ingress tcp/5432 from sg web (no members: matches nothing) [db]");
  });

  it("any egress rule closes egress, even one that matches nothing", () => {
    const out = compileFleet(
      fleet(
        [
          { name: "locked", egress: [{ protocol: "tcp", ports: 443, securityGroups: ["nobody"] }] },
          { name: "open", ingress: [{ protocol: "tcp", ports: 80, cidrs: ["0.0.0.0/0"] }] },
          { name: "nobody" },
        ],
        [host("h", "10.0.0.1", ["locked", "open"])],
      ),
    );
    const egress = chain(out["h"]!.script, "egress");
    expect(egress[0]).toBe("type filter hook output priority filter; policy drop;");
    expect(egress.map((r) => r.replace(/ comment .*$/, ""))).toEqual([
      "type filter hook output priority filter; policy drop;",
      "ct state established ct direction reply accept",
      "ct state related accept",
      'oif "lo" accept',
      "icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report } accept",
      "ct state invalid drop",
      "meta nfproto ipv4 udp sport 68 udp dport 67 accept",
      "meta nfproto ipv6 udp sport 546 udp dport 547 accept",
      'oifname { "br-*", "cali*", "cni-podman*", "cni0", "docker0", "incusbr*", "lxcbr*", "lxdbr*", "podman*", "virbr*" } accept',
      // The failsafe's server side: survives a session conntrack picked up mid-stream.
      "tcp sport 22 tcp flags ! syn accept",
    ]);
  });

  it("revokeEstablished: false keeps every established connection (AWS-style)", () => {
    const decl = fleet(
      [{ name: "locked", ingress: [{ protocol: "tcp", ports: 80, cidrs: ["0.0.0.0/0"] }], egress: [{ protocol: "tcp", ports: 443, cidrs: ["0.0.0.0/0"] }] }],
      [host("h", "10.0.0.1", ["locked"])],
    );
    const keep = compileFleet({ ...decl, revokeEstablished: false })["h"]!;
    const revoke = compileFleet(decl)["h"]!;
    for (const dir of ["ingress", "egress"] as const) {
      expect(chain(keep.script, dir)[1]).toBe('ct state established,related accept comment "stateful: replies and related traffic"');
      expect(chain(revoke.script, dir)[1]).toBe('ct state established ct direction reply accept comment "stateful: replies"');
    }
    expect(keep.lines).toContain("ingress accept established,related [stateful]");
    expect(revoke.lines).toContain("ingress established connections re-checked against the rules [revokeEstablished]");
  });

  it("egress rules check the destination", () => {
    const out = compileFleet(
      fleet([{ name: "e", egress: [{ protocol: "udp", ports: 53, cidrs: ["198.18.0.53"] }] }], [host("h", "10.0.0.1", ["e"])]),
    );
    expect(chain(out["h"]!.script, "egress")).toContain('ip daddr @peers_v4_' + /peers_v4_(\w+)/.exec(out["h"]!.script)![1] + ' udp dport 53 accept comment "e: udp/53 to 198.18.0.53"');
  });

  it("icmp applies to IPv4 peers only, icmpv6 to IPv6 peers only", () => {
    const out = compileFleet(
      fleet(
        [
          {
            name: "g",
            // Mixed-family CIDRs are rejected by validation; a peer group
            // with members of both families is where the compiler filters.
            ingress: [
              { protocol: "icmp", icmpType: 8, securityGroups: ["g"] },
              { protocol: "icmpv6", icmpType: 128, icmpCode: 0, securityGroups: ["g"] },
            ],
          },
        ],
        [host("h", "10.0.0.1", ["g"]), host("h6", "2001:db8::6", ["g"])],
      ),
    );
    const rules = chain(out["h"]!.script, "ingress").filter((r) => r.includes("icmp"));
    expect(rules.filter((r) => r.startsWith("ip saddr"))).toEqual([expect.stringContaining("icmp type echo-request accept")]);
    expect(rules.filter((r) => r.startsWith("ip6 saddr"))).toEqual([expect.stringContaining("icmpv6 type echo-request icmpv6 code no-route accept")]);
    expect(out["h"]!.lines.filter((l) => l.includes("icmp/"))).toEqual(["ingress icmp/type 8 from 10.0.0.1 (host h in sg g) [g]"]);
  });

  it("every protocol compiles to its own match", () => {
    const protocols = ["tcp", "udp", "sctp", "all", "esp", "ah", "gre"] as const;
    const out = compileFleet(
      fleet([{ name: "g", ingress: protocols.map((protocol) => ({ protocol, cidrs: ["10.0.0.0/8"] })) }], [host("h", "10.0.0.1", ["g"])]),
    );
    const rules = chain(out["h"]!.script, "ingress").filter((r) => r.startsWith("ip saddr @peers"));
    expect(rules.map((r) => r.replace(/^ip saddr @\S+ /, "").replace(/ comment .*$/, "")).sort()).toEqual(
      ["accept", "meta l4proto ah accept", "meta l4proto esp accept", "meta l4proto gre accept", "meta l4proto sctp accept", "meta l4proto tcp accept", "meta l4proto udp accept"].sort(),
    );
  });

  it("failsafe: port per host, narrowed to CIDRs, or disabled", () => {
    const groups: SecurityGroupDeclaration[] = [{ name: "g", ingress: [{ protocol: "tcp", ports: 80, cidrs: ["0.0.0.0/0"] }] }];
    const hosts = [host("h", "10.0.0.1", ["g"], { connection: { host: "10.0.0.1", port: 2222 } })];
    expect(chain(compileFleet(fleet(groups, hosts))["h"]!.script, "ingress")).toContain('tcp dport 2222 accept comment "failsafe ssh"');

    const narrowed = compileFleet(fleet(groups, hosts, { failsafe: { cidrs: ["192.0.2.0/24", "2001:db8::/32", "192.0.2.0/25"] } }))["h"]!;
    expect(chain(narrowed.script, "ingress")).toContain('ip saddr @failsafe_v4 tcp dport 2222 accept comment "failsafe ssh"');
    expect(chain(narrowed.script, "ingress")).toContain('ip6 saddr @failsafe_v6 tcp dport 2222 accept comment "failsafe ssh"');
    expect(setElements(narrowed.script, "failsafe_v4")).toEqual(["192.0.2.0/24"]);
    expect(narrowed.script).not.toMatch(/^\t\ttcp dport 2222/m);

    const off = compileFleet(fleet(groups, hosts, { failsafe: { ssh: false } }))["h"]!;
    expect(off.script).not.toContain("2222");
    expect(off.lines).toContain("ingress failsafe ssh disabled [failsafe]");
  });

  it("host addresses default to connection.host only when it is an IP literal", () => {
    const out = compileFleet(
      fleet(
        [{ name: "db", ingress: [{ protocol: "tcp", ports: 5432, securityGroups: ["web"] }] }, { name: "web" }],
        [
          host("db-1", "10.0.0.1", ["db"]),
          host("web-1", "2001:db8::1", ["web"]),
          host("web-2", "web-2.example", ["web"], { addresses: ["10.0.0.2"] }),
          host("web-3", "10.0.0.3", ["web"], { addresses: ["10.0.0.30"] }),
        ],
      ),
    );
    const s = out["db-1"]!.script;
    expect(setElements(s, "sg_web_v4")).toEqual(["10.0.0.2", "10.0.0.30"]);
    expect(setElements(s, "sg_web_v6")).toEqual(["2001:db8::1"]);
  });

  it("normalises CIDRs and ports: equivalent spellings compile to the same script", () => {
    const mk = (cidrs: string[], ports: RuleDeclaration["ports"]) =>
      compileFleet(fleet([{ name: "g", ingress: [{ protocol: "tcp", ports, cidrs }] }], [host("h", "10.0.0.1", ["g"])]))["h"]!.script;
    const a = mk(["10.0.0.0/8", "10.1.0.0/16", "11.0.0.0/9", "11.128.0.0/9"], [80, "81-90", 85, 443]);
    const b = mk(["11.0.0.0/8", "10.0.0.0/8"], ["80-90", 443]);
    expect(a).toBe(b);
    expect(setElements(a, /@(peers_v4_\w+)/.exec(a)![1]!)).toEqual(["10.0.0.0/7"]);
    expect(setElements(a, "ports_80-90_443")).toEqual(["80-90", "443"]);
  });

  it("the number of rules per chain does not grow with CIDRs, ports or members", () => {
    const rng = makeRng(3);
    const many = Array.from({ length: 5000 }, () => `10.${Math.floor(rng() * 256)}.${Math.floor(rng() * 256)}.0/24`);
    const ports = Array.from({ length: 500 }, (_, i) => 1000 + i * 3);
    const members = Array.from({ length: 300 }, (_, i) => host(`m-${i}`, `10.200.${Math.floor(i / 250)}.${(i % 250) + 1}`, ["peer"]));
    const small = compileFleet(
      fleet([{ name: "g", ingress: [{ protocol: "tcp", ports: 22, cidrs: ["10.0.0.0/24"], securityGroups: ["peer"] }] }, { name: "peer" }], [host("h", "10.0.0.1", ["g"]), members[0]!]),
    )["h"]!;
    const big = compileFleet(fleet([{ name: "g", ingress: [{ protocol: "tcp", ports, cidrs: many, securityGroups: ["peer"] }] }, { name: "peer" }], [host("h", "10.0.0.1", ["g"]), ...members]))["h"]!;
    expect(chain(big.script, "ingress").length).toBe(chain(small.script, "ingress").length);
    expect(big.script.length).toBeGreaterThan(small.script.length * 10);
  });

  it("set and chain names are safe nft identifiers", () => {
    const out = compileFleet(generateFleet({ seed: 11, hosts: 20, groups: 8, rules: 60, cidrs: 200 }));
    for (const r of Object.values(out)) {
      for (const m of r.script.matchAll(/^\t(?:set|chain) (\S+) \{$/gm)) expect(m[1]).toMatch(/^[a-z][a-z0-9_-]{0,63}$/);
      for (const m of r.script.matchAll(/@(\S+)/g)) expect(r.script).toContain(`\tset ${m[1]} {`);
    }
  });

  it("comments stay within nft's 128 bytes and never break quoting", () => {
    const out = compileFleet(
      fleet([{ name: "g", ingress: [{ protocol: "tcp", ports: 1, cidrs: ["0.0.0.0/0"], description: `say "hi" ${"é".repeat(200)}` }] }], [host("h", "10.0.0.1", ["g"])]),
    );
    const comments = [...out["h"]!.script.matchAll(/comment "([^"\n]*)"/g)].map((m) => m[1]!);
    expect(comments.length).toBeGreaterThan(5);
    for (const c of comments) expect(Buffer.byteLength(c)).toBeLessThanOrEqual(128);
    expect(comments.some((c) => c.startsWith("g: say 'hi' éé") && c.endsWith("..."))).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// Properties

/** The same fleet, declared in a different order everywhere order could matter. */
function permute(decl: FleetDeclaration, rng: Rng): FleetDeclaration {
  const permuteRule = (r: RuleDeclaration): RuleDeclaration => ({
    ...r,
    ...(Array.isArray(r.ports) ? { ports: shuffle(rng, r.ports) } : {}),
    ...(r.cidrs ? { cidrs: shuffle(rng, r.cidrs) } : {}),
    ...(r.securityGroups ? { securityGroups: shuffle(rng, r.securityGroups) } : {}),
  });
  return {
    ...decl,
    securityGroups: shuffle(
      rng,
      decl.securityGroups.map((g) => ({
        ...g,
        ...(g.ingress ? { ingress: shuffle(rng, g.ingress.map(permuteRule)) } : {}),
        ...(g.egress ? { egress: shuffle(rng, g.egress.map(permuteRule)) } : {}),
      })),
    ),
    hosts: shuffle(
      rng,
      decl.hosts.map((h) => ({ ...h, securityGroups: shuffle(rng, h.securityGroups), ...(h.addresses ? { addresses: shuffle(rng, h.addresses) } : {}) })),
    ),
  };
}

const fleetArb = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  hosts: fc.integer({ min: 1, max: 12 }),
  groups: fc.integer({ min: 1, max: 6 }),
  rules: fc.integer({ min: 0, max: 30 }),
  cidrs: fc.integer({ min: 0, max: 80 }),
});

describe("properties", () => {
  it("permutation invariance: any declaration order gives byte-identical scripts and lines", () => {
    fc.assert(
      fc.property(fleetArb, fc.integer(), (opts, seed) => {
        const decl = generateFleet({ ...opts, detachedShare: 0.1 });
        expect(compileFleet(permute(decl, makeRng(seed)))).toEqual(compileFleet(decl));
      }),
      { numRuns: 60 },
    );
  });

  it("unrelated-change invariance: changes elsewhere in the fleet leave a host's script alone", () => {
    fc.assert(
      fc.property(fleetArb, fc.integer({ min: 0, max: 1000 }), fc.integer(), (opts, pick, seed) => {
        const decl = generateFleet(opts);
        const rng = makeRng(seed);
        const target = decl.hosts[pick % decl.hosts.length]!;
        const own = new Set(target.securityGroups);
        const relevant = new Set(own);
        for (const g of decl.securityGroups) {
          if (!own.has(g.name)) continue;
          for (const r of [...(g.ingress ?? []), ...(g.egress ?? [])]) for (const s of r.securityGroups ?? []) relevant.add(s);
        }
        const before = compileFleet(decl)[target.name];

        // Change everything that cannot matter to the target.
        const changed: FleetDeclaration = {
          ...decl,
          securityGroups: [
            ...decl.securityGroups.map((g) =>
              own.has(g.name) ? g : { ...g, ingress: [...(g.ingress ?? []), { protocol: "udp" as const, ports: 9, cidrs: ["192.0.2.0/24"] }] },
            ),
            { name: "brand-new", ingress: [{ protocol: "tcp", ports: 1, securityGroups: ["brand-new", ...[...relevant].slice(0, 1)] }] },
          ],
          hosts: [
            ...decl.hosts.map((h, i) =>
              h.name === target.name || h.securityGroups.some((s) => relevant.has(s))
                ? h
                : { ...h, addresses: [`2001:db8:ffff:${Math.floor(rng() * 0xffff).toString(16)}::${(i + 1).toString(16)}`], connection: { ...h.connection, port: 2200 } },
            ),
            { name: "newcomer", connection: { host: "203.0.113.254" }, securityGroups: ["brand-new", ...decl.securityGroups.filter((g) => !relevant.has(g.name)).map((g) => g.name).slice(0, 2)] },
          ],
        };
        expect(compileFleet(changed)[target.name]).toEqual(before);
      }),
      { numRuns: 60 },
    );
  });

  it("a host compiled from the slice the SDK sends (own groups, peer members' addresses) equals the full compile", () => {
    fc.assert(
      fc.property(fleetArb, fc.integer({ min: 0, max: 1000 }), (opts, pick) => {
        const decl = generateFleet({ ...opts, failsafe: { cidrs: ["198.18.0.0/15"] } });
        const target = decl.hosts[pick % decl.hosts.length]!;
        const own = decl.securityGroups.filter((g) => target.securityGroups.includes(g.name));
        const peerNames = new Set(own.flatMap((g) => [...(g.ingress ?? []), ...(g.egress ?? [])].flatMap((r) => r.securityGroups ?? [])));
        const names = new Set([...own.map((g) => g.name), ...peerNames]);
        const slice: FleetDeclaration = {
          failsafe: decl.failsafe!,
          securityGroups: [...own, ...decl.securityGroups.filter((g) => peerNames.has(g.name) && !own.includes(g)).map((g) => ({ name: g.name }))],
          hosts: decl.hosts
            .filter((h) => h === target || h.securityGroups.some((s) => peerNames.has(s)))
            .map((h) => ({
              name: h.name,
              connection: { host: h.connection.host, ...(h.connection.port ? { port: h.connection.port } : {}) },
              ...(h.addresses ? { addresses: h.addresses } : {}),
              securityGroups: h.securityGroups.filter((s) => names.has(s)),
            })),
        };
        expect(compileFleet(slice, { owner: "o/p/s" })[target.name]).toEqual(compileFleet(decl, { owner: "o/p/s" })[target.name]);
      }),
      { numRuns: 60 },
    );
  });

  it("every script's table definition normalises to itself (the read-back contract)", () => {
    const out = compileFleet(generateFleet({ seed: 4, hosts: 10, groups: 5, rules: 40, cidrs: 300 }), { owner: "x" });
    for (const r of Object.values(out)) {
      if (!r.script) continue;
      const def = tableDefinition(r.script);
      expect(normaliseNftListing(r.script)).toBe(normaliseNftListing(def));
      expect(normaliseNftListing(def)).not.toBe("");
    }
  });
});

describe("line style 'groups': state that grows with the host's rules, not its peers", () => {
  const decl = webDb();
  const grouped = compileFleet(decl, { lineStyle: "groups", owners: { "db-1": "o/p/s/host=db-1" } });
  const perAddress = compileFleet(decl, { owners: { "db-1": "o/p/s/host=db-1" } });

  it("one line per rule in group terms and one peer line per peer group", () => {
    const lines = grouped["db-1"]!.lines;
    expect(lines).toContain("ingress tcp/5432 from sg web [db: postgres from web]");
    const peer = lines.filter((l) => l.startsWith("peer "));
    expect(peer).toEqual([expect.stringMatching(/^peer sg web: 2 members, 3 addresses, sha256:[0-9a-f]{16}$/)]);
    expect(lines.some((l) => l.includes("198.18.0.11"))).toBe(false);
    expect(lines).toContain("table inet nftsg [owner: o/p/s/host=db-1]");
  });

  it("the script is the same in both styles", () => {
    for (const h of Object.keys(perAddress)) expect(grouped[h]!.script).toBe(perAddress[h]!.script);
  });

  it.each([
    ["a new member", (d: FleetDeclaration) => d.hosts.push(host("web-3", "198.18.0.13", ["web"]))],
    ["a member's new address", (d: FleetDeclaration) => { d.hosts[1]!.addresses = ["198.18.0.12", "2001:db8::12"]; }],
    ["a member renamed", (d: FleetDeclaration) => { d.hosts[1]!.name = "web-9"; }],
  ])("%s changes the peer line of every host that allows the group", (_what, change) => {
    const changed = webDb();
    change(changed);
    const after = compileFleet(changed, { lineStyle: "groups" });
    const peerLine = (r: { lines: string[] }) => r.lines.find((l) => l.startsWith("peer sg web"));
    expect(peerLine(after["db-1"]!)).toBeDefined();
    expect(peerLine(after["db-1"]!)).not.toBe(peerLine(compileFleet(webDb(), { lineStyle: "groups" })["db-1"]!));
  });

  it("per-host owners go into each host's table comment and are validated", () => {
    const out = compileFleet(decl, { owners: { "web-1": "a/b/c/host=web-1", "web-2": "a/b/c/host=web-2" } });
    expect(out["web-1"]!.script).toContain('comment "a/b/c/host=web-1"');
    expect(out["web-2"]!.script).toContain('comment "a/b/c/host=web-2"');
    expect(out["web-1"]!.script.replace("web-1", "web-2")).toBe(out["web-2"]!.script);
    expect(() => compileFleet(decl, { owners: { "web-1": "bad owner!" } })).toThrow(/options\.owners\.web-1/);
  });

  it("'only' compiles just the hosts asked for", () => {
    expect(Object.keys(compileFleet(decl, { only: ["db-1"] }))).toEqual(["db-1"]);
  });
});
