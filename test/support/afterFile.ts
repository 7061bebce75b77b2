// Runs in every test file before its own code (vitest setupFiles): its
// afterAll is registered first, so it runs after the file's own afterAll
// hooks.
import * as fs from "node:fs";
import { afterAll, beforeAll, expect } from "vitest";
import { removeCreatedEngineDirs } from "./engine";

afterAll(removeCreatedEngineDirs);

// NFTSG_FILE_CPU_LOG=<file>: append, per test file, the CPU its process and
// the children it waited for used (the CLI runs, the engines and their
// providers, npm, tsc), with its wall time: which files the suite's CPU goes
// to. Each file runs in its own process (pool "forks"), so the counters are
// the file's own. The lab's sshd and the commands it runs for the hosts are
// not the file's children and are not counted.
const cpuLog = process.env.NFTSG_FILE_CPU_LOG;
if (cpuLog) {
  const CLK_TCK = 100;
  const childrenSeconds = (): number => {
    const rest = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
    return (Number(rest[13]) + Number(rest[14])) / CLK_TCK; // cutime, cstime (fields 16, 17)
  };
  let started = 0;
  let children0 = 0;
  let self0 = process.cpuUsage();
  beforeAll(() => {
    started = performance.now();
    children0 = childrenSeconds();
    self0 = process.cpuUsage();
  });
  afterAll(() => {
    const self = process.cpuUsage(self0);
    const file = expect.getState().testPath ?? "?";
    fs.appendFileSync(cpuLog, `${JSON.stringify({ file, wallS: (performance.now() - started) / 1000, selfS: (self.user + self.system) / 1e6, childrenS: childrenSeconds() - children0 })}\n`);
  });
}
