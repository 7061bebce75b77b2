// The lockout check nftsg used before issue 9 (kept here only for the probe
// benchmark, bench/probe.ts): a brand-new TCP connection to the SSH port that
// receives sshd's identification line ("SSH-2.0-..."). It costs one TCP
// handshake and no authentication, and proves less than the login probe that
// replaced it (provider/host/ssh.ts probeFreshConnection).
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";

export type BannerResult = { ok: true; banner: string } | { ok: false; reason: string };

// RFC 4253 §4.2: the server may send other lines before its version line.
const MAX_PRELUDE_BYTES = 8192;

/** Reads the SSH banner from host:port, directly or through a jump host's forwardOut. */
export function probeBanner(host: string, port: number, timeoutMs: number, via?: Client): Promise<BannerResult> {
  return new Promise((resolve) => {
    let stream: Duplex | undefined;
    let buf = "";
    let settled = false;
    const finish = (r: BannerResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream?.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `no SSH banner within ${timeoutMs} ms` }), timeoutMs);
    const attach = (s: Duplex) => {
      stream = s;
      if (settled) return void s.destroy();
      s.on("data", (d: Buffer) => {
        buf += d.toString("latin1");
        for (const line of buf.split("\n").slice(0, -1)) {
          if (line.startsWith("SSH-2.0-") || line.startsWith("SSH-1.99-")) return finish({ ok: true, banner: line.trim() });
        }
        if (buf.length > MAX_PRELUDE_BYTES) finish({ ok: false, reason: "no SSH banner in the first 8 KiB" });
      });
      s.on("error", (e: Error & { code?: string }) => finish({ ok: false, reason: e.code ?? e.message }));
      s.on("close", () => finish({ ok: false, reason: "connection closed before the SSH banner" }));
    };
    if (via) {
      via.forwardOut("127.0.0.1", 0, host, port, (err, ch) => {
        if (err) finish({ ok: false, reason: `jump host: ${err.message}` });
        else attach(ch);
      });
    } else {
      const s = connect({ host, port });
      s.setNoDelay(true);
      attach(s);
    }
  });
}
