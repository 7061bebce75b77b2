// Small helpers for the sorted, duplicate-free string lists the compiler
// builds (set names, readable lines). Order is Array.prototype.sort's:
// UTF-16 code units, the same as the < operator on strings.

/** Unique, first occurrence kept. */
export function dedupe(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** Sorts `items` in place and returns a copy without duplicates. */
export function sortedUnique(items: string[]): string[] {
  items.sort();
  return items.filter((x, i) => i === 0 || items[i - 1] !== x);
}

/** Merge sorted, duplicate-free arrays into one new array (same order as Array.prototype.sort). */
export function mergeSorted(lists: readonly (readonly string[])[]): string[] {
  const out: string[] = [];
  const pos = lists.map(() => 0);
  for (;;) {
    let best = -1;
    let bestValue = "";
    for (let k = 0; k < lists.length; k++) {
      const list = lists[k]!;
      if (pos[k]! >= list.length) continue;
      const v = list[pos[k]!]!;
      if (best === -1 || v < bestValue) {
        best = k;
        bestValue = v;
      }
    }
    if (best === -1) return out;
    out.push(bestValue);
    // Skip the same value in every list.
    for (let k = 0; k < lists.length; k++) if (pos[k]! < lists[k]!.length && lists[k]![pos[k]!] === bestValue) pos[k] = pos[k]! + 1;
  }
}
