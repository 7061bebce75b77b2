// SSH transport (ssh2): one connection per operation, channels multiplexed on
// it, host key pinning / trust on first use, jump hosts, dial retries, and the
// fresh-login probe that proves management access still works.
import { Client, type ClientChannel, type ConnectConfig, type ServerHostKeyAlgorithm } from "ssh2";
import type { ConnectionDeclaration } from "../declaration/declaration";
import { HostError, hostLabel, type HostErrorKind } from "./errors";
import {
  fingerprint,
  formatHostKey,
  hostKeyAlgorithms,
  hostKeyMatches,
  parsedFingerprint,
  blobType,
  otherKeyAlgorithms,
  parseHostKey,
  type ParsedHostKey,
} from "./hostKey";
import { connectionSecrets } from "./redact";
import { probeWithinBudget, type ProbeBudget, type ProbeResult } from "./probeWithinBudget";
import { DEFAULT_SSH_PORT as DEFAULT_PORT } from "../vocabulary/defaults";

export type { ProbeResult } from "./probeWithinBudget";

export interface SessionOptions {
  /** The key recorded on first use; connection.hostKey (pinned) takes precedence. */
  expectedHostKey?: string;
  /**
   * The jump host's key recorded on first use, as "<host>:<port> <type> <base64>"
   * (SshSession.proxyHostKey); used while connection.proxy still names that
   * host and port. connection.proxy.hostKey (pinned) takes precedence.
   */
  expectedProxyHostKey?: string;
  /** A name for messages, e.g. the fleet's host name "db-1". */
  displayName?: string;
  /** Upper bound on all dial attempts together (default 60 s). */
  maxDialMs?: number;
}

/** Process-wide counters (benchmarks, and tests that count SSH connections in-process). */
export const transportStats = { sshConnections: 0, loginProbes: 0, execChannels: 0, jumpPathProbes: 0 };

const DEFAULT_USER = "root";
const DEFAULT_DIAL_ERROR_LIMIT = 10;
const DEFAULT_PER_DIAL_TIMEOUT_S = 15;
const DEFAULT_MAX_DIAL_MS = 60_000;
// Small backoff between dials: 200 ms doubling, capped at 1 s.
const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 1_000;

/** An open SSH connection to one host (and its jump host, if any). */
export class SshSession {
  /** Connections to the target host opened by this session (SSH + banner probes). */
  connections = 1;
  /** Exec channels opened (each one request/response exchange at least). */
  execs = 0;
  /** How long this session's own login took (TCP, key exchange, authentication): how slow a login is here, now. */
  loginMs = 0;

  constructor(
    readonly conn: ConnectionDeclaration,
    readonly label: string,
    readonly hostKey: string,
    readonly secrets: readonly string[],
    private readonly client: Client,
    private readonly proxy: Client | undefined,
    /** The jump host's key as seen, "<host>:<port> <type> <base64>" (record it: trust on first use). */
    readonly proxyHostKey?: string,
  ) {}

  error(kind: HostErrorKind, message: string, confirmed = false): HostError {
    return new HostError(this.conn.host, kind, message, { label: this.label, secrets: this.secrets, confirmed, hostKey: this.hostKey });
  }

  /** Starts `command` on a new channel of this connection. */
  exec(command: string): Promise<ClientChannel> {
    this.execs++;
    transportStats.execChannels++;
    return new Promise((resolve, reject) => {
      try {
        this.client.exec(command, (err, ch) => {
          if (err) reject(this.error("unreachable", `cannot start a command over SSH: ${err.message}`));
          else resolve(ch);
        });
      } catch (e) {
        reject(this.error("unreachable", `cannot start a command over SSH: ${(e as Error).message}`));
      }
    });
  }

  /**
   * Proves that a NEW SSH login still works after a change: a fresh TCP
   * connection (through the jump host if any: a new forwardOut, never a
   * channel of this connection, which rides its existing conntrack entry)
   * that completes the key exchange with the same host key as this session
   * (pinned or recorded) and authenticates. A banner alone is not enough:
   * egress rules can break the login (LDAP, SSSD, PAM) while sshd still
   * answers.
   */
  probeFreshConnection(totalMs: number, budget: ProbeBudget = {}): Promise<ProbeResult> {
    const expected = parseHostKey(this.hostKey);
    return probeWithinBudget(totalMs, async (ms) => {
      this.connections++;
      transportStats.loginProbes++;
      const outcome = await this.loginOnce(expected, ms);
      if (!outcome.ok) return { ok: false, reason: outcome.kind === "hostkey" ? "a different host key" : outcome.message };
      outcome.client.end();
      return { ok: true };
    }, budget);
  }

