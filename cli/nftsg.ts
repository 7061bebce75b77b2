#!/usr/bin/env node
// `nftsg`: questions about a fleet declaration answered without running
// Pulumi or touching a host — explain, lint, test — the flow-level summary
// of a `pulumi preview --json` for a pull-request comment, and the report of
// what observed hosts recorded (`pulumi stack export`).
import * as fs from "node:fs";
import { USAGE, UsageError, parseArgs } from "./args";
import { explainCommand, lintCommand, testCommand, type Outcome } from "./commands";
import { loadDeclaration } from "./load";
import { flowsFromDeclarations, flowsFromPreview } from "./flowsCommand";
import { observeReport } from "./observeCommand";

function run(argv: readonly string[]): Outcome {
  const req = parseArgs(argv);
  switch (req.command) {
    case "help":
      return { out: USAGE, code: 0 };
    case "explain":
      return explainCommand(loadDeclaration(req.source), req.query);
    case "lint":
      return lintCommand(loadDeclaration(req.source));
    case "test":
      return testCommand(loadDeclaration(req.source));
    case "flows":
      return req.preview !== undefined
        ? flowsFromPreview(JSON.parse(fs.readFileSync(req.preview === "-" ? 0 : req.preview, "utf8")))
        : flowsFromDeclarations(loadDeclaration(req.old!), loadDeclaration(req.new!));
    case "observe":
      return observeReport(JSON.parse(fs.readFileSync(req.source === "-" ? 0 : req.source, "utf8")), { ...(req.fleet ? { fleet: req.fleet } : {}), ...(req.top ? { top: req.top } : {}) });
  }
}

function main(): void {
  let outcome: Outcome;
  try {
    outcome = run(process.argv.slice(2));
  } catch (e) {
    const usage = e instanceof UsageError;
    outcome = { out: `nftsg: ${(e as Error).message}${usage ? `\n\n${USAGE}` : ""}`, code: 2 };
  }
  (outcome.code === 2 ? process.stderr : process.stdout).write(`${outcome.out}\n`);
  process.exitCode = outcome.code;
}

main();
