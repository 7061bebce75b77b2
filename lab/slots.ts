// Subnet slots: each running lab holds /run/nftsg-lab/nftsg-slot-<k> (created
// with O_EXCL, so two processes cannot claim the same k). A slot whose lab
// directory is gone is stale (its owner died) and may be reclaimed; a subnet
// still configured on some root-namespace interface is never reused.
import { openSync, closeSync, writeSync, readFileSync, readdirSync, existsSync, rmSync, mkdirSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { LAB_ROOT, MAX_SLOT, MIN_SLOT, labDir } from "./constants";

const slotPath = (k: number): string => `${LAB_ROOT}/nftsg-slot-${k}`;

function subnetsInUse(): Set<number> {
  const used = new Set<number>();
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      const m = /^198\.18\.(\d+)\./.exec(a.address) ?? /^2001:db8:(\d+):/i.exec(a.address);
      if (m?.[1]) used.add(Number(m[1]));
    }
  }
  return used;
}

function isStale(k: number): boolean {
  try {
    const owner = readFileSync(slotPath(k), "utf8").trim();
    return owner === "" || !existsSync(labDir(owner));
  } catch {
    return false; // vanished meanwhile: let the claim attempt decide
  }
}

/** Claims a free subnet slot for lab `id`; the caller must have created labDir(id) already. */
export function claimSlot(id: string): number {
  mkdirSync(LAB_ROOT, { recursive: true });
  const inUse = subnetsInUse();
  for (let k = MIN_SLOT; k <= MAX_SLOT; k++) {
    if (inUse.has(k)) continue;
    if (existsSync(slotPath(k))) {
      if (!isStale(k)) continue;
      rmSync(slotPath(k), { force: true });
    }
    try {
      const fd = openSync(slotPath(k), "wx");
      writeSync(fd, id);
      closeSync(fd);
      return k;
    } catch {
      continue; // another lab won the race for k
    }
  }
  throw new Error(`no free lab subnet slot in ${MIN_SLOT}..${MAX_SLOT}`);
}

export function releaseSlot(k: number, id: string): void {
  try {
    if (readFileSync(slotPath(k), "utf8").trim() === id) rmSync(slotPath(k), { force: true });
  } catch {
    // already gone
  }
}

/** Slot files, for the leftover sweep. */
export function listSlotFiles(): string[] {
  try {
    return readdirSync(LAB_ROOT)
      .filter((f) => /^nftsg-slot-\d+$/.test(f))
      .map((f) => `${LAB_ROOT}/${f}`);
  } catch {
    return [];
  }
}
