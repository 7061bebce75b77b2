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

  it("ignores what observe's kernel state changes by itself: named counter values, dynamic set elements (docs/observe.md)", () => {
    const fresh = [
      "table inet t {",
      "\tcounter r_web_in_0123456789 {\n\t\tpackets 0 bytes 0\n\t}",
      "\tset drops_in_v4 {\n\t\ttypeof ip saddr . meta l4proto . th dport\n\t\tsize 4096\n\t\tflags dynamic,timeout\n\t\tcounter\n\t\ttimeout 7d\n\t}",
      "\tset peers {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/8 }\n\t}",
      "\tchain c {\n\t\ttcp dport 22 counter name \"r_web_in_0123456789\" accept\n\t}",
      "}",
      "",
    ].join("\n");
    const busy = fresh
      .replace("packets 0 bytes 0", "packets 17 bytes 1020")
      .replace(
        "\t\ttimeout 7d\n",
        "\t\ttimeout 7d\n\t\telements = { 198.18.0.6 . tcp . 5432 counter packets 3 bytes 180 expires 6d23h59m50s720ms,\n\t\t\t     2001:db8::5 . udp . 53 counter packets 1 bytes 80 expires 59m59s812ms }\n",
      );
    expect(busy).not.toBe(fresh);
    expect(norm(busy)).toBe(norm(fresh));
    // Still strict: the elements of a set that is not dynamic, the set's size, the counter's name.
    expect(norm(fresh.replace("10.0.0.0/8", "10.0.0.0/9"))).not.toBe(norm(fresh));
    expect(norm(fresh.replace("size 4096", "size 1024"))).not.toBe(norm(fresh));
    expect(norm(fresh.replace('counter name \"r_web', 'counter name \"r_db'))).not.toBe(norm(fresh));
    expect(norm(fresh.replace("counter r_web_in_0123456789 {", "counter r_db_in_0123456789 {"))).not.toBe(norm(fresh));
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
