// Interval-list arithmetic for the evaluator: which part of a peer's address
// range a set of rules covers. Lists are merged (sorted, disjoint, never
// adjacent), as cidr.ts's mergeIntervals returns them.
import { type Interval, mergeIntervals } from "./cidr";

/** a ∩ b, both merged; the result is merged. */
export function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const lo = x.lo > y.lo ? x.lo : y.lo;
    const hi = x.hi < y.hi ? x.hi : y.hi;
    if (lo <= hi) out.push({ lo, hi });
    if (x.hi < y.hi) i++;
    else j++;
  }
  return out;
}

/** a \ b, both merged; the result is merged (untouched intervals of a are reused). */
export function subtract(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  if (b.length === 0) return a as Interval[];
  const out: Interval[] = [];
  let j = 0;
  for (const x of a) {
    while (j < b.length && b[j]!.hi < x.lo) j++;
    if (j >= b.length || b[j]!.lo > x.hi) {
      out.push(x);
      continue;
    }
    let lo = x.lo;
    let k = j;
    while (k < b.length && b[k]!.lo <= x.hi) {
      const y = b[k]!;
      if (y.lo > lo) out.push({ lo, hi: y.lo - 1n });
      lo = y.hi + 1n;
      if (y.hi >= x.hi) break;
      k++;
    }
    if (lo <= x.hi) out.push({ lo, hi: x.hi });
  }
  return out;
}

/** Is every address of `inner` in `outer` (both merged)? */
export function covers(outer: readonly Interval[], inner: readonly Interval[]): boolean {
  let j = 0;
  for (const x of inner) {
    while (j < outer.length && outer[j]!.hi < x.lo) j++;
    if (j >= outer.length || outer[j]!.lo > x.lo || outer[j]!.hi < x.hi) return false;
  }
  return true;
}

/** Union of any intervals (sorted here). */
export const union = (lists: readonly (readonly Interval[])[]): Interval[] => mergeIntervals(lists.flat());

/** Union of two merged lists, in one pass; the result is merged. */
function merge2(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  if (a.length === 0) return b as Interval[];
  if (b.length === 0) return a as Interval[];
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  let cur: Interval | undefined;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]!.lo <= b[j]!.lo) ? a[i++]! : b[j++]!;
    if (cur && next.lo <= cur.hi + 1n) {
      if (next.hi > cur.hi) cur = { lo: cur.lo, hi: next.hi };
    } else {
      if (cur) out.push(cur);
      cur = next;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** Union of merged lists (hot paths: no sort); the result is merged, and may be one of the inputs. */
export function unionMerged(lists: readonly (readonly Interval[])[]): Interval[] {
  let acc: Interval[] = [];
  for (const l of lists) acc = merge2(acc, l);
  return acc;
}

export const sameIntervals = (a: readonly Interval[], b: readonly Interval[]): boolean =>
  a === b || (a.length === b.length && a.every((x, i) => x === b[i] || (x.lo === b[i]!.lo && x.hi === b[i]!.hi)));