  /**
   * Proves that THIS host (as a jump host) can still open a new TCP
   * connection to `host:port` and that an SSH server answers there: a new
   * forwardOut through this session's connection (so the host's sshd dials
   * it: a new connection leaving the host, through its egress and the
   * target's ingress), within `totalMs` (probeWithinBudget.ts), each reading
   * the server's identification line ("SSH-…").
   */
  probeForwardedBanner(host: string, port: number, totalMs: number, budget: ProbeBudget = {}): Promise<ProbeResult> {
    return probeWithinBudget(totalMs, (ms) => {
      transportStats.jumpPathProbes++;
      return bannerThrough(this.client, host, port, ms);
    }, budget);
  }

  /** One fresh login within `ms`, the jump host's forwardOut included (it can hang on a dropped SYN). */
  private loginOnce(expected: ParsedHostKey, ms: number): Promise<DialOutcome> {
    const attempt = (async (): Promise<DialOutcome> => {
      try {
        const sock = this.proxy ? await forwardOut(this.proxy, this.conn.host, this.conn.port ?? DEFAULT_PORT) : undefined;
        return await dialOnce(this.conn, expected, sock, ms);
      } catch (e) {
        return { ok: false, kind: "unreachable", retryable: true, message: (e as Error).message };
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<DialOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, kind: "unreachable", retryable: true, message: `no SSH login within ${ms} ms` }), ms);
    });
    return Promise.race([attempt, timeout]).then((o) => {
      clearTimeout(timer);
      // A login that completes after the deadline is not needed any more.
      void attempt.then((late) => {
        if (late !== o && late.ok) late.client.end();
      });
      return o;
    });
  }

  /** Orderly close of the connection(s). */
  close(): void {
    this.client.end();
    this.proxy?.end();
    // end() waits for the peer; a host behind a ruleset that drops our
    // packets never answers, so do not let the socket linger.
    setTimeout(() => this.destroy(), 2_000).unref();
  }

  /** Abrupt close, as if the provider process died (test hooks). */
  destroy(): void {
    this.client.destroy();
    this.proxy?.destroy();
  }
}

/** Opens one SSH connection to `conn.host` (through conn.proxy if set), verifying its host key. */
export async function openSession(conn: ConnectionDeclaration, opts: SessionOptions = {}): Promise<SshSession> {
  const label = hostLabel(conn.host, conn.port, opts.displayName);
  const secrets = connectionSecrets(conn);
  const fail = (kind: HostErrorKind, msg: string) => new HostError(conn.host, kind, msg, { label, secrets });

  const pinnedText = conn.hostKey ?? opts.expectedHostKey;
  let expected: ParsedHostKey | undefined;
  if (pinnedText) {
    try {
      expected = parseHostKey(pinnedText);
    } catch (e) {
      const what = conn.hostKey ? "connection.hostKey" : "the recorded host key";
      throw fail("hostkey", `${what} is not usable: ${(e as Error).message}`);
    }
  }

  const deadline = Date.now() + (opts.maxDialMs ?? DEFAULT_MAX_DIAL_MS);
  let proxy: Client | undefined;
  let proxyHostKey: string | undefined;
  if (conn.proxy) {
    const p = conn.proxy;
    const proxyLabel = `jump host ${hostLabel(p.host, p.port)}`;
    const endpoint = `${p.host}:${p.port ?? DEFAULT_PORT}`;
    const recorded = !p.hostKey ? recordedProxyKey(opts.expectedProxyHostKey, endpoint) : undefined;
    const proxyExpected = p.hostKey ? parseProxyKey(p.hostKey, fail) : recorded ? parseProxyKey(recorded, fail) : undefined;
    const dialed = await dialWithRetries(p, deadline, proxyExpected, p.hostKey ? "proxy" : "proxy-recorded", (kind, msg) => fail(kind, `via ${proxyLabel}: ${msg}`), () =>
      Promise.resolve(undefined),
    );
    proxy = dialed.client;
    proxyHostKey = `${endpoint} ${dialed.seenKey}`;
  }

  try {
    const { client, seenKey, ms } = await dialWithRetries(conn, deadline, expected, conn.hostKey ? "pinned" : "recorded", fail, () =>
      proxy ? forwardOut(proxy, conn.host, conn.port ?? DEFAULT_PORT) : Promise.resolve(undefined),
    );
    transportStats.sshConnections++;
    const session = new SshSession(conn, label, seenKey, secrets, client, proxy, proxyHostKey);
    session.loginMs = ms;
    return session;
  } catch (e) {
    proxy?.end();
    throw e;
  }
}

