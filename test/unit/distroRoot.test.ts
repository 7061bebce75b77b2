// The pure parts of the distro hosts' root: which mirror apt's sources name,
// and the cache key.
import { describe, expect, it } from "vitest";
import { distroRootHash, mirrorFromSources } from "../../lab/distroRoot";

describe("mirrorFromSources", () => {
  it.each([
    ["deb822", "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n", "http://deb.debian.org/debian"],
    ["deb822, security first", "URIs: http://deb.debian.org/debian-security\n\nURIs: https://mirror.example/debian/\n", "https://mirror.example/debian"],
    ["one-line", "deb http://ftp.de.debian.org/debian bookworm main\n", "http://ftp.de.debian.org/debian"],
    ["one-line with options", "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n", "http://m.example/debian"],
    ["commented out", "# deb http://old.example/debian bookworm main\n", undefined],
    ["not Debian's archive", "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\nURIs: https://deb.nodesource.com/node_20.x\n", undefined],
  ])("%s", (_name, text, expected) => {
    expect(mirrorFromSources(text)).toBe(expected);
  });
});

describe("distroRootHash", () => {
  it("is a stable 12-hex-digit key", () => {
    expect(distroRootHash()).toMatch(/^[0-9a-f]{12}$/);
    expect(distroRootHash()).toBe(distroRootHash());
  });
});
