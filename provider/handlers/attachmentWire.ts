// How the SDK sends an Attachment's inputs to the engine (issue 18), and how
// its check turns them back into the flat inputs that state has always held.
//
// Pulumi's Node runtime pays for every top-level input of a resource (an
// Output with its promises and resolvers, on registration and again for the
// resource's output properties); nested fields of one object cost only their
// bytes. At 1,000 hosts that is most of the program's CPU and memory. So the
// SDK sends the connection (a secret, on its own as before) and everything
// else in one `declared` object, the compiled content in it as one value.
// `check` flattens it: the checked inputs, which the engine stores and
// `pulumi preview --diff` shows, keep the flat shape of every earlier
// version, so state written before and after reads the same, and diff,
// create, update, read and delete see what they always saw. Flat inputs (an
// older SDK, the handler tests) pass through unchanged.
//
// Secrets: the dynamic provider does not accept secrets, so the engine hands
// check plain values and marks a checked input secret only when the input
// of the same name was. A secret inside `declared` (the content, when an
// address or port of the declaration is a secret; the verdict likewise)
// would lose its mark under its new name; the SDK lists which fields were
// secret (`declared.secret`, never itself a secret) and check returns those
// fields as secret values (Pulumi's property-value wire form), which the
// engine keeps, in state and outputs alike.
import type { AttachmentInputProps, AttachmentProps } from "./attachmentContract";
import { UNKNOWN } from "./unknown";

/** The compiled content of one host: one value in the wire form. */
export const CONTENT_FIELDS = ["format", "rules", "scriptBrotli", "flows", "hash", "facts", "observe"] as const;
export type AttachmentContentProps = Pick<AttachmentInputProps, (typeof CONTENT_FIELDS)[number]>;

/** What the SDK registers for one Attachment, besides `connection` and the output-only keys. */
export interface AttachmentWireProps {
  declared: Omit<AttachmentInputProps, "connection" | (typeof CONTENT_FIELDS)[number]> & {
    content: AttachmentContentProps;
    /** Fields of `declared` that were secrets in the program (content fields and others, by their flat name). */
    secret?: string[];
  };
}

/** Pulumi's wire form of a secret property value (sdk/go/common/resource/properties.go). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** The flat inputs, and the names of the fields to return as secrets. */
export function fromWire(news: AttachmentProps | (Partial<AttachmentProps> & AttachmentWireProps)): { flat: AttachmentProps; secret: string[] } {
  const wire = (news as Partial<AttachmentWireProps>).declared;
  if (wire === undefined) return { flat: news as AttachmentProps, secret: [] };
  const { declared: _wire, ...rest } = news as unknown as Record<string, unknown>;
  if ((wire as unknown) === UNKNOWN) {
    // Never sent (declared is a plain object, unknowns are inside it), but fail towards "changed".
    const unknown = Object.fromEntries([...CONTENT_FIELDS, "fleet", "hostName", "address", "port", "table", "owner"].map((f) => [f, UNKNOWN]));
    return { flat: { ...rest, ...unknown } as unknown as AttachmentProps, secret: [] };
  }
  const { content, secret, ...declared } = wire;
  const fields: Record<string, unknown> =
    (content as unknown) === UNKNOWN ? Object.fromEntries(CONTENT_FIELDS.map((f) => [f, UNKNOWN])) : { ...(content ?? {}) };
  const flat = Object.fromEntries(Object.entries({ ...rest, ...declared, ...fields }).filter(([, v]) => v !== undefined));
  return { flat: flat as unknown as AttachmentProps, secret: Array.isArray(secret) ? secret.filter((f) => typeof f === "string") : [] };
}

/** The checked inputs with these fields as secret values (only fields present and known). */
export function sealed(inputs: AttachmentProps, secret: readonly string[]): AttachmentProps {
  if (secret.length === 0) return inputs;
  const out: Record<string, unknown> = { ...inputs };
  for (const f of secret) {
    if (out[f] === undefined || out[f] === UNKNOWN) continue;
    out[f] = { [SIG_KEY]: SECRET_SIG, value: out[f] };
  }
  return out as unknown as AttachmentProps;
}
