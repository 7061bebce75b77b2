// An SSH server inside the test process (ssh2's Server on 127.0.0.1, an
// ephemeral port): the transport's tests (test/unit/sshTransport.test.ts)
// run against it without root, network namespaces or a real sshd, in the
// manner of pulumi-command's provider tests.
//
// What it does, and nothing more:
// - host keys given by the test (generate them once per test file with
//   generateKeyPair); useHostKeys() swaps them for the connections that
//   arrive afterwards, as a rebuilt host or a man in the middle would;
// - public-key (signature verified) and password authentication against a
//   list of users;
// - exec requests handed to `onExec`, which each test scripts through an
//   ExecCall: stdout, stderr, exit status or signal, or the TCP connection
//   dropped mid-command;
// - direct-tcpip (a jump host's forwardOut), to 127.0.0.1 only;
// - `logins` says what happens to NEW connections: accepted, closed at once,
//   left silent (a dropped SYN, as far as the client can tell), or refused
//   at authentication (a login broken by PAM/LDAP while sshd still answers).
//
// Everything it sees is recorded (tcpConnections, auths, execs, forwards)
// and emitted as an event ("tcp", "auth", "exec", "forward", "disconnect"),
// so tests wait on what the server reports, never on time; idle() waits
// until every connection has closed (between tests).
import { EventEmitter, once } from "node:events";
import * as net from "node:net";
import { StringDecoder } from "node:string_decoder";
import { Server, utils, type AuthContext, type Connection, type ServerChannel } from "ssh2";

/** A key pair as ssh2 makes it: `private` in OpenSSH form, `public` as "ssh-ed25519 AAAA…" (no comment). */
export interface KeyPair {
  private: string;
  public: string;
}

/** A fresh key pair; with `passphrase`, the private key is encrypted (aes256-ctr, few bcrypt rounds: fast). */
export function generateKeyPair(type: "ed25519" | "ecdsa" | "rsa" = "ed25519", opts: { passphrase?: string } = {}): KeyPair {
  const keyOpts: Record<string, unknown> = {};
  if (type === "ecdsa") keyOpts.bits = 256;
  if (type === "rsa") keyOpts.bits = 2048;
  if (opts.passphrase) Object.assign(keyOpts, { passphrase: opts.passphrase, cipher: "aes256-ctr", rounds: 4 });
  const generate = utils.generateKeyPairSync as (t: string, o: Record<string, unknown>) => { private: string; public: string };
  const pair = generate(type, keyOpts);
  const [algo, blob] = pair.public.trim().split(/\s+/);
  return { private: pair.private, public: `${algo} ${blob}` };
}

export interface SshUser {
  username: string;
  password?: string;
  /** Authorised public keys, "ssh-ed25519 AAAA…". */
  publicKeys?: string[];
}

/** What happens to a new TCP connection. */
export type LoginPolicy = "accept" | "close" | "silent" | "refuse-auth";

export interface AuthRecord {
  connection: number;
  username: string;
  method: AuthContext["method"];
  accepted: boolean;
}

export interface ForwardRecord {
  connection: number;
  destIP: string;
  destPort: number;
  allowed: boolean;
}

/** One exec request, as the server received it; the handler answers through it. */
export class ExecCall {
  /** Everything the client has written to the command's stdin so far. */
  stdin = "";
  /** True once the client sent EOF on stdin. */
  stdinEnded = false;
  /** Resolves once the channel is closed (either side, or the connection). */
  readonly closed: Promise<void>;
  private readonly waiters = new Set<() => void>();
  private done = false;

