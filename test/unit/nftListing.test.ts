import { describe, expect, it } from "vitest";
import { compileFleet } from "../../provider/compiler/compile";
import { describeDifference, expectedListing, normaliseNftListing, tableDefinition, tableOwner } from "../../provider/nft/listing";

const LISTING = `table inet nftsg {
	comment "acme/web/prod"
	set sg_web_v4 {
		type ipv4_addr
		flags interval
		elements = { 10.0.0.1, 10.0.0.2,
			     10.0.0.3, 10.0.1.0/24 }
	}

	set ports_80_443 {
		type inet_service
		flags interval
		elements = { 80, 443 }
	}

	chain ingress {
		type filter hook input priority filter; policy drop;
		ct state established,related accept comment "stateful: replies and related traffic"
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
		ip saddr @sg_web_v4 tcp dport @ports_80_443 accept comment "web: a {weird}, #comment; text"
		ip saddr @sg_web_v4 meta l4proto tcp accept
	}

	chain egress {
		type filter hook output priority filter; policy accept;
	}
}
`;

const norm = normaliseNftListing;

describe("normaliseNftListing: tolerant of layout", () => {
  it("is stable and non-empty", () => {
    expect(norm(LISTING)).not.toBe("");
    expect(norm(norm(LISTING))).toBe(norm(LISTING));
  });

  it("ignores line wrapping of set elements", () => {
    const oneLine = LISTING.replace("10.0.0.2,\n\t\t\t     10.0.0.3", "10.0.0.2, 10.0.0.3");
    expect(oneLine).not.toBe(LISTING);
    expect(norm(oneLine)).toBe(norm(LISTING));
  });

  it("ignores element order, in named and anonymous sets", () => {
    const reordered = LISTING.replace("10.0.0.1, 10.0.0.2,\n\t\t\t     10.0.0.3, 10.0.1.0/24", "10.0.1.0/24, 10.0.0.3, 10.0.0.2, 10.0.0.1").replace(
      "nd-neighbor-solicit, nd-neighbor-advert",
      "nd-neighbor-advert, nd-neighbor-solicit",
    );
    expect(norm(reordered)).toBe(norm(LISTING));
  });

  it("ignores handles, indentation, blank lines and ; vs newline", () => {
    const withHandles = LISTING.replace("table inet nftsg {", "table inet nftsg { # handle 7")
      .replace("set sg_web_v4 {", "set sg_web_v4 { # handle 3")
      .replace("accept comment \"stateful: replies and related traffic\"", "accept comment \"stateful: replies and related traffic\" # handle 12");
    expect(norm(withHandles)).toBe(norm(LISTING));
    const squashed = LISTING.replace(/^\t+/gm, "  ").replace(/\n\n/g, "\n").replace(
      "set ports_80_443 {\n  type inet_service\n  flags interval\n  elements = { 80, 443 }\n  }",
      "set ports_80_443 { type inet_service; flags interval; elements = { 80, 443 }; }",
    );
    expect(squashed).toContain("set ports_80_443 { type");
    expect(norm(squashed)).toBe(norm(LISTING));
  });

  it("ignores the order of sets and chains in a table", () => {
    const sets = /\tset sg_web_v4 \{[\s\S]*?\n\t\}\n\n/.exec(LISTING)![0];
    const moved = LISTING.replace(sets, "").replace("\tchain egress {", `${sets}\tchain egress {`);
    expect(moved).not.toBe(LISTING);
    expect(norm(moved)).toBe(norm(LISTING));
  });

  it("treats symbolic and numeric protocols, ICMP types and codes alike", () => {
    const numeric = LISTING.replace("meta l4proto tcp", "meta l4proto 6").replace("nd-neighbor-solicit, nd-neighbor-advert", "135, 136");
    expect(norm(numeric)).toBe(norm(LISTING));
    expect(norm("table inet t {\n\tchain c {\n\t\ticmpv6 type mld-listener-reduction icmpv6 code 4 accept\n\t}\n}\n")).toBe(
      norm("table inet t {\n\tchain c {\n\t\ticmpv6 type mld-listener-done icmpv6 code port-unreachable accept\n\t}\n}\n"),
    );
  });

  it("ignores counter values", () => {
    const a = "table inet t {\n\tchain c {\n\t\ttcp dport 22 counter packets 10 bytes 600 accept\n\t}\n}\n";
    const b = "table inet t {\n\tchain c {\n\t\ttcp dport 22 counter packets 0 bytes 0 accept\n\t}\n}\n";
    expect(norm(a)).toBe(norm(b));
  });

  it("handles a script prelude (table {} + delete table) like nft does", () => {
    const script = `table inet nftsg {}\ndelete table inet nftsg\n${LISTING}`;
    expect(norm(script)).toBe(norm(LISTING));
    expect(norm("table inet nftsg {}\ndelete table inet nftsg\n")).toBe("");
    expect(norm("")).toBe("");
  });
});