/** The recorded jump host key if it was recorded for this endpoint ("host:port"), as "type base64". */
function recordedProxyKey(recorded: string | undefined, endpoint: string): string | undefined {
  if (!recorded) return undefined;
  const space = recorded.indexOf(" ");
  return space > 0 && recorded.slice(0, space) === endpoint ? recorded.slice(space + 1) : undefined;
}

function parseProxyKey(text: string, fail: (k: HostErrorKind, m: string) => HostError): ParsedHostKey {
  try {
    return parseHostKey(text);
  } catch (e) {
    throw fail("hostkey", `connection.proxy.hostKey is not usable: ${(e as Error).message}`);
  }
}

type Dialed = { client: Client; seenKey: string; ms: number };

/** Dials until connected, a non-retryable error, dialErrorLimit attempts, or the deadline. */
async function dialWithRetries(
  c: Omit<ConnectionDeclaration, "proxy" | "sudo">,
  deadline: number,
  expected: ParsedHostKey | undefined,
  expectedSource: KeySource,
  fail: (kind: HostErrorKind, msg: string) => HostError,
  makeSock: () => Promise<NodeJS.ReadableStream | undefined>,
): Promise<Dialed> {
  const limit = c.dialErrorLimit === undefined || c.dialErrorLimit === 0 ? DEFAULT_DIAL_ERROR_LIMIT : c.dialErrorLimit;
  let backoff = BACKOFF_FIRST_MS;
  for (let attempt = 1; ; attempt++) {
    let outcome: DialOutcome;
    try {
      const sock = await makeSock();
      outcome = await dialOnce(c, expected, sock, Math.max(1_000, Math.min(deadline - Date.now(), (c.perDialTimeout ?? DEFAULT_PER_DIAL_TIMEOUT_S) * 1000)));
    } catch (e) {
      outcome = { ok: false, kind: "unreachable", retryable: true, message: (e as Error).message };
    }
    if (outcome.ok) return outcome;
    if (outcome.kind === "hostkey" && outcome.seen && expected?.form === "fingerprint") {
      // A fingerprint does not say its key type: the host presented the key
      // it prefers; ask for each of its other types before calling it changed.
      outcome = await dialOtherKeyTypes(c, expected, outcome.seen, makeSock, deadline);
      if (outcome.ok) return outcome;
    }
    if (outcome.kind === "hostkey" && outcome.seen) {
      throw fail("hostkey", hostKeyMessage(c.host, expected!, outcome.seen, expectedSource));
    }
    if (outcome.kind === "hostkey" && outcome.missingType && expected?.form === "key") {
      throw fail("hostkey", missingKeyTypeMessage(c.host, expected, expectedSource));
    }
    const outOfTries = limit > 0 && attempt >= limit;
    if (!outcome.retryable || outOfTries || Date.now() + backoff >= deadline) {
      const tries = attempt > 1 ? ` (after ${attempt} attempts)` : "";
      throw fail(outcome.kind, `${outcome.message}${tries}`);
    }
    await sleep(backoff);
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
  }
}

/**
 * Dials again offering only the key types the host has not presented yet,
 * until it presents the pinned fingerprint's key (connected) or has no other
 * type (the first mismatch stands). At most one dial per key type.
 */
async function dialOtherKeyTypes(
  c: Omit<ConnectionDeclaration, "proxy" | "sudo">,
  expected: ParsedHostKey,
  firstSeen: Buffer,
  makeSock: () => Promise<NodeJS.ReadableStream | undefined>,
  deadline: number,
): Promise<DialOutcome> {
  const presented = new Set([blobType(firstSeen)]);
  const mismatch: DialOutcome = { ok: false, kind: "hostkey", retryable: false, message: "host key mismatch", seen: firstSeen };
  for (;;) {
    const offer = otherKeyAlgorithms(presented);
    if (!offer || Date.now() >= deadline) return mismatch;
    let o: DialOutcome;
    try {
      o = await dialOnce(c, expected, await makeSock(), Math.max(1_000, Math.min(deadline - Date.now(), (c.perDialTimeout ?? DEFAULT_PER_DIAL_TIMEOUT_S) * 1000)), offer);
    } catch {
      return mismatch;
    }
    if (o.ok) return o;
    if (o.kind !== "hostkey" || !o.seen) return mismatch; // no key of the types left (or the dial failed): the first answer stands
    const type = blobType(o.seen);
    if (presented.has(type)) return mismatch;
    presented.add(type);
  }
}

