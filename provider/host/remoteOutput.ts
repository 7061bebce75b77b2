// Parses what the remote programs print: marker lines "@@nftsg:<nonce>:<event>"
// (the nonce makes them unforgeable by anything else on stdout) and the
// listing between "listing-begin" and "listing-end".
import type { HostErrorKind } from "./errors";

export interface RemoteOutput {
  events: string[];
  /** `nft list table` text between the listing markers ("" if none), newline-terminated. */
  listing: string;
  /** Value of the last "key=value" event per key. */
  values: Record<string, string>;
  failKind?: HostErrorKind;
  notes: string[];
}

const KINDS: readonly HostErrorKind[] = ["unreachable", "auth", "hostkey", "preflight", "check", "apply", "lockout", "owner", "verify"];

export function markerPrefix(nonce: string): string {
  return `@@nftsg:${nonce}:`;
}

export function parseRemoteOutput(stdout: string, nonce: string): RemoteOutput {
  const prefix = markerPrefix(nonce);
  const out: RemoteOutput = { events: [], listing: "", values: {}, notes: [] };
  let inListing = false;
  const listing: string[] = [];
  const lines = stdout.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (const line of lines) {
    if (!line.startsWith(prefix)) {
      if (inListing) listing.push(line);
      continue;
    }
    const ev = line.slice(prefix.length);
    out.events.push(ev);
    if (ev === "listing-begin") inListing = true;
    else if (ev === "listing-end") inListing = false;
    else if (ev.startsWith("fail:")) {
      const k = ev.slice(5) as HostErrorKind;
      out.failKind = KINDS.includes(k) ? k : "apply";
    } else if (ev.startsWith("note:")) out.notes.push(ev.slice(5));
    else {
      const eq = ev.indexOf("=");
      if (eq > 0) out.values[ev.slice(0, eq)] = ev.slice(eq + 1);
    }
  }
  out.listing = listing.length ? listing.join("\n") + "\n" : "";
  return out;
}

/** Whether a complete marker line for `event` has arrived. */
export function hasEvent(stdout: string, nonce: string, event: string): boolean {
  return stdout.includes(`\n${markerPrefix(nonce)}${event}\n`) || stdout.startsWith(`${markerPrefix(nonce)}${event}\n`);
}