describe("normaliseNftListing: strict about meaning", () => {
  const differs = (a: string) => expect(norm(a)).not.toBe(norm(LISTING));

  it("sees a changed, missing or extra element", () => {
    differs(LISTING.replace("10.0.0.3", "10.0.0.4"));
    differs(LISTING.replace("10.0.0.3, ", ""));
    differs(LISTING.replace("{ 80, 443 }", "{ 80, 443, 8080 }"));
  });

  it("sees reordered rules within a chain", () => {
    const a = "\t\tip saddr @sg_web_v4 tcp dport @ports_80_443 accept comment \"web: a {weird}, #comment; text\"\n";
    const b = "\t\tip saddr @sg_web_v4 meta l4proto tcp accept\n";
    differs(LISTING.replace(a + b, b + a));
  });

  it("sees a changed policy, comment, owner or table", () => {
    differs(LISTING.replace("policy drop", "policy accept"));
    differs(LISTING.replace("#comment; text", "#comment text"));
    differs(LISTING.replace("acme/web/prod", "acme/web/dev"));
    differs(LISTING.replace("table inet nftsg", "table inet other"));
    differs(LISTING.replace("\t\tct state established,related accept comment \"stateful: replies and related traffic\"\n", ""));
  });

  it("keeps quoted text verbatim, braces and all", () => {
    expect(norm(LISTING)).toContain('comment "web: a {weird}, #comment; text"');
  });
});

describe("helpers", () => {
  const compiled = compileFleet(
    {
      securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", ports: 80, cidrs: ["0.0.0.0/0"] }] }],
      hosts: [
        { name: "w", connection: { host: "10.0.0.1" }, securityGroups: ["web"] },
        { name: "idle", connection: { host: "10.0.0.2" }, securityGroups: [] },
      ],
    },
    { owner: "org/proj/stack" },
  );

  it("tableDefinition strips the header comments and the prelude", () => {
    const def = tableDefinition(compiled["w"]!.script);
    expect(def.startsWith("table inet nftsg {\n\tcomment \"org/proj/stack\"\n")).toBe(true);
    expect(def.endsWith("\n}\n")).toBe(true);
    expect(def).not.toContain("delete table");
    expect(tableDefinition("")).toBe("");
    expect(expectedListing(compiled["w"]!)).toBe(norm(def));
    expect(expectedListing(compiled["idle"]!)).toBe("");
  });

  it("tableOwner reads the table comment", () => {
    expect(tableOwner(LISTING)).toBe("acme/web/prod");
    expect(tableOwner(tableDefinition(compiled["w"]!.script))).toBe("org/proj/stack");
    expect(tableOwner("table inet nftsg {\n\tchain c {\n\t\taccept comment \"x\"\n\t}\n}\n")).toBeUndefined();
  });

  it("describeDifference names what is missing and what is extra", () => {
    const a = norm(LISTING);
    const b = norm(LISTING.replace("10.0.0.3", "10.0.0.4").replace("policy drop", "policy accept"));
    const d = describeDifference(a, b);
    expect(d).toContain("- policy drop");
    expect(d).toContain("+ policy accept");
    expect(d).toMatch(/- elements = \{ .*10\.0\.0\.3/);
    expect(describeDifference(a, a)).toBe("(no difference)");
    expect(describeDifference(a, "")).toContain("- table inet nftsg {");
  });
});
