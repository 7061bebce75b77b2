// The securityGroup dynamic provider, as the whole module.exports of this file, so that
// an installed package serialises it as a module reference (sdk/providers.ts).
import { makeProvider } from "../providers";

export = makeProvider("securityGroup");
