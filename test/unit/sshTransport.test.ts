// The SSH transport (provider/host/ssh.ts, hostKey.ts, redact.ts, and the
// session code apply.ts drives: RemoteRun, the remote program's exec
// channel, the fresh-login probe) against an ssh2 server inside this process
// (test/support/inProcessSsh.ts) on 127.0.0.1: no root, no namespaces, no
// sshd. The host and user keys are generated once for this file.
//
// What a firewall tool must get right here: the host key it trusts (first
// use, recorded, pinned; a different key refused before authentication, so
// no command can run), authentication failures that say so and never carry
// a secret, a lost or refused connection reported as such, bounded dial
// retries, the command actually sent (sudo), and the lockout probe: a new
// login that fails means ROLLBACK, never CONFIRM.
//
// Tests wait on what the server reports (its events and records), never on
// time. The real apply/read/remove functions are imported from apply.ts: they
// are what sshHostOps() (provider/host/ops.ts) returns, whose lazy require
// needs the compiled dist/.
import * as net from "node:net";
import { once } from "node:events";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionDeclaration } from "../../provider/declaration/declaration";
import { applyAtomically, readLive, removeTable } from "../../provider/host/apply";
import { HostError, type HostErrorKind } from "../../provider/host/errors";
import { fingerprint, parseHostKey } from "../../provider/host/hostKey";
import type { HostOps } from "../../provider/host/ops";
import { connectionSecrets, REDACTED } from "../../provider/host/redact";
import { RemoteRun, type RunEnd } from "../../provider/host/remoteRun";
import { openSession, SshSession, transportStats, type SessionOptions } from "../../provider/host/ssh";
import { tableDefinition } from "../../provider/nft/listing";
import { allowScript, SCRIPT_FACTS, TABLE } from "../support/applyScripts";
import {
  generateKeyPair,
  reply,
  startSshServer,
  type ExecCall,
  type ExecHandler,
  type InProcessSsh,
  type KeyPair,
  type LoginPolicy,
} from "../support/inProcessSsh";

// The same functions as sshHostOps(), checked against the HostOps seam.
const ssh: HostOps = { applyAtomically, readLive, removeTable };

// ---- keys (per file) -------------------------------------------------------

const HOST = generateKeyPair("ed25519");
const HOST_ECDSA = generateKeyPair("ecdsa");
const REBUILT = generateKeyPair("ed25519");
const JUMP = generateKeyPair("ed25519");
const USER_KEY = generateKeyPair("ed25519");
const STRANGER_KEY = generateKeyPair("ed25519");
const PASSPHRASE = "correct horse battery staple 51a9";
const ENCRYPTED_KEY = generateKeyPair("ed25519", { passphrase: PASSPHRASE });
const PASSWORD = "s3cret-password-7f2c0d";
const USERS = [
  { username: "deploy", publicKeys: [USER_KEY.public, ENCRYPTED_KEY.public], password: PASSWORD },
  { username: "root", publicKeys: [USER_KEY.public] },
];
const OWNER = "org/project/stack-a";

/** "SHA256:…" of a key pair's public key. */
function fp(k: KeyPair): string {
  const parsed = parseHostKey(k.public);
  if (parsed.form !== "key") throw new Error("not a key");
  return fingerprint(parsed.blob);
}

/** The lines of a private key long enough to identify it (what redact scrubs line by line). */
function keyLines(k: string): string[] {
  return k.split("\n").filter((l) => l.trim().length >= 16 && !l.startsWith("-----"));
}

// ---- servers, sessions, cleanup --------------------------------------------

// A test that waits for something that never comes fails within this bound
// (a hang is a finding: a write waiting for a "drain" that never comes was
// one), not after the suite's five minutes.
const BOUNDED = { timeout: 60_000 };

let srv: InProcessSsh;
const extraServers: InProcessSsh[] = [];
const extraListeners: net.Server[] = [];
const sessions: SshSession[] = [];

beforeAll(async () => {
  srv = await startSshServer({ hostKeys: [HOST], users: USERS });
});

afterAll(async () => {
  await srv.close();
});

afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  const errors = [srv, ...extraServers].flatMap((s) => s.handlerErrors);
  await Promise.all(extraServers.splice(0).map((s) => s.close()));
  await Promise.all(extraListeners.splice(0).map((l) => new Promise((r) => l.close(r))));
  // Every connection of this test has closed (what the server sees): nothing late reaches the next test's records.
  await srv.idle();
  srv.reset();
  srv.useHostKeys([HOST]);
  expect(errors, "exec handlers of the in-process server failed").toEqual([]);
});

async function anotherServer(hostKeys: KeyPair[]): Promise<InProcessSsh> {
  const s = await startSshServer({ hostKeys, users: USERS });
  extraServers.push(s);
  return s;
}

/** A local TCP port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const l = net.createServer().listen(0, "127.0.0.1");
  await once(l, "listening");
  const { port } = l.address() as net.AddressInfo;
  await new Promise((r) => l.close(r));
  return port;
}

/** A TCP server that greets like something other than SSH. */
async function notSshServer(): Promise<number> {
  const l = net.createServer((s) => s.end("HTTP/1.0 400 Bad Request\r\n\r\n")).listen(0, "127.0.0.1");
  extraListeners.push(l);
  await once(l, "listening");
  return (l.address() as net.AddressInfo).port;
}

function conn(over: Partial<ConnectionDeclaration> = {}, server: InProcessSsh = srv): ConnectionDeclaration {
  return { host: server.host, port: server.port, user: "deploy", privateKey: USER_KEY.private, dialErrorLimit: 5, ...over };
}

