#!/usr/bin/env node
// nftsg lab agent: one long-lived process per lab host, started inside the
// host's namespaces (`ip netns exec NS node agent.cjs SOCKET`), plus one in the
// root namespace for the runner. It serves newline-delimited JSON requests on
// a Unix socket (Unix sockets are not network-namespaced, so the test process
// reaches every agent) and opens real sockets from inside its host:
//   {"id":1,"op":"listen","proto":"tcp"|"udp","ports":[80]}
//   {"id":2,"op":"unlisten","proto":"tcp"|"udp","ports":[80]}
//   {"id":3,"op":"probe","probes":[{"to":"198.18.1.12","proto":"tcp","port":80,"timeoutMs":1000}]}
//   {"id":4,"op":"status"}
// Replies: {"id":N,"ok":true,"result":...} or {"id":N,"ok":false,"error":"..."}.
// Plain CommonJS with no dependencies, so `node` runs it from the source tree
// and from dist/ alike. It exits when its socket file disappears (lab removed).
"use strict";

const net = require("node:net");
const dgram = require("node:dgram");
const fs = require("node:fs");
const crypto = require("node:crypto");
const { spawn } = require("node:child_process");

const MAX_TIMEOUT_MS = 10000;
const MAX_PROBES_PER_REQUEST = 5000;
const MAX_LINE = 4 * 1024 * 1024;

// Only lab addresses and loopback may ever be targeted.
const allowed = new net.BlockList();
allowed.addSubnet("198.18.0.0", 15, "ipv4");
allowed.addSubnet("127.0.0.0", 8, "ipv4");
allowed.addSubnet("2001:db8::", 32, "ipv6");
allowed.addAddress("::1", "ipv6");

function isLabAddress(addr) {
  const family = net.isIP(addr);
  return family !== 0 && allowed.check(addr, family === 4 ? "ipv4" : "ipv6");
}

/** Counting semaphore: bounds parallel sockets and ping processes. */
function semaphore(limit) {
  let active = 0;
  const waiting = [];
  return async function run(fn) {
    if (active >= limit) await new Promise((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      const next = waiting.shift();
      if (next) next();
    }
  };
}
const probeSlot = semaphore(128);
const pingSlot = semaphore(16);

// ---- listeners ------------------------------------------------------------

const listeners = new Map(); // "tcp:80" -> { close() }

function listenTcp(port) {
  return new Promise((resolve, reject) => {
    const conns = new Set();
    const server = net.createServer((sock) => {
      conns.add(sock);
      sock.on("error", () => {});
      sock.on("close", () => conns.delete(sock));
      sock.pipe(sock); // echo
    });
    server.once("error", reject);
    // "::" with ipv6Only false accepts IPv4 too (as ::ffff:a.b.c.d).
    server.listen({ port, host: "::", ipv6Only: false }, () => {
      server.off("error", reject);
      server.on("error", () => {});
      resolve({
        close() {
          server.close();
          for (const c of conns) c.destroy();
        },
      });
    });
  });
}

function listenUdp(port) {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: "udp6", ipv6Only: false });
    sock.on("message", (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address, () => {}));
    sock.once("error", reject);
    sock.bind(port, "::", () => {
      sock.off("error", reject);
      sock.on("error", () => {});
      resolve({ close: () => sock.close() });
    });
  });
}

async function listen(proto, ports) {
  for (const port of ports) {
    const key = `${proto}:${port}`;
    if (listeners.has(key)) continue;
    listeners.set(key, await (proto === "tcp" ? listenTcp(port) : listenUdp(port)));
  }
}

function unlisten(proto, ports) {
  for (const port of ports) {
    const key = `${proto}:${port}`;
    const l = listeners.get(key);
    if (l) l.close();
    listeners.delete(key);
  }
}

// ---- probes ---------------------------------------------------------------

/**
 * Timeout that yields to pending I/O first: timers run before the poll phase,
 * so on a busy machine a connect that completed in time could otherwise lose
 * to its own timer. setImmediate runs after poll, letting the result land.
 */
function deadline(ms, onTimeout) {
  return setTimeout(() => setImmediate(onTimeout), ms);
}

