// The provider implementation, loaded inside the dynamic providers' methods
// (see sdk/providers.ts). Heavy modules load lazily from here. Each handler
// set is checked against Pulumi's dynamic ResourceProvider contract (a type
// import only: nothing of the SDK's runtime is loaded here).
import type * as pulumi from "@pulumi/pulumi";
import { attachmentHandlers } from "./handlers/attachment";
import { modelHandlers } from "./handlers/model";
import { recordHandlers, stackIdentityHandlers } from "./handlers/records";

export const attachment = attachmentHandlers() satisfies pulumi.dynamic.ResourceProvider;
export const securityGroup = recordHandlers() satisfies pulumi.dynamic.ResourceProvider;
export const rule = recordHandlers() satisfies pulumi.dynamic.ResourceProvider;
export const model = modelHandlers() satisfies pulumi.dynamic.ResourceProvider;
export const stackIdentity = stackIdentityHandlers() satisfies pulumi.dynamic.ResourceProvider;
// Records of address lists and remote groups (docs/multistack.md): no host I/O.
export const addressList = recordHandlers() satisfies pulumi.dynamic.ResourceProvider;
export const remoteGroup = recordHandlers() satisfies pulumi.dynamic.ResourceProvider;