async function open(c: ConnectionDeclaration, opts: SessionOptions = {}): Promise<SshSession> {
  const s = await openSession(c, { maxDialMs: 30_000, ...opts });
  sessions.push(s);
  return s;
}

/** The HostError `p` rejects with (a session it unexpectedly opens is closed). */
async function refusal(p: Promise<unknown>): Promise<HostError> {
  let value: unknown;
  try {
    value = await p;
  } catch (e) {
    expect(e).toBeInstanceOf(HostError);
    return e as HostError;
  }
  if (value instanceof SshSession) value.destroy();
  throw new Error(`expected a HostError, got ${JSON.stringify(value)}`);
}

/** Runs `command` on the session through RemoteRun (the apply path's channel driver); `stdin` is sent, then EOF. */
async function run(session: SshSession, command: string, stdin = ""): Promise<{ end: RunEnd; stdout: string; stderr: string }> {
  const r = new RemoteRun(await session.exec(command), "0123");
  if (stdin) await r.write(stdin);
  r.endInput();
  const end = await r.closed;
  return { end, stdout: r.stdout, stderr: r.stderr };
}

/** The nonce of a remote program (its marker lines carry it). */
function nonceOf(program: string): string {
  const m = /^NONCE='?([0-9a-f]{32})'?$/m.exec(program);
  if (!m) throw new Error("no NONCE in the program");
  return m[1]!;
}

function say(call: ExecCall, event: string): void {
  call.out(`@@nftsg:${nonceOf(call.stdin)}:${event}\n`);
}

// ---- connecting and running a command --------------------------------------

describe("connecting and running a command", BOUNDED, () => {
  it("logs in as the declared user, records the host's key and runs a command on a new channel", async () => {
    const before = transportStats.sshConnections;
    srv.onExec = async (call) => {
      await call.inputEnded();
      call.out(`hello from ${call.username}\n`);
      call.exit(0);
    };
    const session = await open(conn(), { displayName: "db-1" });
    expect(session.hostKey).toBe(HOST.public);
    expect(session.label).toBe(`db-1 (127.0.0.1:${srv.port})`);
    expect(session.connections).toBe(1);
    expect(transportStats.sshConnections).toBe(before + 1);
    expect(srv.auths.filter((a) => a.accepted)).toEqual([{ connection: 1, username: "deploy", method: "publickey", accepted: true }]);

    const r = await run(session, "uname -a");
    expect(r).toEqual({ end: { code: 0, signal: undefined, connectionLost: false }, stdout: "hello from deploy\n", stderr: "" });
    expect(srv.execs.map((e) => e.command)).toEqual(["uname -a"]);
    expect(session.execs).toBe(1);
  });

  it("defaults the user to root", async () => {
    await open(conn({ user: undefined }));
    expect(srv.auths.filter((a) => a.accepted).map((a) => a.username)).toEqual(["root"]);
  });

  // The server answers once the client closed stdin, as nftsg's programs do (they arrive on stdin).
  it.each<{ name: string; handler: ExecHandler; want: { code: number | null; signal?: string; stdout: string; stderr: string } }>([
    { name: "stdout, exit 0", handler: reply({ stdout: "ok\n", code: 0 }), want: { code: 0, stdout: "ok\n", stderr: "" } },
    { name: "stderr, exit 3", handler: reply({ stderr: "nft: no such table\n", code: 3 }), want: { code: 3, stdout: "", stderr: "nft: no such table\n" } },
    { name: "killed by SIGKILL", handler: reply({ stdout: "half", signal: "KILL" }), want: { code: null, signal: "SIGKILL", stdout: "half", stderr: "" } },
    {
      name: "a character split across two packets",
      handler: (call) => {
        const e = Buffer.from("é\n");
        call.out(e.subarray(0, 1));
        call.out(e.subarray(1));
        call.exit(0);
      },
      want: { code: 0, stdout: "é\n", stderr: "" },
    },
  ])("reports the command's output and end: $name", async ({ handler, want }) => {
    srv.onExec = async (call) => {
      await call.inputEnded();
      await handler(call);
    };
    const session = await open(conn());
    const r = await run(session, "sh -s", "true\n");
    expect(r).toEqual({ end: { code: want.code, signal: want.signal, connectionLost: false }, stdout: want.stdout, stderr: want.stderr });
  });

  // A command that fails before reading its input (sudo -n without
  // passwordless sudo, a missing shell) can end before the client has even
  // attached its listeners: its exit status arrives with the reply to the
  // exec request. It is still an exit status, not a lost connection.
  it.each([
    { name: "exit 1", r: { stderr: "sudo: a password is required\n", code: 1 }, want: { code: 1, signal: undefined } },
    { name: "exit 127", r: { stderr: "sh: not found\n", code: 127 }, want: { code: 127, signal: undefined } },
    { name: "SIGTERM", r: { signal: "TERM" }, want: { code: null, signal: "SIGTERM" } },
  ])("reports the end of a command that ends at once ($name)", async ({ r, want }) => {
    srv.onExec = reply(r);
    const session = await open(conn());
    // Its program is still being written when it ends: the write must not wait for a "drain" that never comes.
    const got = await run(session, "sudo -n sh -s", "x".repeat(64 << 10));
    expect(got.end).toEqual({ ...want, connectionLost: false });
    expect(got.stderr).toBe(r.stderr ?? "");
  });

  it("delivers stdin verbatim and honours backpressure (3 MiB, more than a channel window)", async () => {
    const payload = `# é\n${"x".repeat(79)}\n`.repeat(Math.ceil((3 << 20) / 84));
    srv.onExec = async (call) => {
      const got = await call.inputEnded();
      call.out(`${got.length} ${got === payload}\n`);
      call.exit(0);
    };
    const session = await open(conn());
    const r = await run(session, "sh -s", payload);
    expect(r.stdout).toBe(`${payload.length} true\n`);
  });

  it("reports a lost connection mid-command as such: no exit status, output so far kept", async () => {
    srv.onExec = async (call) => {
      call.out("@@nftsg:0123:started\n");
      await call.untilInput((s) => s.includes("go\n"));
      call.dropConnection();
    };
    const session = await open(conn());
    const r = new RemoteRun(await session.exec("sh -s"), "0123");
    expect(await r.waitForEvent("started", 30_000)).toBe(true);
    await r.write("go\n");
    expect(await r.closed).toEqual({ code: null, signal: undefined, connectionLost: true });
    expect(r.stdout).toBe("@@nftsg:0123:started\n");

    // The session is gone: a new command fails as unreachable, naming the host.
    const e = await refusal(session.exec("true"));
    expect(e.kind).toBe<HostErrorKind>("unreachable");
    expect(e.message).toMatch(new RegExp(`^127\\.0\\.0\\.1:${srv.port}: cannot start a command over SSH`));
    expect(e.hostKey).toBe(HOST.public);
  });

  it("reports an exec request the server refuses as unreachable", async () => {
    srv.refuseExec = true;
    const session = await open(conn());
    const e = await refusal(session.exec("sh -s"));
    expect(e.kind).toBe<HostErrorKind>("unreachable");
    expect(e.message).toMatch(/cannot start a command over SSH/);
  });

  it("closes the connection in an orderly way", async () => {
    const session = await open(conn());
    const gone = srv.next("disconnect");
    session.close();
    expect(await gone).toBe(1);
  });
});