  constructor(
    readonly command: string,
    readonly username: string,
    /** Which TCP connection (1, 2, …) the request came on. */
    readonly connection: number,
    private readonly stream: ServerChannel,
    private readonly socket: net.Socket,
  ) {
    const decoder = new StringDecoder("utf8");
    stream.on("data", (d: Buffer) => {
      this.stdin += decoder.write(d);
      this.wake();
    });
    stream.on("end", () => {
      this.stdin += decoder.end();
      this.stdinEnded = true;
      this.wake();
    });
    stream.on("error", () => undefined);
    this.closed = new Promise((resolve) => {
      stream.on("close", () => {
        this.done = true;
        this.wake();
        resolve();
      });
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true once `predicate(stdin)` holds, false if stdin ended or the channel closed first. */
  untilInput(predicate: (stdin: string) => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (predicate(this.stdin)) finish(true);
        else if (this.stdinEnded || this.done) finish(false);
      };
      const finish = (v: boolean) => {
        this.waiters.delete(check);
        resolve(v);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves with all of stdin once the client sent EOF (or the channel closed). */
  inputEnded(): Promise<string> {
    return this.untilInput(() => false).then(() => this.stdin);
  }

  /** Writes to the command's stdout. */
  out(data: string | Buffer): void {
    if (!this.done) this.stream.write(data);
  }

  /** Writes to the command's stderr. */
  err(data: string | Buffer): void {
    if (!this.done) this.stream.stderr.write(data);
  }

  /** Ends the command with an exit status (exit-status, EOF, close). */
  exit(code: number): void {
    if (this.done) return;
    this.stream.exit(code);
    this.stream.end();
  }

  /** Ends the command as killed by a signal ("KILL", "TERM": without "SIG"). */
  kill(signal: string): void {
    if (this.done) return;
    this.stream.exit(signal, false, "");
    this.stream.end();
  }

  /** Drops the whole TCP connection now: no exit status, no SSH disconnect (a crash, a cable, a firewall). */
  dropConnection(): void {
    this.socket.destroy();
  }
}

export type ExecHandler = (call: ExecCall) => void | Promise<void>;

/** A handler for simple cases: writes stdout and stderr, then exits with `code`, is killed by `signal`, or drops the connection. */
export function reply(r: { stdout?: string | Buffer; stderr?: string; code?: number; signal?: string; drop?: boolean }): ExecHandler {
  return (call) => {
    if (r.stdout !== undefined) call.out(r.stdout);
    if (r.stderr !== undefined) call.err(r.stderr);
    if (r.drop) call.dropConnection();
    else if (r.signal) call.kill(r.signal);
    else call.exit(r.code ?? 0);
  };
}

const noHandler: ExecHandler = (call) => {
  call.err(`no exec handler scripted for ${JSON.stringify(call.command)}\n`);
  call.exit(127);
};

export interface InProcessSshOptions {
  hostKeys: KeyPair[];
  users: SshUser[];
  onExec?: ExecHandler;
}

export class InProcessSsh extends EventEmitter {
  readonly host = "127.0.0.1";
  port = 0;
  /** What happens to connections that arrive from now on. */
  logins: LoginPolicy = "accept";
  /** Refuse exec requests (the channel request fails). */
  refuseExec = false;
  /** Connections that arrive from now on wait this long before the server's banner (a busy host's slow login). */
  handshakeDelayMs = 0;
  onExec: ExecHandler;
  users: SshUser[];
  tcpConnections = 0;
  auths: AuthRecord[] = [];
  execs: ExecCall[] = [];
  forwards: ForwardRecord[] = [];
  /** Exceptions thrown by exec handlers (a test bug, not the client's): tests assert it stays empty. */
  handlerErrors: Error[] = [];
  private keys: KeyPair[];
  private ssh: Server;
  private readonly listener: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Accepted SSH sockets by their remote (client) port, which ssh2 reports with each connection. */
  private readonly byClientPort = new Map<number, { socket: net.Socket; id: number }>();

  constructor(opts: InProcessSshOptions) {
    super();
    this.keys = opts.hostKeys;
    this.users = opts.users;
    this.onExec = opts.onExec ?? noHandler;
    this.ssh = this.sshServer(this.keys);
    this.listener = net.createServer((socket) => this.accept(socket));
  }

  /** The first host key, as a client records it ("ssh-ed25519 AAAA…"). */
  get hostKey(): string {
    return this.keys[0]!.public;
  }

  /** Presents `keys` to the connections that arrive from now on (a rebuilt host, or a man in the middle). */
  useHostKeys(keys: KeyPair[]): void {
    this.keys = keys;
    this.ssh = this.sshServer(keys);
  }

  /** Forgets what was recorded and restores the defaults (between tests sharing a server). */
  reset(): void {
    this.logins = "accept";
    this.refuseExec = false;
    this.handshakeDelayMs = 0;
    this.onExec = noHandler;
    this.tcpConnections = 0;
    this.auths = [];
    this.execs = [];
    this.forwards = [];
    this.handlerErrors = [];
  }

  /** Resolves with the next "exec" (or other) event's first argument. */
  async next<T = ExecCall>(event: "exec" | "auth" | "tcp" | "forward" | "disconnect" = "exec"): Promise<T> {
    const [v] = await once(this, event);
    return v as T;
  }

  async listen(): Promise<this> {
    this.listener.listen(0, this.host);
    await once(this.listener, "listening");
    this.port = (this.listener.address() as net.AddressInfo).port;
    return this;
  }

  /** Destroys every connection and stops listening. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (!this.listener.listening) return;
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  /** Resolves once every connection (and forwarded socket) has closed: between tests, so nothing late leaks into the next one's records. */
  async idle(): Promise<void> {
    while (this.sockets.size > 0) await once(this, "socket-closed");
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => {
      this.sockets.delete(socket);
      this.emit("socket-closed");
    });
    socket.on("error", () => undefined);
  }

  private accept(socket: net.Socket): void {
    this.track(socket);
    socket.setNoDelay(true);
    const id = ++this.tcpConnections;
    this.emit("tcp", id);
    if (this.logins === "close") return void socket.destroy();
    // Held open, never answered; what the client sends is read and dropped, so its close is seen.
    if (this.logins === "silent") return void socket.resume();
    const port = socket.remotePort!;
    this.byClientPort.set(port, { socket, id });
    socket.on("close", () => this.byClientPort.delete(port));
    const delay = this.handshakeDelayMs;
    if (delay > 0) setTimeout(() => { if (!socket.destroyed) this.ssh.injectSocket(socket); }, delay);
    else this.ssh.injectSocket(socket);
  }

  private sshServer(keys: KeyPair[]): Server {
    const server = new Server({ hostKeys: keys.map((k) => k.private) });
    server.on("connection", (conn: Connection, info: { port: number }) => {
      const known = this.byClientPort.get(info.port);
      if (known) this.serve(conn, known.socket, known.id);
      else conn.end(); // its socket closed meanwhile
    });
    server.on("error", () => undefined);
    return server;
  }

  private serve(conn: Connection, socket: net.Socket, id: number): void {
    let username = "";
    const refuse = this.logins === "refuse-auth";
    conn.on("error", () => undefined);
    conn.on("close", () => this.emit("disconnect", id));
    conn.on("authentication", (ctx) => {
      const accepted = !refuse && this.authorised(ctx);
      if (ctx.method !== "publickey" || (ctx as { signature?: Buffer }).signature || !accepted) {
        const rec: AuthRecord = { connection: id, username: ctx.username, method: ctx.method, accepted };
        this.auths.push(rec);
        this.emit("auth", rec);
      }
      if (accepted) {
        username = ctx.username;
        ctx.accept();
      } else ctx.reject(["publickey", "password"]);
    });
    conn.on("session", (acceptSession) => {
      const session = acceptSession();
      session.on("exec", (accept, reject, info) => {
        if (this.refuseExec) return void reject?.();
        const call = new ExecCall(info.command, username, id, accept(), socket);
        this.execs.push(call);
        this.emit("exec", call);
        Promise.resolve()
          .then(() => this.onExec(call))
          .catch((e: Error) => {
            this.handlerErrors.push(e);
            call.err(`exec handler failed: ${e.message}\n`);
            call.exit(255);
          });
      });
    });
    conn.on("tcpip", (accept, reject, info) => {
      const allowed = info.destIP === "127.0.0.1" || info.destIP === "localhost";
      const rec: ForwardRecord = { connection: id, destIP: info.destIP, destPort: info.destPort, allowed };
      this.forwards.push(rec);
      this.emit("forward", rec);
      if (!allowed) return void reject?.();
      const upstream = net.connect(info.destPort, "127.0.0.1");
      this.track(upstream);
      upstream.once("error", () => reject?.());
      upstream.once("connect", () => {
        const ch = accept();
        ch.on("error", () => undefined);
        ch.pipe(upstream).pipe(ch);
        ch.on("close", () => upstream.destroy());
        upstream.on("close", () => ch.destroy());
      });
    });
  }

  private authorised(ctx: AuthContext): boolean {
    const user = this.users.find((u) => u.username === ctx.username);
    if (!user) return false;
    if (ctx.method === "password") return user.password !== undefined && ctx.password === user.password;
    if (ctx.method !== "publickey") return false;
    for (const text of user.publicKeys ?? []) {
      const key = utils.parseKey(text);
      if (key instanceof Error) throw key;
      if (ctx.key.algo !== key.type || !ctx.key.data.equals(key.getPublicSSH())) continue;
      // Without a signature the client only asks whether the key would do.
      if (!ctx.signature) return true;
      return key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true;
    }
    return false;
  }
}

/** Starts a server on 127.0.0.1, ephemeral port. Close it in afterEach/afterAll. */
export function startSshServer(opts: InProcessSshOptions): Promise<InProcessSsh> {
  return new InProcessSsh(opts).listen();
}
