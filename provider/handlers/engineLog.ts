// Warnings from the dynamic provider that appear in `pulumi up` output.
//
// A dynamic provider runs in its own process (@pulumi/pulumi's
// cmd/dynamic-provider), started by the engine as `<plugin> <engine address>`.
// That process never configures @pulumi/pulumi's runtime, so pulumi.log
// there falls back to the console, whose stderr the CLI shows only as plain
// info lines. The engine's Log RPC at the address the process was given is
// what providers use for diagnostics: a WARNING sent there is printed as
// "warning: ..." in `pulumi up` and counted in its summary.
import { isIP } from "node:net";
import { dirname } from "node:path";

/** The engine address this process was started with, if it is a dynamic provider process. */
export function engineAddress(argv: readonly string[] = process.argv): string | undefined {
  const main = argv[1] ?? "";
  const addr = argv[2];
  if (!/dynamic-provider/.test(main) || !addr) return undefined;
  const m = /^(.*):(\d{1,5})$/.exec(addr);
  if (!m) return undefined;
  const host = m[1]!.replace(/^\[|\]$/g, "");
  return host === "localhost" || isIP(host) ? addr : undefined;
}

/**
 * Sends a warning to the engine (shown in `pulumi up`); outside a provider
 * process, or if the engine does not answer, writes it to stderr instead.
 */
export async function warn(message: string): Promise<void> {
  const addr = engineAddress();
  if (addr === undefined) {
    process.stderr.write(`warning: ${message}\n`);
    return;
  }
  // Loaded here: only provider processes need gRPC; the one @pulumi/pulumi uses.
  const pulumiDir = dirname(require.resolve("@pulumi/pulumi/package.json"));
  const grpc = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] })) as typeof import("@grpc/grpc-js");
  const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb") as { EngineClient: new (a: string, c: unknown) => EngineClient };
  const engproto = require("@pulumi/pulumi/proto/engine_pb") as EngineProto;
  const client = new engrpc.EngineClient(addr, grpc.credentials.createInsecure());
  const req = new engproto.LogRequest();
  req.setSeverity(engproto.LogSeverity.WARNING);
  req.setMessage(message);
  try {
    await new Promise<void>((resolve, reject) => client.log(req, (err) => (err ? reject(err) : resolve())));
  } catch {
    process.stderr.write(`warning: ${message}\n`);
  } finally {
    client.close();
  }
}

interface EngineClient {
  log(req: unknown, cb: (err: Error | null) => void): void;
  close(): void;
}
interface EngineProto {
  LogRequest: new () => { setSeverity(s: number): void; setMessage(m: string): void };
  LogSeverity: { WARNING: number };
}