// ---- host keys --------------------------------------------------------------

describe("host keys: trust on first use, recorded and pinned", BOUNDED, () => {
  it("on first use, accepts the host's key and returns it for recording", async () => {
    const session = await open(conn());
    expect(session.hostKey).toBe(HOST.public);
    expect(parseHostKey(session.hostKey)).toEqual({ form: "key", type: "ssh-ed25519", blob: expect.any(Buffer) });
  });

  it.each<{ name: string; pinned?: string; recorded?: string }>([
    { name: "recorded key", recorded: HOST.public },
    { name: "pinned key", pinned: HOST.public },
    { name: "pinned known_hosts line (host field, comment)", pinned: `127.0.0.1 ${HOST.public} root@db-1` },
    { name: "pinned SHA256 fingerprint", pinned: fp(HOST) },
    { name: "pinned key, with another key recorded (the pin wins)", pinned: HOST.public, recorded: REBUILT.public },
  ])("accepts the expected key: $name", async ({ pinned, recorded }) => {
    const session = await open(conn({ hostKey: pinned }), { expectedHostKey: recorded });
    expect(session.hostKey).toBe(HOST.public);
  });

  // A fingerprint does not say its key type: the host is asked once more for
  // a key of any other type (it has none here), hence two dials.
  it.each<{ name: string; pinned?: string; recorded?: string; expected: string; advice: RegExp; dials: number }>([
    { name: "recorded key of another machine", recorded: REBUILT.public, expected: fp(REBUILT), advice: /pin its new key with connection\.hostKey .*man-in-the-middle/, dials: 1 },
    { name: "pinned key of another machine", pinned: REBUILT.public, expected: fp(REBUILT), advice: /update the pinned connection\.hostKey/, dials: 1 },
    { name: "pinned fingerprint of another machine", pinned: fp(REBUILT), expected: fp(REBUILT), advice: /update the pinned connection\.hostKey/, dials: 2 },
    { name: "pinned other key, this one recorded (the pin wins)", pinned: REBUILT.public, recorded: HOST.public, expected: fp(REBUILT), advice: /update the pinned/, dials: 1 },
  ])("refuses a different key before authentication, once, saying so: $name", async ({ pinned, recorded, expected, advice, dials }) => {
    const e = await refusal(open(conn({ hostKey: pinned }), { expectedHostKey: recorded }));
    expect(e.kind).toBe<HostErrorKind>("hostkey");
    expect(e.message).toContain(`host key for 127.0.0.1 changed: expected ${expected}, got ${fp(HOST)} (ssh-ed25519)`);
    expect(e.message).toMatch(advice);
    expect(e.message).toMatch(/No command was run\.$/);
    // Refused during the key exchange: no authentication, no command; not retried (dialErrorLimit 5).
    expect(srv.tcpConnections).toBe(dials);
    expect(srv.auths).toEqual([]);
    expect(srv.execs).toEqual([]);
  });

  it("trust on first use, then the host is rebuilt: refused until the new key is pinned", async () => {
    const first = await open(conn());
    const recorded = first.hostKey;
    first.close();

    srv.useHostKeys([REBUILT]);
    const e = await refusal(open(conn(), { expectedHostKey: recorded }));
    expect(e.kind).toBe<HostErrorKind>("hostkey");
    expect(e.message).toContain(`expected ${fp(HOST)}, got ${fp(REBUILT)}`);
    expect(srv.auths.filter((a) => a.connection === 2)).toEqual([]);

    const pinned = await open(conn({ hostKey: REBUILT.public }), { expectedHostKey: recorded });
    expect(pinned.hostKey).toBe(REBUILT.public);
  });

  it.each<{ name: string; pinned?: string; recorded?: string; message: RegExp }>([
    { name: "pinned text that is no key", pinned: "not a key", message: /connection\.hostKey is not usable: not an SSH host key/ },
    { name: "pinned @revoked line", pinned: `@revoked 127.0.0.1 ${HOST.public}`, message: /connection\.hostKey is not usable: .*@revoked/ },
    { name: "pinned @cert-authority line", pinned: `@cert-authority * ${HOST.public}`, message: /connection\.hostKey is not usable: .*@cert-authority/ },
    { name: "pinned key of the wrong type name", pinned: HOST.public.replace("ssh-ed25519", "ssh-rsa"), message: /connection\.hostKey is not usable/ },
    { name: "recorded text that is no key", recorded: "SHA256:short", message: /the recorded host key is not usable/ },
  ])("refuses an unusable expected key without connecting: $name", async ({ pinned, recorded, message }) => {
    const e = await refusal(open(conn({ hostKey: pinned }), { expectedHostKey: recorded }));
    expect(e.kind).toBe<HostErrorKind>("hostkey");
    expect(e.message).toMatch(message);
    expect(srv.tcpConnections).toBe(0);
  });

  describe("a host with an ed25519 and an ECDSA key", () => {
    it.each<{ name: string; pinned?: string; presented: KeyPair }>([
      { name: "first use: the negotiated (ed25519) key", presented: HOST },
      { name: "ed25519 key pinned", pinned: HOST.public, presented: HOST },
      { name: "ECDSA key pinned: only its algorithm is offered", pinned: HOST_ECDSA.public, presented: HOST_ECDSA },
      { name: "ECDSA known_hosts line pinned", pinned: `db-1,127.0.0.1 ${HOST_ECDSA.public}`, presented: HOST_ECDSA },
      { name: "ed25519 fingerprint pinned", pinned: fp(HOST), presented: HOST },
      // `ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub` is as valid a pin
      // as any; the host has that key, unchanged. A fingerprint does not say
      // its key type: the host presents its ed25519 key first, and is then
      // asked for its other key types (dialOtherKeyTypes).
      { name: "ECDSA fingerprint pinned", pinned: fp(HOST_ECDSA), presented: HOST_ECDSA },
    ])("presents the comparable key: $name", async ({ pinned, presented }) => {
      const two = await anotherServer([HOST, HOST_ECDSA]);
      const session = await open(conn({ hostKey: pinned }, two));
      expect(session.hostKey).toBe(presented.public);
    });
  });

  it.each<{ name: string; pinned?: string; recorded?: string; advice: RegExp }>([
    { name: "recorded", recorded: HOST.public, advice: /man-in-the-middle/ },
    { name: "pinned", pinned: HOST.public, advice: /update the pinned connection\.hostKey/ },
  ])("refuses a host that has no key of the expected type as a host key problem ($name)", async ({ pinned, recorded, advice }) => {
    const ecdsaOnly = await anotherServer([HOST_ECDSA]);
    const e = await refusal(open(conn({ hostKey: pinned }, ecdsaOnly), { expectedHostKey: recorded }));
    expect(e.kind).toBe<HostErrorKind>("hostkey");
    expect(e.message).toContain(`host key for 127.0.0.1 changed: expected ${fp(HOST)} (ssh-ed25519)`);
    expect(e.message).toMatch(advice);
    expect(e.message).toMatch(/No command was run\.$/);
    expect(ecdsaOnly.tcpConnections).toBe(1);
    expect(ecdsaOnly.auths).toEqual([]);
  });
});

