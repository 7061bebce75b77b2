// Where a dynamic provider's warnings go (provider/handlers/engineLog.ts):
// only a dynamic-provider process started with an engine address talks to
// the engine. The end-to-end proof that `pulumi up` prints them is
// test/e2e/coexistence.test.ts.
import { describe, expect, it } from "vitest";
import { engineAddress } from "../../provider/handlers/engineLog";

const PROVIDER = "/x/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js";

describe("engineAddress", () => {
  it.each<[string, string[], string | undefined]>([
    ["a dynamic provider started by the engine", ["node", PROVIDER, "127.0.0.1:40123"], "127.0.0.1:40123"],
    ["an IPv6 engine address", ["node", PROVIDER, "[::1]:40123"], "[::1]:40123"],
    ["localhost", ["node", PROVIDER, "localhost:40123"], "localhost:40123"],
    ["a provider without an address", ["node", PROVIDER], undefined],
    ["a non-loopback-looking argument", ["node", PROVIDER, "--flag"], undefined],
    ["a host name that is not local", ["node", PROVIDER, "example.com:443"], undefined],
    ["the Pulumi program or a test runner", ["node", "/x/vitest.mjs", "127.0.0.1:1"], undefined],
  ])("%s", (_name, argv, want) => {
    expect(engineAddress(argv)).toBe(want);
  });
});
