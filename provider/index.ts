// The provider implementation, loaded inside the dynamic providers' methods
// (see sdk/providers.ts). Heavy modules load lazily from here.
import { attachmentHandlers } from "./handlers/attachment";
import { modelHandlers } from "./handlers/model";
import { recordHandlers } from "./handlers/records";

export const attachment = attachmentHandlers();
export const securityGroup = recordHandlers();
export const rule = recordHandlers();
export const model = modelHandlers();