// ---- authentication ---------------------------------------------------------

describe("authentication", BOUNDED, () => {
  it.each<{ name: string; c: Partial<ConnectionDeclaration>; method: string }>([
    { name: "private key", c: {}, method: "publickey" },
    { name: "password", c: { privateKey: undefined, password: PASSWORD }, method: "password" },
    { name: "encrypted private key and its passphrase", c: { privateKey: ENCRYPTED_KEY.private, privateKeyPassword: PASSPHRASE }, method: "publickey" },
  ])("logs in with a $name", async ({ c, method }) => {
    await open(conn(c));
    expect(srv.auths.filter((a) => a.accepted)).toEqual([{ connection: 1, username: "deploy", method, accepted: true }]);
  });

  const damaged = USER_KEY.private.replace(/\n([A-Za-z0-9+/]{20})/, "\n!!!!");
  it.each<{ name: string; c: Partial<ConnectionDeclaration>; tcp: number; message: RegExp }>([
    { name: "a key the host does not accept", c: { privateKey: STRANGER_KEY.private }, tcp: 1, message: /SSH authentication failed/ },
    { name: "a wrong password", c: { privateKey: undefined, password: "wrong-password-c0ffee" }, tcp: 1, message: /SSH authentication failed/ },
    { name: "a password of another user", c: { user: "root", privateKey: undefined, password: PASSWORD }, tcp: 1, message: /SSH authentication failed/ },
    {
      name: "a key of another user",
      c: { user: "root", privateKey: ENCRYPTED_KEY.private, privateKeyPassword: PASSPHRASE },
      tcp: 1,
      message: /SSH authentication failed/,
    },
    { name: "no credentials at all", c: { privateKey: undefined }, tcp: 1, message: /SSH authentication failed/ },
    {
      name: "a wrong passphrase",
      c: { privateKey: ENCRYPTED_KEY.private, privateKeyPassword: "wrong passphrase 0d15ea5e" },
      tcp: 0,
      message: /cannot use the SSH credentials/,
    },
    { name: "an encrypted key without its passphrase", c: { privateKey: ENCRYPTED_KEY.private }, tcp: 0, message: /cannot use the SSH credentials/ },
    { name: "a damaged private key", c: { privateKey: damaged }, tcp: 0, message: /cannot use the SSH credentials/ },
  ])("refuses $name: kind auth, not retried, no secret in the message", async ({ c, tcp, message }) => {
    const declared = conn({ ...c, dialErrorLimit: 5 });
    const e = await refusal(open(declared, { displayName: "db-1" }));
    expect(e.kind).toBe<HostErrorKind>("auth");
    expect(e.message).toMatch(new RegExp(`^db-1 \\(127\\.0\\.0\\.1:${srv.port}\\): `));
    expect(e.message).toMatch(message);
    expect(srv.tcpConnections).toBe(tcp);
    expect(srv.execs).toEqual([]);
    for (const s of connectionSecrets(declared)) {
      expect(e.message).not.toContain(s);
      for (const line of keyLines(s)) expect(e.message).not.toContain(line);
    }
    expect(e.message).not.toMatch(/PRIVATE KEY/);
    expect(e.stack ?? "").not.toContain(PASSWORD);
  });
});