/** Where the expected key came from: pinned by the user, recorded on first use, or the jump host's pin. */
type KeySource = "pinned" | "recorded" | "proxy" | "proxy-recorded";

function hostKeyMessage(host: string, expected: ParsedHostKey, seen: Buffer, source: KeySource): string {
  const exp = parsedFingerprint(expected);
  const got = fingerprint(seen);
  return `host key for ${host} changed: expected ${exp}, got ${got} (${formatHostKey(seen).split(" ")[0]}); ${hostKeyAdvice(source)}. No command was run.`;
}

function missingKeyTypeMessage(host: string, expected: ParsedHostKey & { form: "key" }, source: KeySource): string {
  return (
    `host key for ${host} changed: expected ${parsedFingerprint(expected)} (${expected.type}), but the host has no ${expected.type} host key; ` +
    `${hostKeyAdvice(source)}. No command was run.`
  );
}

function hostKeyAdvice(source: KeySource): string {
  return source === "pinned"
    ? "if the host was legitimately rebuilt, update the pinned connection.hostKey to the new key"
    : source === "proxy"
      ? "if the jump host was legitimately rebuilt, update connection.proxy.hostKey to the new key"
      : source === "proxy-recorded"
        ? "this jump host's key was recorded on first use; if it was legitimately rebuilt, pin its new key with connection.proxy.hostKey (verify it out of band first); otherwise this may be a man-in-the-middle"
        : "if the host was legitimately rebuilt, pin its new key with connection.hostKey (verify it out of band first); otherwise this may be a man-in-the-middle";
}

type DialOutcome =
  | { ok: true; client: Client; seenKey: string; ms: number }
  | { ok: false; kind: HostErrorKind; retryable: boolean; message: string; seen?: Buffer; missingType?: boolean };

const RETRYABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ECONNABORTED"]);

function dialOnce(
  c: Omit<ConnectionDeclaration, "proxy" | "sudo">,
  expected: ParsedHostKey | undefined,
  sock: NodeJS.ReadableStream | undefined,
  timeoutMs: number,
  /** Host key algorithms to offer instead of the expected key's (dialOtherKeyTypes). */
  offer?: string[],
): Promise<DialOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const client = new Client();
    let seen: Buffer | undefined;
    let mismatch = false;
    let settled = false;
    const done = (o: DialOutcome) => {
      if (settled) return;
      settled = true;
      if (!o.ok) client.destroy();
      resolve(o);
    };
    const algorithms = offer ?? hostKeyAlgorithms(expected);
    const cfg: ConnectConfig = {
      host: c.host,
      port: c.port ?? DEFAULT_PORT,
      username: c.user ?? DEFAULT_USER,
      readyTimeout: timeoutMs,
      keepaliveInterval: 5_000,
      keepaliveCountMax: 3,
      hostVerifier: ((key: Buffer) => {
        seen = Buffer.from(key);
        if (expected && !hostKeyMatches(expected, key)) {
          mismatch = true;
          return false; // refused before authentication: no command can run
        }
        return true;
      }) as ConnectConfig["hostVerifier"],
    };
    if (algorithms) cfg.algorithms = { serverHostKey: algorithms as ServerHostKeyAlgorithm[] };
    if (sock) cfg.sock = sock as ConnectConfig["sock"];
    if (c.privateKey) cfg.privateKey = c.privateKey;
    if (c.privateKeyPassword) cfg.passphrase = c.privateKeyPassword;
    if (c.password) cfg.password = c.password;
    if (c.agentSocketPath) cfg.agent = c.agentSocketPath;

    client.on("ready", () => {
      if (!seen) return done({ ok: false, kind: "hostkey", retryable: false, message: "the server presented no host key" });
      done({ ok: true, client, seenKey: formatHostKey(seen), ms: Date.now() - started });
    });
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      if (mismatch) return done({ ok: false, kind: "hostkey", retryable: false, message: "host key mismatch", seen });
      // Only the expected key's algorithms were offered (hostKeyAlgorithms)
      // and the host has none of them: it has no key of that type.
      if (algorithms && !seen && err.level === "handshake" && /host key/i.test(err.message)) {
        return done({ ok: false, kind: "hostkey", retryable: false, message: "no host key of the expected type", missingType: true });
      }
      done(classify(err));
    });
    client.on("close", () => done({ ok: false, kind: "unreachable", retryable: true, message: "the connection closed during the SSH handshake" }));
    try {
      client.connect(cfg);
      // Nagle off (TCP_NODELAY): the handshake and the program's exchanges
      // are small writes back to back (NEWKEYS then SERVICE_REQUEST, ...),
      // and with Nagle each second one waits for the peer's delayed ACK
      // (40 ms on Linux): a loopback login took 150 ms instead of 13 ms.
      // Applied on connect when the socket is not open yet; a jump host's
      // forwarded channel (cfg.sock) is not a TCP socket and ignores it.
      client.setNoDelay(true);
    } catch (e) {
      // Synchronous: an unparsable key, a wrong passphrase, a bad option.
      done({ ok: false, kind: "auth", retryable: false, message: `cannot use the SSH credentials: ${(e as Error).message}` });
    }
  });
}

