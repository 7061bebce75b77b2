// The web-db example with sample addresses, as a plain declaration: what the
// `nftsg` command reads without running Pulumi (no key is needed to evaluate).
//   npx nftsg explain dist/examples/web-db/sample.js --from web-1 --to db-1 --port 5432/tcp
//   npx nftsg lint dist/examples/web-db/sample.js
import { type WebDbHost, webDbFleet } from "./program";

export const SAMPLE_HOSTS: WebDbHost[] = [
  { name: "bastion", address: "198.18.1.10", role: "bastion" },
  { name: "web-1", address: "198.18.1.11", address6: "2001:db8:1::11", role: "web" },
  { name: "web-2", address: "198.18.1.12", address6: "2001:db8:1::12", role: "web" },
  { name: "db-1", address: "198.18.1.21", address6: "2001:db8:1::21", role: "db" },
  { name: "db-2", address: "198.18.1.22", address6: "2001:db8:1::22", role: "db" },
  { name: "spare", address: "198.18.1.30", role: "spare" },
];

export const MANAGEMENT = ["198.51.100.0/24", "2001:db8:ffff::/48"];

/** The sample fleet; `extraWeb` adds spare hosts to the web tier. */
export function sampleDeclaration(extraWeb: string[] = []) {
  return webDbFleet({ hosts: SAMPLE_HOSTS, privateKey: "(not needed to evaluate)", extraWeb, managementCidrs: MANAGEMENT });
}

export const declaration = sampleDeclaration();