// ---- dialling ----------------------------------------------------------------

describe("dialling: refused, closed, silent; retry limits", BOUNDED, () => {
  it.each([1, 3])("reports a refused connection as unreachable (dialErrorLimit %i)", async (limit) => {
    const port = await closedPort();
    const e = await refusal(open({ ...conn(), port, dialErrorLimit: limit }));
    expect(e.kind).toBe<HostErrorKind>("unreachable");
    expect(e.message).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port}: cannot connect: ECONNREFUSED`));
    if (limit > 1) expect(e.message).toMatch(new RegExp(`\\(after ${limit} attempts\\)$`));
    else expect(e.message).not.toMatch(/attempts/);
  });

  it.each([1, 2, 4])("dials at most dialErrorLimit times (%i) when the host closes every connection", async (limit) => {
    srv.logins = "close";
    const e = await refusal(open(conn({ dialErrorLimit: limit })));
    expect(e.kind).toBe<HostErrorKind>("unreachable");
    expect(e.message).toMatch(/: the connection closed during the SSH handshake/);
    expect(srv.tcpConnections).toBe(limit);
    if (limit > 1) expect(e.message).toMatch(new RegExp(`\\(after ${limit} attempts\\)$`));
  });

  it("stops dialling at maxDialMs even when dialErrorLimit allows more", async () => {
    srv.logins = "close";
    const e = await refusal(open(conn({ dialErrorLimit: 100 }), { maxDialMs: 1_500 }));
    expect(e.kind).toBe<HostErrorKind>("unreachable");
    // Backoff 200, 400, 800 ms: a fourth dial at ~1.4 s at most, never a sleep past the deadline.
    expect(srv.tcpConnections).toBeGreaterThanOrEqual(1);
    expect(srv.tcpConnections).toBeLessThanOrEqual(4);
    if (srv.tcpConnections > 1) expect(e.message).toMatch(new RegExp(`\\(after ${srv.tcpConnections} attempts\\)$`));
  });

  it("gives up on a host that accepts TCP but never answers, after perDialTimeout", async () => {
    srv.logins = "silent";
    const e = await refusal(open(conn({ dialErrorLimit: 1, perDialTimeout: 1 })));
    expect(e.kind).toBe<HostErrorKind>("unreachable");
    expect(e.message).toMatch(/timed out waiting for the SSH handshake/);
    expect(srv.tcpConnections).toBe(1);
  });
});

describe("the fresh-login probe: a verdict for the whole budget, not for one try", BOUNDED, () => {
  it("counts a login that is slow but completes within the budget (no try is cut off at half of it)", async () => {
    const session = await open(conn());
    // Every new login now waits 1.8 s for the server's banner: 60% of the budget.
    srv.handshakeDelayMs = 1_800;
    expect(await session.probeFreshConnection(3_000)).toEqual({ ok: true });
  });

  it("starts a second try beside a first that hangs, and fails only when the budget is spent", async () => {
    const session = await open(conn());
    srv.logins = "silent"; // TCP accepted, never an SSH banner
    const r = await session.probeFreshConnection(4_000);
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/no SSH login within \d+ ms|timed out waiting for the SSH handshake/) });
    // The session's own connection, the first try and the one started beside it at half the budget.
    expect(srv.tcpConnections).toBe(3);
  });

  it("retries a login that fails at once, at most three tries in all", async () => {
    const session = await open(conn());
    srv.logins = "close";
    const r = await session.probeFreshConnection(4_000);
    expect(r.ok).toBe(false);
    expect(srv.tcpConnections).toBe(1 + 3);
  });

  it("a banner probe through the jump host gets the same budget rules", async () => {
    const session = await open(conn());
    srv.handshakeDelayMs = 1_800;
    expect(await session.probeForwardedBanner("127.0.0.1", srv.port, 3_000)).toEqual({ ok: true });
  });
});

// ---- the remote program: sudo, failures, redaction ---------------------------

/** The read program's answer: no table. */
const answerRead: ExecHandler = async (call) => {
  await call.inputEnded();
  say(call, "exists=0");
  call.exit(0);
};

/** The remove program's answer: removed. */
const answerRemove: ExecHandler = async (call) => {
  await call.inputEnded();
  say(call, "removed");
  call.exit(0);
};

/** `nft -j list ruleset` and the interface listing (rulesetJson.ts). */
const answerRuleset: ExecHandler = reply({ stdout: '{"nftables":[]}\n@@nftsg-section@@\n[]\n@@nftsg-section@@\n', code: 0 });

describe("the remote program over the session (readLive, removeTable)", BOUNDED, () => {
  it.each<{ name: string; sudo?: boolean; program: string; ruleset: RegExp }>([
    { name: "as root", program: "sh -s", ruleset: /^sh -c 'PATH=.*nft -j list ruleset/ },
    { name: "with connection.sudo", sudo: true, program: "sudo -n sh -s", ruleset: /^sudo -n sh -c 'PATH=.*nft -j list ruleset/ },
  ])("sends its program on stdin of one exec channel: $name", async ({ sudo, program, ruleset }) => {
    srv.onExec = (call) => (call.command.includes("nft -j") ? answerRuleset(call) : answerRead(call));
    const live = await ssh.readLive(conn({ sudo }), TABLE, { readRuleset: true });
    expect(live).toMatchObject({ hostKey: HOST.public, exists: false, ruleset: { json: '{"nftables":[]}' } });
    const commands = srv.execs.map((e) => e.command);
    expect(commands).toHaveLength(2);
    expect(commands).toContain(program);
    expect(commands.find((c) => c !== program)).toMatch(ruleset);
    // The whole program is one brace group that arrived before EOF.
    const call = srv.execs.find((e) => e.command === program)!;
    expect(call.stdinEnded).toBe(true);
    expect(call.stdin.startsWith("{\n")).toBe(true);
    expect(call.stdin.endsWith("}\n")).toBe(true);
    expect(call.stdin).toContain("T='nftsg'");
    expect(srv.tcpConnections).toBe(1);

    srv.reset();
    srv.onExec = answerRemove;
    const removed = await ssh.removeTable(conn({ sudo }), TABLE, { owner: OWNER, expectedHostKey: HOST.public });
    expect(removed.hostKey).toBe(HOST.public);
    expect(srv.execs.map((e) => e.command)).toEqual([program]);
  });

  it.each<{ name: string; handler: ExecHandler; kind: HostErrorKind; message: RegExp }>([
    {
      name: "sudo -n refuses (it fails before reading the program)",
      handler: reply({ stderr: "sudo: a password is required\n", code: 1 }),
      kind: "preflight",
      message: /sudo -n failed \(connection\.sudo needs passwordless sudo for this user\): sudo: a password is required$/,
    },
    { name: "no shell (exit 127 at once)", handler: reply({ stderr: "sh: not found\n", code: 127 }), kind: "preflight", message: /no POSIX shell to run nftsg's program: sh: not found$/ },
    {
      name: "the program reports a failed preflight",
      handler: async (call) => {
        await call.inputEnded();
        say(call, "fail:preflight");
        call.err("nft is not installed\n");
        call.exit(3);
      },
      kind: "preflight",
      message: /: nft is not installed$/,
    },
    {
      name: "the program exits 2 without a marker",
      handler: async (call) => {
        await call.inputEnded();
        call.err("syntax error\n");
        call.exit(2);
      },
      kind: "apply",
      message: /the remote program exited with status 2: syntax error$/,
    },
    {
      name: "the program is killed",
      handler: async (call) => {
        await call.inputEnded();
        call.kill("KILL");
      },
      kind: "apply",
      message: /the remote nftsg shell was killed \(SIGKILL\) before completing/,
    },
    {
      name: "the connection drops mid-program",
      handler: async (call) => {
        await call.inputEnded();
        call.out("partial output");
        call.dropConnection();
      },
      kind: "unreachable",
      message: /the SSH connection was lost/,
    },
  ])("reports what went wrong with the right kind: $name", async ({ handler, kind, message }) => {
    srv.onExec = handler;
    const e = await refusal(ssh.readLive(conn({ sudo: true }), TABLE, { displayName: "db-1" }));
    expect(e.kind).toBe(kind);
    expect(e.message).toMatch(new RegExp(`^db-1 \\(127\\.0\\.0\\.1:${srv.port}\\): `));
    expect(e.message).toMatch(message);
    expect(e.hostKey).toBe(HOST.public); // recorded even on failure
  });

  // A host's wrapper or shell profile that echoes its environment or
  // arguments must not carry a secret into Pulumi's output.
  it.each<{ name: string; c: Partial<ConnectionDeclaration>; echoed: (c: ConnectionDeclaration) => string }>([
    { name: "the password", c: { privateKey: undefined, password: PASSWORD }, echoed: () => PASSWORD },
    { name: "the whole private key", c: {}, echoed: () => USER_KEY.private },
    { name: "one line of the private key", c: {}, echoed: () => keyLines(USER_KEY.private)[0]! },
    { name: "the key's passphrase", c: { privateKey: ENCRYPTED_KEY.private, privateKeyPassword: PASSPHRASE }, echoed: () => PASSPHRASE },
  ])("redacts $name echoed by the host into an error", async ({ c, echoed }) => {
    const declared = conn(c);
    const secret = echoed(declared);
    srv.onExec = async (call) => {
      await call.inputEnded();
      call.err(`wrapper: env says ${secret} here\n`);
      call.exit(2);
    };
    const e = await refusal(ssh.readLive(declared, TABLE, {}));
    expect(e.kind).toBe<HostErrorKind>("apply");
    expect(e.message).not.toContain(secret);
    for (const line of keyLines(secret)) expect(e.message).not.toContain(line);
    expect(e.message).toMatch(new RegExp(`wrapper: env says ${REDACTED.replace(/[[\]]/g, "\\$&")}\\s*here$`));
  });
});

// ---- the apply: the fresh-login probe decides CONFIRM or ROLLBACK ---------------

describe("applyAtomically: a new login must work before CONFIRM", BOUNDED, () => {
  const script = allowScript(OWNER, 8080);

  /**
   * The apply program's side of the protocol (docs/apply.md): once the
   * whole program arrived, "applies" the ruleset (from then on `cut` decides
   * what happens to new connections), reads it back, and waits for CONFIRM
   * or ROLLBACK.
   */
  function scriptedApply(cut: () => void): ExecHandler {
    return async (call) => {
      if (!(await call.untilInput((s) => s.endsWith("\nesac\n}\n")))) return call.exit(2);
      const programLength = call.stdin.length;
      say(call, "pid=4242");
      say(call, "armed");
      cut();
      say(call, `applied_at=${Date.now()}`);
      say(call, "listing-begin");
      call.out(`${tableDefinition(script).trimEnd()}\n`);
      say(call, "listing-end");
      say(call, "applied");
      const answered = await call.untilInput((s) => s.length > programLength && s.endsWith("\n"));
      const answer = answered ? call.stdin.slice(programLength) : "";
      if (answer === "CONFIRM\n") {
        say(call, "committed");
        say(call, "boot_loader=none");
        say(call, "confirmed");
        call.exit(0);
      } else {
        say(call, "rolled-back");
        call.exit(4);
      }
    };
  }

  // A generous probe budget (a login here is slow when the machine is busy); the silent case shortens it.
  const applyOpts = { facts: SCRIPT_FACTS, owner: OWNER, rollbackSeconds: 60, confirmTimeoutMs: 20_000 };

  it("confirms when a fresh login (key exchange with the same key, and authentication) succeeds", async () => {
    srv.onExec = scriptedApply(() => undefined);
    const result = await ssh.applyAtomically(conn({ sudo: true }), TABLE, script, { ...applyOpts, expectedHostKey: HOST.public });
    expect(result).toMatchObject({ hostKey: HOST.public, connections: 2, roundTrips: 2, bootLoader: "none" });
    expect(srv.execs.map((e) => e.command)).toEqual(["sudo -n sh -s"]);
    expect(srv.execs[0]!.stdin.endsWith("\nesac\n}\nCONFIRM\n")).toBe(true);
    // The probe was a new connection that authenticated (a banner alone proves nothing).
    expect(srv.tcpConnections).toBe(2);
    expect(srv.auths.filter((a) => a.accepted).map((a) => a.connection)).toEqual([1, 2]);
  });

  it("sets TCP_NODELAY on every connection it opens, the session's and the probe's (Nagle against the peer's delayed ACK holds back the handshake's back-to-back small writes)", async () => {
    srv.onExec = scriptedApply(() => undefined);
    const toServer: net.Socket[] = [];
    const noDelay = new Set<net.Socket>();
    const origConnect = net.Socket.prototype.connect;
    const origNoDelay = net.Socket.prototype.setNoDelay;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      const o = args[0] as { port?: number } | undefined;
      if (typeof o === "object" && o !== null && Number(o.port) === srv.port) toServer.push(this);
      return origConnect.apply(this, args as never);
    } as typeof origConnect;
    net.Socket.prototype.setNoDelay = function (this: net.Socket, enable?: boolean) {
      if (enable === undefined || enable) noDelay.add(this);
      else noDelay.delete(this);
      return origNoDelay.call(this, enable);
    };
    try {
      await ssh.applyAtomically(conn(), TABLE, script, applyOpts);
    } finally {
      net.Socket.prototype.connect = origConnect;
      net.Socket.prototype.setNoDelay = origNoDelay;
    }
    // The session's connection and the probe's, each with Nagle off.
    expect(toServer.map((s) => noDelay.has(s))).toEqual([true, true]);
  });

  // Tries: a login that fails at once is retried (three in all); one that
  // hangs gets a second try beside it at half the budget (two in all).
  it.each<{ name: string; cut: (s: InProcessSsh) => void; reason: RegExp; budget?: number; tries: number }>([
    { name: "new connections closed", cut: (s) => (s.logins = "close" satisfies LoginPolicy), reason: /failed: the connection closed during the SSH handshake\)/, tries: 3 },
    {
      name: "new connections dropped silently",
      cut: (s) => (s.logins = "silent"),
      reason: /failed: (no SSH login within \d+ ms|timed out waiting for the SSH handshake)\)/,
      budget: 2_000,
      tries: 2,
    },
    { name: "logins refused (PAM, LDAP) while sshd answers", cut: (s) => (s.logins = "refuse-auth"), reason: /SSH authentication failed/, tries: 3 },
    { name: "another host key answers", cut: (s) => s.useHostKeys([REBUILT]), reason: /a different host key/, tries: 3 },
  ])("rolls back, never confirms, when the fresh login fails: $name", async ({ cut, reason, budget, tries }) => {
    srv.onExec = scriptedApply(() => cut(srv));
    const opts = { ...applyOpts, displayName: "db-1", ...(budget ? { confirmTimeoutMs: budget } : {}) };
    const e = await refusal(ssh.applyAtomically(conn(), TABLE, script, opts));
    expect(e.kind).toBe<HostErrorKind>("lockout");
    expect(e.message).toMatch(new RegExp(`would have cut SSH access to 127\\.0\\.0\\.1:${srv.port} \\(a new SSH login, key exchange and authentication, failed: `));
    expect(e.message).toMatch(reason);
    expect(e.message).toMatch(/the host was rolled back to its previous ruleset/);
    expect(e.confirmed).toBe(false);
    expect(srv.execs).toHaveLength(1);
    const program = srv.execs[0]!;
    await program.closed;
    // What the provider sent after the program: ROLLBACK, nothing else.
    expect(program.stdin.slice(program.stdin.lastIndexOf("\nesac\n}\n") + "\nesac\n}\n".length)).toBe("ROLLBACK\n");
    // The session's own connection, then each try of the probe a new one.
    expect(srv.tcpConnections).toBe(1 + tries);
  });
});

// ---- jump hosts ----------------------------------------------------------------

describe("through a jump host", BOUNDED, () => {
  let jump: InProcessSsh;
  const viaJump = (over: Partial<ConnectionDeclaration> = {}): ConnectionDeclaration =>
    conn({ proxy: { host: jump.host, port: jump.port, user: "deploy", privateKey: USER_KEY.private, ...over } });

  beforeAll(async () => {
    jump = await startSshServer({ hostKeys: [JUMP], users: USERS });
  });
  afterAll(async () => {
    await jump.close();
  });
  afterEach(async () => {
    expect(jump.handlerErrors).toEqual([]);
    for (const s of sessions.splice(0)) s.destroy();
    await jump.idle();
    jump.reset();
  });

  it("reaches the target through a forwarded channel and records both keys", async () => {
    srv.onExec = reply({ stdout: "on target\n", code: 0 });
    const session = await open(viaJump());
    expect(session.hostKey).toBe(HOST.public);
    expect(session.proxyHostKey).toBe(`127.0.0.1:${jump.port} ${JUMP.public}`);
    expect(jump.forwards).toEqual([{ connection: 1, destIP: "127.0.0.1", destPort: srv.port, allowed: true }]);
    expect((await run(session, "hostname")).stdout).toBe("on target\n");
    expect(srv.execs).toHaveLength(1);
    expect(jump.execs).toHaveLength(0);

    // The fresh-login probe goes through a NEW forwarded connection, never a channel of this one.
    expect(await session.probeFreshConnection(5_000)).toEqual({ ok: true });
    expect(jump.forwards).toHaveLength(2);
    expect(srv.tcpConnections).toBe(2);
  });

  it.each<{ name: string; recorded: (port: number) => string; pinned?: string; ok: boolean }>([
    { name: "its recorded key", recorded: (p) => `127.0.0.1:${p} ${JUMP.public}`, ok: true },
    { name: "a recorded key of another machine", recorded: (p) => `127.0.0.1:${p} ${REBUILT.public}`, ok: false },
    { name: "a key recorded for another endpoint (first use here)", recorded: () => `127.0.0.1:1 ${REBUILT.public}`, ok: true },
    { name: "its pinned key, another one recorded", recorded: (p) => `127.0.0.1:${p} ${REBUILT.public}`, pinned: JUMP.public, ok: true },
  ])("checks the jump host's key: $name", async ({ recorded, pinned, ok }) => {
    const attempt = open(viaJump({ hostKey: pinned }), { expectedProxyHostKey: recorded(jump.port) });
    if (ok) {
      expect((await attempt).proxyHostKey).toBe(`127.0.0.1:${jump.port} ${JUMP.public}`);
      return;
    }
    const e = await refusal(attempt);
    expect(e.kind).toBe<HostErrorKind>("hostkey");
    expect(e.message).toContain(`via jump host 127.0.0.1:${jump.port}: host key for 127.0.0.1 changed: expected ${fp(REBUILT)}, got ${fp(JUMP)}`);
    expect(e.message).toMatch(/this jump host's key was recorded on first use/);
    // Neither authenticated to the jump host nor dialled the target.
    expect(jump.auths).toEqual([]);
    expect(jump.forwards).toEqual([]);
    expect(srv.tcpConnections).toBe(0);
  });

  it("reports a target the jump host cannot reach as unreachable", async () => {
    const port = await closedPort();
    const e = await refusal(open({ ...viaJump(), port, dialErrorLimit: 1 }));
    expect(e.kind).toBe<HostErrorKind>("unreachable");
    expect(e.message).toMatch(new RegExp(`the jump host cannot connect to 127\\.0\\.0\\.1:${port}`));
  });

  it.each<{ name: string; target: () => Promise<number>; want: RegExp | true }>([
    { name: "an SSH server", target: async () => srv.port, want: true },
    { name: "something else", target: notSshServer, want: /answered, but not as an SSH server \("HTTP\/1\.0 400 Bad Request"\)/ },
    { name: "nothing", target: closedPort, want: /cannot connect to 127\.0\.0\.1:\d+/ },
  ])("probes a path from the jump host (a new forwardOut, up to the banner) to $name", async ({ target, want }) => {
    const session = await open(conn({}, jump));
    const port = await target();
    const r = await session.probeForwardedBanner("127.0.0.1", port, 5_000, { maxTries: 1 });
    if (want === true) expect(r).toEqual({ ok: true });
    else {
      expect(r.ok).toBe(false);
      expect(r.ok === false && r.reason).toMatch(want);
    }
    expect(jump.forwards.map((f) => f.destPort)).toEqual([port]);
  });
});
