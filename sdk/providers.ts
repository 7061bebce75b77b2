// Thin dynamic providers. Pulumi serialises a dynamic provider into state as a
// closure, so these objects capture nothing but a module path: the
// implementation (ssh2, zod, the compiler) is loaded inside each method. That
// keeps serialisation safe and lets `refresh`/`destroy` run the installed
// code rather than a snapshot.
//
// Each provider object is the whole `module.exports` of its own file in
// sdk/dynamic/ (exported by the package as `pulumi-nftsg/dynamic/<kind>`).
// Pulumi's closure serialisation captures an object that is the export of a
// module inside node_modules as `require("<package path>")`, so an installed
// package's `__provider` (in the inputs and the outputs of every resource, in
// every checkpoint) is about 250 bytes instead of 2.3 KB of closure source.
// Loaded from anywhere else (tests that load dist/ by path), the object is
// serialised by value, as before. Those module paths are part of the state
// format: a future version must keep `pulumi-nftsg/dynamic/<kind>` loadable.
import type * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";

/** Absolute path of the implementation, the fallback when the package cannot be resolved by name. */
const implementationPath: string = path.join(__dirname, "..", "provider", "index.js");

type Handlers = typeof import("../provider/index");
export type ProviderKind = "attachment" | "securityGroup" | "rule" | "model" | "stackIdentity" | "addressList" | "remoteGroup";

export function makeProvider(kind: ProviderKind, implPath: string = implementationPath): pulumi.dynamic.ResourceProvider {
  // Resolved at call time in the provider process; by name first (the user's
  // installed package), else from where this SDK was loaded.
  const load = (): Handlers => {
    try {
      return require("pulumi-nftsg/provider");
    } catch {
      return require(implPath);
    }
  };
  return {
    check: (olds, news) => load()[kind].check(olds, news),
    diff: (id, olds, news) => load()[kind].diff(id, olds, news),
    create: (inputs) => load()[kind].create(inputs),
    read: (id, props) => load()[kind].read(id, props),
    update: (id, olds, news) => load()[kind].update(id, olds, news),
    delete: (id, props) => load()[kind].delete(id, props),
  };
}
