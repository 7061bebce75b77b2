// Port specs ("22", 22, "8000-8100") and their canonical form: sorted,
// overlapping and adjacent ranges merged, printed as nft prints inet_service
// interval elements (`22`, `8000-8100`).

export interface PortRange {
  lo: number;
  hi: number;
}

export type PortParse = { ok: true; range: PortRange } | { ok: false; message: string };

const PORT_TEXT = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/;

function checkPort(n: number, spec: string): string | undefined {
  if (!Number.isInteger(n)) return `port ${spec} is not an integer`;
  if (n < 1 || n > 65535) return `port ${n} is outside 1-65535`;
  return undefined;
}

/** One port or range as declared: 22, "22" or "8000-8100". */
export function parsePortSpec(spec: unknown): PortParse {
  if (typeof spec === "number") {
    const err = checkPort(spec, String(spec));
    return err ? { ok: false, message: err } : { ok: true, range: { lo: spec, hi: spec } };
  }
  if (typeof spec !== "string") {
    return { ok: false, message: `expected a port number or a "from-to" string, got ${typeof spec}` };
  }
  const m = PORT_TEXT.exec(spec);
  if (!m) {
    return {
      ok: false,
      message: `${JSON.stringify(spec)} is not a port or port range; write 22, "22" or "8000-8100"`,
    };
  }
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  const errLo = checkPort(lo, m[1]!);
  if (errLo) return { ok: false, message: `${errLo} (in ${JSON.stringify(spec)})` };
  const errHi = checkPort(hi, m[2] ?? m[1]!);
  if (errHi) return { ok: false, message: `${errHi} (in ${JSON.stringify(spec)})` };
  if (hi < lo) {
    return { ok: false, message: `port range ${spec} is reversed; write "${hi}-${lo}"` };
  }
  return { ok: true, range: { lo, hi } };
}

/** Sorted, disjoint, non-adjacent. */
export function mergePortRanges(input: readonly PortRange[]): PortRange[] {
  if (input.length === 0) return [];
  const sorted = [...input].sort((a, b) => a.lo - b.lo || a.hi - b.hi);
  const out: PortRange[] = [];
  let cur = { ...sorted[0]! };
  for (let i = 1; i < sorted.length; i++) {
    const next = sorted[i]!;
    if (next.lo <= cur.hi + 1) {
      if (next.hi > cur.hi) cur.hi = next.hi;
    } else {
      out.push(cur);
      cur = { ...next };
    }
  }
  out.push(cur);
  return out;
}

export function formatPortRange(r: PortRange): string {
  return r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`;
}

export function portsContain(list: readonly PortRange[], port: number): boolean {
  return list.some((r) => port >= r.lo && port <= r.hi);
}
