// The one error type of the host side of the apply path. Every failure names
// the host it happened on and what went wrong, and its message is redacted
// (no private key, password or passphrase can reach Pulumi's output).
import { redact } from "./redact";
import { DEFAULT_SSH_PORT } from "../vocabulary/defaults";

export type HostErrorKind =
  /** TCP connect / SSH handshake failed or the connection was lost. */
  | "unreachable"
  /** SSH authentication was refused. */
  | "auth"
  /** The host presented a key other than the pinned or recorded one. */
  | "hostkey"
  /** The host cannot run nftsg: nft missing, no privileges, no kernel support. */
  | "preflight"
  /** `nft -c` rejected the ruleset; nothing was applied. */
  | "check"
  /** `nft -f` failed (nothing applied) or the transaction could not complete. */
  | "apply"
  /** The new ruleset would have cut SSH access; the host was rolled back. */
  | "lockout"
  /** The table belongs to another stack. */
  | "owner"
  /** The host's state after the operation is not what was expected. */
  | "verify";

export class HostError extends Error {
  override name = "HostError";
  readonly host: string;
  readonly kind: HostErrorKind;
  /**
   * The host accepted the confirmation: the new ruleset is live and stays
   * (whatever failed after that, e.g. saving it for boot, or the connection).
   */
  readonly confirmed: boolean;
  /** The host's key, when the connection got that far (record it: trust on first use). */
  readonly hostKey?: string;

  /**
   * @param host    connection.host
   * @param message prefixed with `opts.label` (default `host`), e.g. "db-1 (198.18.1.21): …"
   * @param opts.secrets values to scrub from the message (see connectionSecrets)
   */
  constructor(
    host: string,
    kind: HostErrorKind,
    message: string,
    opts: { label?: string; secrets?: readonly string[]; confirmed?: boolean; hostKey?: string } = {},
  ) {
    super(redact(`${opts.label ?? host}: ${message}`, opts.secrets ?? []));
    this.host = host;
    this.kind = kind;
    this.confirmed = opts.confirmed ?? false;
    if (opts.hostKey !== undefined) this.hostKey = opts.hostKey;
  }
}

/** "db-1 (198.18.1.21)" when a display name is known, else "198.18.1.21" ("host:port" off port 22). */
export function hostLabel(host: string, port: number | undefined, displayName?: string): string {
  const addr = port && port !== DEFAULT_SSH_PORT ? `${host}:${port}` : host;
  return displayName && displayName !== host ? `${displayName} (${addr})` : addr;
}
