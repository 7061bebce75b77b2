// Reading what an observed table counted and recorded (docs/observe.md) from
// `nft list table` text: the named counters' values and the elements of the
// dynamic flow sets, with their counters and how long until they expire.
// Pure text in, data out.

export interface CounterValue {
  packets: number;
  bytes: number;
}

export interface FlowElement {
  /** The peer address as nft prints it. */
  address: string;
  /** Protocol as nft prints it: "tcp", "udp", "icmp", "ipv6-icmp", ... or a number. */
  protocol: string;
  /** The destination port; for ICMP the type and code (type * 256 + code). */
  port: number;
  packets?: number;
  bytes?: number;
  /** Milliseconds until the element expires, as listed. */
  expiresMs?: number;
}

export interface FlowSet {
  name: string;
  size?: number;
  /** The set's timeout, in milliseconds. */
  timeoutMs?: number;
  elements: FlowElement[];
}

export interface TableObservations {
  counters: Record<string, CounterValue>;
  /** Dynamic sets only (`flags dynamic`), by name. */
  sets: Record<string, FlowSet>;
}

const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** nft's duration text ("6d23h59m50s720ms", "7d", "59m59s812ms") in milliseconds; undefined if it is not one. */
export function parseNftDuration(text: string): number | undefined {
  if (text === "" || !/^(\d+(d|h|ms|m|s))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+)(ms|d|h|m|s)/g)) total += Number(m[1]) * UNITS[m[2]!]!;
  return total;
}

const ELEMENT =
  /^(\S+) \. (\S+) \. (\d+)(?: counter packets (\d+) bytes (\d+))?(?: timeout (\S+))?(?: expires (\S+))?$/;

function parseElement(text: string): FlowElement | undefined {
  const m = ELEMENT.exec(text.trim().replace(/\s+/g, " "));
  if (!m) return undefined;
  const expires = m[7] === undefined ? undefined : parseNftDuration(m[7]);
  return {
    address: m[1]!,
    protocol: m[2]!,
    port: Number(m[3]),
    ...(m[4] !== undefined ? { packets: Number(m[4]), bytes: Number(m[5]) } : {}),
    ...(expires !== undefined ? { expiresMs: expires } : {}),
  };
}

/** The named counters and dynamic sets of a listing (`nft list table`), whatever else it holds. */
export function parseObservations(listing: string): TableObservations {
  const counters: Record<string, CounterValue> = {};
  for (const m of listing.matchAll(/^\s*counter ([A-Za-z0-9_-]+) \{\s*\n\s*packets (\d+) bytes (\d+)/gm)) {
    counters[m[1]!] = { packets: Number(m[2]), bytes: Number(m[3]) };
  }
  const sets: Record<string, FlowSet> = {};
  const lines = listing.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const head = /^\s*set ([A-Za-z0-9_-]+) \{\s*$/.exec(lines[i]!);
    if (!head) continue;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*\}\s*$/.test(lines[i]!); i++) body.push(lines[i]!.trim());
    const text = body.join("\n");
    if (!/^flags .*\bdynamic\b/m.test(text)) continue;
    const set: FlowSet = { name: head[1]!, elements: [] };
    const size = /^size (\d+)$/m.exec(text);
    if (size) set.size = Number(size[1]);
    const timeout = /^timeout (\S+)$/m.exec(text);
    if (timeout) set.timeoutMs = parseNftDuration(timeout[1]!);
    const elements = /elements = \{([\s\S]*)\}/.exec(text);
    if (elements) {
      for (const e of elements[1]!.split(",")) {
        const parsed = parseElement(e);
        if (parsed) set.elements.push(parsed);
      }
    }
    sets[set.name] = set;
  }
  return { counters, sets };
}