function classify(err: Error & { level?: string; code?: string }): DialOutcome & { ok: false } {
  // TCP connected, then closed before the server's identification line: sshd
  // shedding load (MaxStartups), starting or stopping, a port-forward whose
  // backend is down. Transient, like a reset.
  if (err.level === "protocol" && err.message === "Connection lost before handshake") {
    return { ok: false, kind: "unreachable", retryable: true, message: "the connection closed during the SSH handshake" };
  }
  if (err.level === "client-authentication") {
    return { ok: false, kind: "auth", retryable: false, message: `SSH authentication failed (${err.message})` };
  }
  if (err.level === "client-timeout") {
    return { ok: false, kind: "unreachable", retryable: true, message: "timed out waiting for the SSH handshake" };
  }
  if (err.level === "agent") {
    return { ok: false, kind: "auth", retryable: false, message: `SSH agent error: ${err.message}` };
  }
  if (err.code && RETRYABLE_CODES.has(err.code)) {
    return { ok: false, kind: "unreachable", retryable: true, message: `cannot connect: ${err.code} (${err.message})` };
  }
  if (err.code === "ENOTFOUND") {
    return { ok: false, kind: "unreachable", retryable: false, message: `cannot resolve host name (${err.message})` };
  }
  if (err.level === "handshake" || err.level === "protocol") {
    return { ok: false, kind: "unreachable", retryable: false, message: `SSH handshake failed: ${err.message}` };
  }
  return { ok: false, kind: "unreachable", retryable: true, message: `SSH connection failed: ${err.message}` };
}

/** A TCP connection from the jump host to the target, used as the target SSH connection's socket. */
function forwardOut(proxy: Client, host: string, port: number): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    proxy.forwardOut("127.0.0.1", 0, host, port, (err, stream) => {
      if (err) reject(new Error(`the jump host cannot connect to ${host}:${port}: ${err.message}`));
      else {
        // Errors surface through the SSH client using it; never unhandled.
        stream.on("error", () => undefined);
        resolve(stream);
      }
    });
  });
}

/**
 * A new TCP connection from the host `via` is connected to, to host:port, up
 * to the SSH server's identification line, within `ms`. The channel is
 * closed either way; a forwardOut still pending at the deadline (its SYN
 * dropped: the host's sshd is still dialling) is closed when it opens.
 */
function bannerThrough(via: Client, host: string, port: number, ms: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    let channel: ClientChannel | undefined;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      channel?.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: `no SSH banner from ${host}:${port} within ${ms} ms` }), ms);
    try {
      via.forwardOut("127.0.0.1", 0, host, port, (err, stream) => {
        if (err) return done({ ok: false, reason: `cannot connect to ${host}:${port} (${err.message})` });
        if (settled) return void stream.destroy();
        channel = stream;
        let seen = "";
        stream.on("error", () => undefined);
        stream.on("data", (d: Buffer) => {
          seen += d.toString("latin1");
          const eol = seen.indexOf("\n");
          if (eol < 0 && seen.length < 256) return;
          const line = (eol < 0 ? seen : seen.slice(0, eol)).replace(/\r$/, "");
          done(line.startsWith("SSH-") ? { ok: true } : { ok: false, reason: `${host}:${port} answered, but not as an SSH server (${JSON.stringify(line.slice(0, 40))})` });
        });
        stream.on("close", () => done({ ok: false, reason: `the connection to ${host}:${port} closed before an SSH banner` }));
      });
    } catch (e) {
      done({ ok: false, reason: `cannot connect to ${host}:${port} (${(e as Error).message})` });
    }
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
