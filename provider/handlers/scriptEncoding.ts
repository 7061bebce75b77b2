// How an Attachment carries its script in state: brotli, base64. A fleet's
// scripts repeat the same peer sets on many hosts (52 MB for 1,000 hosts in
// an all-to-all group); Pulumi keeps every resource's inputs in state and the
// file backend rewrites the whole file on every step, so state size turns
// into update time. Measured on those scripts (docs/benchmarks.md): gzip
// level 6 gives 8.6 MB in 1.2 s, brotli quality 5 4.0 MB in 1.8 s. Diffs
// compare the script's hash, never these bytes, so another zlib or brotli
// version, compressing differently, cannot show a change.
import { brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";

/** Version of the Attachment's input format: 2 = `scriptBrotli` + rules in group terms (1, implicit: `script` + rules per address). */
export const ATTACHMENT_FORMAT = 2;

const QUALITY = 5;

export function encodeScript(script: string): string {
  if (script === "") return "";
  const params = { [constants.BROTLI_PARAM_QUALITY]: QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(script) };
  return brotliCompressSync(script, { params }).toString("base64");
}

export function decodeScript(encoded: string): string {
  return encoded === "" ? "" : brotliDecompressSync(Buffer.from(encoded, "base64")).toString("utf8");
}