function probeTcp(to, port, timeoutMs) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: to, port });
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = deadline(timeoutMs, () => finish(false));
    sock.once("connect", () => finish(true));
    sock.once("error", () => finish(false));
  });
}

function probeUdp(to, port, timeoutMs) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(to) ? "udp6" : "udp4");
    const payload = Buffer.from(`nftsg-probe ${crypto.randomBytes(8).toString("hex")}`);
    const timers = [];
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      timers.forEach(clearTimeout);
      try {
        sock.close();
      } catch {}
      resolve(ok);
    };
    const send = () => {
      if (!done) sock.send(payload, () => {}); // a failed send is covered by the retry
    };
    sock.on("message", (msg) => msg.equals(payload) && finish(true));
    // A connected UDP socket reports ICMP port-unreachable as ECONNREFUSED:
    // a definite "closed". Other errors may be transient; the retry decides.
    sock.on("error", (err) => err && err.code === "ECONNREFUSED" && finish(false));
    timers.push(deadline(timeoutMs, () => finish(false)));
    sock.connect(port, to, (err) => {
      if (err) return finish(false);
      send();
      timers.push(setTimeout(send, Math.floor(timeoutMs / 2))); // one retry
    });
  });
}

function probeIcmp(to, timeoutMs) {
  return pingSlot(
    () =>
      new Promise((resolve) => {
        const args = [net.isIPv6(to) ? "-6" : "-4", "-c1", "-n", "-q", "-W", (timeoutMs / 1000).toFixed(3), to];
        const child = spawn("ping", args, { stdio: "ignore" });
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs + 1000);
        child.on("error", () => {
          clearTimeout(timer);
          resolve(false);
        });
        child.on("exit", (code) => {
          clearTimeout(timer);
          resolve(code === 0);
        });
      }),
  );
}

// fping sends one echo request to each of many targets from a single process;
// spawning `ping` per probe costs ~5 ms of CPU each, which dominates large
// ICMP matrices. Used when installed; `ping` is the fallback.
const FPING = ["/usr/bin/fping", "/usr/sbin/fping", "/bin/fping"].find((p) => fs.existsSync(p));
const FPING_MAX_TARGETS = 256;

