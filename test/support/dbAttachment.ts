// One compiled Attachment for handler unit tests: host db-1 of a fleet whose
// group "db" allows tcp/5432 from 198.18.0.0/16, with its owner recorded.
import { compileFleet } from "../../provider/compiler/compile";
import type { AttachmentProps } from "../../provider/handlers/attachment";
import { ATTACHMENT_FORMAT, encodeScript } from "../../provider/handlers/scriptEncoding";
import { requireDist } from "./dist";

const { VALID } = requireDist<typeof import("../../provider/handlers/verdict")>("provider/handlers/verdict.js");

export const DB_OWNER = "o/p/s/host=db-1";
export const DB_ADDRESS = "198.18.0.21";

/** db-1's compiled ruleset and the Attachment props a valid declaration gives it. */
export function dbAttachment(): { compiled: ReturnType<typeof compileFleet>[string]; props: AttachmentProps } {
  const compiled = compileFleet(
    {
      securityGroups: [{ name: "db", ingress: [{ protocol: "tcp", ports: 5432, cidrs: ["198.18.0.0/16"] }] }],
      hosts: [{ name: "db-1", connection: { host: DB_ADDRESS }, securityGroups: ["db"] }],
    },
    { owners: { "db-1": DB_OWNER }, lineStyle: "groups" },
  )["db-1"]!;
  return {
    compiled,
    props: {
      fleet: "lab", hostName: "db-1", address: DB_ADDRESS, port: 22, connection: { host: DB_ADDRESS, user: "root" },
      table: "nftsg", owner: DB_OWNER, takeover: false, rollbackSeconds: 30,
      format: ATTACHMENT_FORMAT, rules: compiled.lines.join("\n"), scriptBrotli: encodeScript(compiled.script), hash: compiled.hash, verdict: VALID,
    },
  };
}
