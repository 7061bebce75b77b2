// Drives one exec channel running a remote program: writes its stdin,
// collects stdout/stderr, and waits for marker lines or the end.
import { StringDecoder } from "node:string_decoder";
import type { ClientChannel } from "ssh2";
import { hasEvent } from "./remoteOutput";

export interface RunEnd {
  /** Exit status, or null if the channel closed without one (connection lost, or killed by a signal). */
  code: number | null;
  signal?: string;
  /** Whether the channel closed because the connection went away. */
  connectionLost: boolean;
}

export class RemoteRun {
  stdout = "";
  stderr = "";
  end?: RunEnd;
  private code: number | null = null;
  private signal?: string;
  private gotExit = false;
  private waiters: Array<() => void> = [];
  readonly closed: Promise<RunEnd>;

  constructor(
    private readonly ch: ClientChannel,
    private readonly nonce: string,
  ) {
    // One decoder per stream: a multibyte character split across two packets
    // is completed by the next chunk instead of becoming two U+FFFD.
    const out = new StringDecoder("utf8");
    const err = new StringDecoder("utf8");
    ch.on("data", (d: Buffer) => this.push(() => (this.stdout += out.write(d))));
    ch.stderr.on("data", (d: Buffer) => this.push(() => (this.stderr += err.write(d))));
    ch.on("exit", (code: number | null, signal?: string) => {
      this.gotExit = true;
      this.code = typeof code === "number" ? code : null;
      if (signal) this.signal = signal;
    });
    // A write after the remote end went away must not crash the process.
    ch.on("error", () => undefined);
    this.closed = new Promise((resolve) => {
      // ssh2 passes the exit status (or signal) to "close" too, like a child
      // process: a command that ended at once (sudo -n refusing) may have had
      // its "exit" emitted before these listeners were attached.
      ch.on("close", (code?: number | null, signal?: string) => {
        if (!this.gotExit && (typeof code === "number" || (code === null && signal))) {
          this.gotExit = true;
          this.code = typeof code === "number" ? code : null;
          if (signal) this.signal = signal;
        }
        this.stdout += out.end();
        this.stderr += err.end();
        this.end = { code: this.code, signal: this.signal, connectionLost: !this.gotExit };
        this.push(() => undefined);
        resolve(this.end);
      });
    });
  }

  private push(f: () => void): void {
    f();
    const w = this.waiters;
    this.waiters = [];
    for (const cb of w) cb();
  }

  /**
   * Writes to the program's stdin, honouring backpressure. Resolves when the
   * channel closes too: a write to a channel the remote end has closed is
   * never flushed, and its "drain" never comes.
   */
  write(text: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.end || !this.ch.writable) return resolve();
      if (this.ch.write(text)) return resolve();
      const done = () => {
        this.ch.off("drain", done);
        this.ch.off("close", done);
        resolve();
      };
      this.ch.on("drain", done);
      this.ch.on("close", done);
    });
  }

  /** Closes the program's stdin (EOF). */
  endInput(): void {
    if (!this.end) this.ch.end();
  }

  /**
   * Resolves true once the marker line `event` has arrived, false if the
   * channel closed first or `timeoutMs` passed.
   */
  waitForEvent(event: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const deadline = setTimeout(() => resolve(false), timeoutMs);
      const check = () => {
        if (hasEvent(this.stdout, this.nonce, event)) {
          clearTimeout(deadline);
          resolve(true);
        } else if (this.end) {
          clearTimeout(deadline);
          resolve(false);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Resolves with the end of the channel, or undefined after `timeoutMs`. */
  waitClosed(timeoutMs: number): Promise<RunEnd | undefined> {
    return Promise.race([this.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref())]);
  }
}
