// The lab of a test file:
//
//   const lab = useLab({ hosts: 2, hostNames: ["web-1", "db-1"] });
//   it("...", async () => { await lab.exec("db-1", "nft list ruleset"); });
//
// The lab itself (lab/) knows nothing of vitest: this is where the two meet.
// How tests log in to its hosts: labConnection.ts.
import { afterAll, beforeAll } from "vitest";
import { labUp, type Lab, type LabUpOptions } from "../../lab";

/**
 * Brings a lab up before the tests of the current file (or describe block)
 * and down after them, and returns it. The lab is there inside tests and in
 * hooks registered after this call; touching it earlier throws. Call it
 * before the file's own hooks: vitest runs afterAll hooks in reverse order,
 * so the file's own teardown still finds the hosts up. A file need not
 * destroy its stacks: the lab's teardown removes the hosts with everything
 * on them (namespaces, processes, rollback timers, run directories), and
 * the engine directories go with the file (afterFile.ts). If the teardown
 * throws, the lab is removed when the test process exits.
 */
export function useLab(opts: LabUpOptions): Lab {
  let current: Lab | undefined;
  beforeAll(async () => {
    current = await labUp(opts);
  });
  afterAll(async () => {
    await current?.down();
  });
  return new Proxy({} as Lab, {
    get(_target, prop) {
      // Not a thenable, and printable before it is up.
      if (prop === "then" || typeof prop === "symbol") return current === undefined ? undefined : Reflect.get(current, prop);
      if (current === undefined) throw new Error(`the lab is not up yet (lab.${prop}): use it inside a test or a hook registered after useLab`);
      const value: unknown = Reflect.get(current, prop);
      return typeof value === "function" ? value.bind(current) : value;
    },
  });
}
