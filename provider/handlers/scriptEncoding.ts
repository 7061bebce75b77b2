// How an Attachment carries its script in state: gzip, base64. A fleet's
// scripts repeat the same peer sets on many hosts (56 MB for 1,000 hosts in
// an all-to-all group); Pulumi keeps every resource's inputs in state and the
// file backend rewrites the whole file on every step, so state size turns
// into update time. Node's gzip output is deterministic for one zlib version;
// diffs compare the script's hash, never these bytes, so a different zlib
// cannot show a change. Level 6: the same size as 9 on these scripts, a third of the time.
import { gunzipSync, gzipSync } from "node:zlib";

/** Version of the Attachment's input format: 2 = `scriptGz` + rules in group terms (1, implicit: `script` + rules per address). */
export const ATTACHMENT_FORMAT = 2;

export function encodeScript(script: string): string {
  return script === "" ? "" : gzipSync(script, { level: 6 }).toString("base64");
}

export function decodeScript(encoded: string): string {
  return encoded === "" ? "" : gunzipSync(Buffer.from(encoded, "base64")).toString("utf8");
}
