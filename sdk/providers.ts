// Thin dynamic providers. Pulumi serialises a dynamic provider into state as a
// closure, so these objects capture nothing but a module path: the
// implementation (ssh2, zod, the compiler) is loaded inside each method. That
// keeps serialisation safe and lets `refresh`/`destroy` run the installed
// code rather than a snapshot.
import type * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";

/** Absolute path of the implementation, the fallback when the package cannot be resolved by name. */
const implementationPath: string = path.join(__dirname, "..", "provider", "index.js");

type Handlers = typeof import("../provider/index");
type Kind = "attachment" | "securityGroup" | "rule" | "model" | "stackIdentity" | "addressList" | "remoteGroup";

function makeProvider(kind: Kind, implPath: string): pulumi.dynamic.ResourceProvider {
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

export const attachmentProvider = makeProvider("attachment", implementationPath);
export const securityGroupProvider = makeProvider("securityGroup", implementationPath);
export const ruleProvider = makeProvider("rule", implementationPath);
export const modelProvider = makeProvider("model", implementationPath);
export const stackIdentityProvider = makeProvider("stackIdentity", implementationPath);
export const addressListProvider = makeProvider("addressList", implementationPath);
export const remoteGroupProvider = makeProvider("remoteGroup", implementationPath);
