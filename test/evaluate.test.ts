// The product evaluator (provider/evaluate) against real packets:
// seeded random fleets (both families, egress-restricted hosts, self
// references, hosts declaring one family only, narrowed failsafes) are
// compiled, loaded into the lab hosts' nftables, and the whole connectivity
// matrix is probed. Every probe where the evaluator's verdict differs from
// what the packet did is printed.
import { describe, expect, it } from "vitest";
import { compileFleet } from "../provider/compiler/compile";
import type { FleetDeclaration } from "../provider/declaration/declaration";
import { buildPlan, connectivityMatrix, describeProbe, formatMatrix, servicesFor } from "./support/matrix";
import { generateFleet } from "./support/fleetGen";
import { productMatrix } from "./support/productMatrix";
import { MAIN_HOSTS, MAIN_SERVICES, applyCompiled, mainFleet, randomFleet } from "./support/semanticFleets";
import { useLab } from "./support/useLab";

const RANDOM_SEEDS = [3, 17, 36, 101];

const lab = useLab({ hosts: MAIN_HOSTS.length, hostNames: [...MAIN_HOSTS] });

async function expectPacketsAgree(decl: FleetDeclaration, services = servicesFor(decl, 5)): Promise<void> {
  await applyCompiled(lab, decl, compileFleet(decl));
  const plan = buildPlan(lab, { services });
  const m = await connectivityMatrix(lab, decl, plan);
  const product = productMatrix(decl, plan);
  const predicted = product.map((f) => f.coverage === "allow");
  // A fleet where everything passes (or nothing does) proves little.
  expect(predicted).toContain(true);
  expect(predicted).toContain(false);
  const diffs = plan.probes.flatMap((p, i) =>
    product[i]!.coverage === (m.actual[i] ? "allow" : "deny")
      ? []
      : [`${describeProbe(p)}: evaluator ${product[i]!.coverage}, packet ${m.actual[i] ? "accepted" : "dropped"}`],
  );
  expect(diffs, `${diffs.length} of ${plan.probes.length} probes disagree\n${diffs.join("\n")}\n\n${formatMatrix(plan, m.actual, predicted)}\n${JSON.stringify(decl)}`).toEqual([]);
}

describe("the product evaluator agrees with real packets", () => {
  it("hand-written fleet covering docs/semantics.md", async () => {
    await expectPacketsAgree(mainFleet(lab), MAIN_SERVICES);
  });

  it.each(RANDOM_SEEDS)("random fleet, seed %i", async (seed) => {
    await expectPacketsAgree(randomFleet(lab, seed));
  });

  it("fleetGen fleet", async () => {
    const decl = generateFleet({
      seed: 12,
      hosts: lab.hosts.length,
      groups: 5,
      rules: 14,
      cidrs: 24,
      cidrSpace: "lab",
      portPool: [22, 80, 443, 5000],
      egressShare: 0.3,
      hostName: (i) => lab.hosts[i]!.name,
      hostAddresses: (i) => [lab.hosts[i]!.ipv4, lab.hosts[i]!.ipv6],
    });
    await expectPacketsAgree(decl);
  });
});
