// A package-lock.json for a user's project (an example copied to a temporary
// directory), cut out of this repository's lockfile: the same packages at the
// same places, so `npm ci --offline` installs them from the npm cache that
// `npm ci` filled here, without asking the registry. Pure: no I/O.

export interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  license?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

export interface LockFile {
  name?: string;
  version?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

export interface ProjectManifest {
  name: string;
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/**
 * Flags npm derives from the repository's tree (dev-only, peer-only) that do
 * not hold in the project's; "optional" stays, so a failing optional build
 * is skipped as it is here.
 */
const TREE_FLAGS = ["dev", "devOptional", "peer"] as const;

/**
 * Where Node.js (and npm) find `name` required from the package at `from`
 * ("" for the project): its own node_modules, then each enclosing one.
 */
export function locate(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const i = base.lastIndexOf("/node_modules/");
    base = i < 0 ? "" : base.slice(0, i);
  }
}

/** What a package needs installed: dependencies, optional ones, and peers not marked optional. */
function requirements(entry: LockEntry): { name: string; optional: boolean }[] {
  const peers = Object.keys(entry.peerDependencies ?? {}).map((name) => ({
    name, optional: entry.peerDependenciesMeta?.[name]?.optional === true,
  }));
  return [
    ...Object.keys(entry.dependencies ?? {}).map((name) => ({ name, optional: false })),
    ...Object.keys(entry.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
    ...peers,
  ];
}

/**
 * The lockfile of `project`, whose dependencies are found in `source` (this
 * repository's lockfile) or in `extra` (packages not in it, such as the packed
 * tarball of this package, keyed by their node_modules path).
 * Throws naming every required package that cannot be found.
 */
export function projectLock(source: LockFile, project: ProjectManifest, extra: Record<string, LockEntry> = {}): LockFile {
  const all: Record<string, LockEntry> = { ...source.packages, ...extra };
  const root: LockEntry = { dependencies: { ...project.dependencies, ...project.devDependencies } };
  const picked = new Map<string, LockEntry>();
  const missing: string[] = [];
  const queue: [string, LockEntry][] = [["", root]];
  while (queue.length > 0) {
    const [at, entry] = queue.shift()!;
    for (const req of requirements(entry)) {
      const loc = locate(all, at, req.name);
      if (!loc) {
        if (!req.optional) missing.push(`${req.name} (needed by ${at || project.name})`);
        continue;
      }
      if (picked.has(loc)) continue;
      picked.set(loc, all[loc]);
      queue.push([loc, all[loc]]);
    }
  }
  if (missing.length > 0) throw new Error(`not in the lockfile: ${missing.join(", ")}`);
  const packages: Record<string, LockEntry> = {
    "": {
      name: project.name,
      version: project.version ?? "0.0.0",
      ...(project.dependencies ? { dependencies: project.dependencies } : {}),
      ...(project.devDependencies ? { devDependencies: project.devDependencies } : {}),
    },
  };
  for (const loc of [...picked.keys()].sort()) {
    const entry = { ...picked.get(loc)! };
    for (const flag of TREE_FLAGS) delete entry[flag];
    packages[loc] = entry;
  }
  return { name: project.name, version: project.version ?? "0.0.0", lockfileVersion: 3, requires: true, packages };
}