/** Map of target -> replied, for distinct targets sharing one timeout. */
function fpingBatch(targets, timeoutMs) {
  return pingSlot(
    () =>
      new Promise((resolve) => {
        const replied = new Map(targets.map((t) => [t, false]));
        const args = ["-c1", "-r0", "-i1", "-q", "-t", String(Math.max(1, Math.round(timeoutMs))), ...targets];
        const child = spawn(FPING, args, { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (d) => (err += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs + targets.length + 2000);
        const finish = () => {
          clearTimeout(timer);
          // "198.18.1.11 : xmt/rcv/%loss = 1/1/0%, min/avg/max = ..."
          for (const line of err.split("\n")) {
            const m = /^(\S+)\s+:\s+xmt\/rcv\/%loss = \d+\/(\d+)\//.exec(line);
            if (m && replied.has(m[1])) replied.set(m[1], Number(m[2]) > 0);
          }
          resolve(replied);
        };
        child.on("error", finish);
        child.on("close", finish);
      }),
  );
}

/** ICMP results for many probes: batched through fping when available. */
async function probeIcmpMany(probes) {
  if (!FPING) return Promise.all(probes.map((p) => probeIcmp(p.to, p.timeoutMs)));
  const byTimeout = new Map();
  for (const p of probes) {
    const set = byTimeout.get(p.timeoutMs) || new Set();
    set.add(p.to);
    byTimeout.set(p.timeoutMs, set);
  }
  const results = new Map(); // "timeout|to" -> boolean
  const jobs = [];
  for (const [timeoutMs, set] of byTimeout) {
    const targets = [...set];
    for (let i = 0; i < targets.length; i += FPING_MAX_TARGETS) {
      const chunk = targets.slice(i, i + FPING_MAX_TARGETS);
      jobs.push(fpingBatch(chunk, timeoutMs).then((m) => m.forEach((ok, to) => results.set(`${timeoutMs}|${to}`, ok))));
    }
  }
  await Promise.all(jobs);
  return probes.map((p) => results.get(`${p.timeoutMs}|${p.to}`) === true);
}

function checkProbe(p) {
  if (!p || typeof p !== "object") throw new Error("probe must be an object");
  if (!isLabAddress(p.to)) throw new Error(`refusing to probe ${JSON.stringify(p.to)}: not a lab address`);
  if (!["tcp", "udp", "icmp"].includes(p.proto)) throw new Error(`bad proto ${JSON.stringify(p.proto)}`);
  if (p.proto !== "icmp" && !(Number.isInteger(p.port) && p.port > 0 && p.port < 65536)) {
    throw new Error(`bad port ${JSON.stringify(p.port)}`);
  }
  const t = p.timeoutMs === undefined ? 1000 : p.timeoutMs;
  if (!(Number.isFinite(t) && t > 0 && t <= MAX_TIMEOUT_MS)) throw new Error(`bad timeoutMs ${t}`);
  return { to: p.to, proto: p.proto, port: p.port, timeoutMs: t };
}

function probeSocket(p) {
  return probeSlot(() => (p.proto === "tcp" ? probeTcp(p.to, p.port, p.timeoutMs) : probeUdp(p.to, p.port, p.timeoutMs)));
}

/** Runs a batch: sockets for tcp/udp, ICMP batched; results in request order. */
async function runProbes(probes) {
  const icmpIdx = [];
  const results = new Array(probes.length);
  const jobs = probes.map((p, i) => {
    if (p.proto === "icmp") {
      icmpIdx.push(i);
      return null;
    }
    return probeSocket(p).then((ok) => (results[i] = ok));
  });
  const icmp = probeIcmpMany(icmpIdx.map((i) => probes[i])).then((r) => r.forEach((ok, k) => (results[icmpIdx[k]] = ok)));
  await Promise.all([...jobs.filter(Boolean), icmp]);
  return results;
}

// ---- protocol -------------------------------------------------------------

function checkPorts(proto, ports) {
  if (proto !== "tcp" && proto !== "udp") throw new Error(`bad proto ${JSON.stringify(proto)}`);
  if (!Array.isArray(ports) || !ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) {
    throw new Error(`bad ports ${JSON.stringify(ports)}`);
  }
}

async function dispatch(req) {
  switch (req.op) {
    case "listen":
      checkPorts(req.proto, req.ports);
      await listen(req.proto, req.ports);
      return null;
    case "unlisten":
      checkPorts(req.proto, req.ports);
      unlisten(req.proto, req.ports);
      return null;
    case "probe": {
      if (!Array.isArray(req.probes) || req.probes.length > MAX_PROBES_PER_REQUEST) throw new Error("bad probes");
      const probes = req.probes.map(checkProbe); // validate all before sending anything
      return runProbes(probes);
    }
    case "status":
      return { pid: process.pid, fping: Boolean(FPING), listeners: [...listeners.keys()].sort() };
    default:
      throw new Error(`unknown op ${JSON.stringify(req.op)}`);
  }
}

function handle(conn, line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  const reply = (msg) => {
    if (conn.writable) conn.write(JSON.stringify({ id: req.id, ...msg }) + "\n");
  };
  dispatch(req).then(
    (result) => reply({ ok: true, result }),
    (err) => reply({ ok: false, error: String((err && err.message) || err) }),
  );
}

function main() {
  const socketPath = process.argv[2];
  if (!socketPath) {
    process.stderr.write("usage: agent.cjs SOCKET\n");
    process.exit(2);
  }
  try {
    fs.unlinkSync(socketPath);
  } catch {}
  const server = net.createServer((conn) => {
    let buf = "";
    conn.setEncoding("utf8");
    conn.on("error", () => {});
    conn.on("data", (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim() !== "") handle(conn, line);
      }
      if (buf.length > MAX_LINE) conn.destroy();
    });
  });
  server.listen(socketPath, () => fs.chmodSync(socketPath, 0o600));
  // The lab directory (and so the socket) vanishing means the lab is gone.
  setInterval(() => fs.existsSync(socketPath) || process.exit(0), 2000);
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(sig, () => process.exit(0));
  // One bad request must not take the host's agent down with it.
  process.on("uncaughtException", (err) => process.stderr.write(`agent: ${err && err.stack}\n`));
}

main();
