// Pass 1 of validation: the structure of a fleet declaration, with zod —
// types, required fields, unknown fields (strict objects: a misspelt
// `port:` must not silently mean "all ports"), enums and integer ranges —
// and zod's issues turned into messages that say what to write instead.

import { z } from "zod";
import { didYouMean } from "./didYouMean";
import type { ValidationIssue } from "./fleetModel";
import { MAX_DESCRIPTION } from "../vocabulary/defaults";
import { PACKET_PROTOCOLS, PROTOCOLS } from "../vocabulary/protocols";
import { MAX_LOG_PER_MINUTE, MAX_MAX_FLOWS, MAX_RETENTION_HOURS, MIN_MAX_FLOWS, MIN_RETENTION_HOURS, OBSERVE_MODES } from "../vocabulary/observe";

const optional = <T extends z.ZodTypeAny>(t: T) => t.nullish();
// Ports are type-checked in the semantic pass: a zod union here costs a
// failed parse (and an error object) per alternative tried, on every rule.
const portsSchema = z.unknown();
const portNumber = z.number().int().min(1).max(65535);

export const ruleSchema = z
  .object({
    protocol: z.enum(PROTOCOLS),
    ports: portsSchema,
    icmpType: optional(z.number().int().min(0).max(255)),
    icmpCode: optional(z.number().int().min(0).max(255)),
    cidrs: optional(z.array(z.string())),
    securityGroups: optional(z.array(z.string())),
    addressLists: optional(z.array(z.string())),
    description: optional(z.string().max(MAX_DESCRIPTION)),
  })
  .strict();

// Address lists and remote groups (docs/multistack.md); their meaning is
// checked in checks/addressLists.ts and checks/remoteGroups.ts.
const addressListSchema = z
  .object({
    name: z.string(),
    cidrs: z.array(z.string()),
    description: optional(z.string().max(MAX_DESCRIPTION)),
  })
  .strict();

const remoteGroupSchema = z
  .object({
    name: z.string(),
    // Whatever the other stack published (or nothing): read in checks/remoteGroups.ts,
    // which says what is missing or malformed.
    source: z.unknown(),
    group: optional(z.string()),
    allowEmpty: optional(z.boolean()),
    description: optional(z.string().max(MAX_DESCRIPTION)),
  })
  .strict();

const groupSchema = z
  .object({
    name: z.string(),
    description: optional(z.string().max(MAX_DESCRIPTION)),
    ingress: optional(z.array(ruleSchema)),
    egress: optional(z.array(ruleSchema)),
  })
  .strict();

const connectionFields = {
  host: z.string(),
  port: optional(portNumber),
  user: optional(z.string()),
  password: optional(z.string()),
  privateKey: optional(z.string()),
  privateKeyPassword: optional(z.string()),
  agentSocketPath: optional(z.string()),
  dialErrorLimit: optional(z.number().int().min(1)),
  perDialTimeout: optional(z.number().int().min(1)),
  hostKey: optional(z.string()),
};

const connectionSchema = z
  .object({
    ...connectionFields,
    proxy: optional(z.object(connectionFields).strict()),
    sudo: optional(z.boolean()),
  })
  .strict();

// Observe (docs/observe.md); acknowledgements and the proposal's meaning are checked in checks/observe.ts.
const hostObserveSchema = z
  .object({
    mode: optional(z.enum(OBSERVE_MODES)),
    acknowledge: optional(z.array(z.string())),
  })
  .strict();

const hostSchema = z
  .object({
    name: z.string(),
    connection: connectionSchema,
    addresses: optional(z.array(z.string())),
    securityGroups: z.array(z.string()),
    observe: optional(hostObserveSchema),
  })
  .strict();

const observeSchema = z
  .object({
    mode: optional(z.enum(OBSERVE_MODES)),
    maxFlows: optional(z.number().int().min(MIN_MAX_FLOWS).max(MAX_MAX_FLOWS)),
    retentionHours: optional(z.number().int().min(MIN_RETENTION_HOURS).max(MAX_RETENTION_HOURS)),
    log: optional(z.union([z.boolean(), z.object({ perMinute: optional(z.number().int().min(1).max(MAX_LOG_PER_MINUTE)) }).strict()])),
    acknowledge: optional(z.array(z.string())),
    proposal: optional(
      z
        .object({
          securityGroups: z.array(groupSchema),
          hosts: optional(z.array(z.object({ name: z.string(), securityGroups: z.array(z.string()) }).strict())),
        })
        .strict(),
    ),
  })
  .strict();

// Policy tests (`tests`); their traffic fields are checked in checks/policyTests.ts.
const policyTestSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    protocol: z.enum(PACKET_PROTOCOLS),
    port: optional(z.unknown()),
    icmpType: optional(z.unknown()),
    icmpCode: optional(z.unknown()),
    expect: z.enum(["allow", "deny"]),
    description: optional(z.string().max(MAX_DESCRIPTION)),
  })
  .strict();

export const fleetSchema = z
  .object({
    table: optional(z.string()),
    failsafe: optional(
      z
        .object({
          ssh: optional(z.boolean()),
          cidrs: optional(z.array(z.string())),
          port: optional(portNumber),
        })
        .strict(),
    ),
    revokeEstablished: optional(z.boolean()),
    containers: optional(
      z
        .object({
          publishedPorts: optional(z.boolean()),
          egress: optional(z.boolean()),
          interfaces: optional(z.array(z.string())),
        })
        .strict(),
    ),
    securityGroups: z.array(groupSchema),
    hosts: z.array(hostSchema),
    addressLists: optional(z.array(addressListSchema)),
    remoteGroups: optional(z.array(remoteGroupSchema)),
    publish: optional(z.object({ groups: z.array(z.string()) }).strict()),
    tests: optional(z.array(policyTestSchema)),
    observe: optional(observeSchema),
  })
  .strict();

export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

function describeReceived(received: string): string {
  return received === "undefined" ? "nothing" : received;
}

/** Field names whose values must never appear in a message. */
const SECRET_FIELDS = new Set(["password", "privateKey", "privateKeyPassword"]);

export function zodIssues(error: z.ZodError): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of error.issues) {
    const path = formatPath(issue.path);
    const last = issue.path[issue.path.length - 1];
    switch (issue.code) {
      case "invalid_type":
        out.push({
          path,
          message:
            issue.received === "undefined"
              ? `is required (expected ${issue.expected})`
              : `expected ${issue.expected}, got ${describeReceived(issue.received)}`,
        });
        break;
      case "unrecognized_keys":
        for (const key of issue.keys) {
          const known = knownKeysAt(issue.path);
          const hint = didYouMean(key, known);
          out.push({
            path: formatPath([...issue.path, key]),
            message: `unknown field ${JSON.stringify(key)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ""}${
              known.length ? ` (allowed: ${known.join(", ")})` : ""
            }`,
          });
        }
        break;
      case "invalid_enum_value":
        out.push({
          path,
          message: `${JSON.stringify(issue.received)} is not supported; use one of ${issue.options.join(", ")}`,
        });
        break;
      case "invalid_union":
        if (last === "ports" || typeof last === "number") {
          out.push({ path, message: `expected a port (22), a port range ("8000-8100") or a list of them` });
        } else {
          out.push({ path, message: "has an invalid type" });
        }
        break;
      case "too_small":
      case "too_big": {
        const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
        if (issue.type === "string") {
          out.push({ path, message: `is too long; at most ${String(bound)} characters` });
        } else if (issue.type === "number") {
          const field = typeof last === "string" ? last : "value";
          const range = rangeText(field);
          out.push({
            path,
            message: `${issue.code === "too_small" ? "is below" : "is above"} the allowed ${
              range ? `range ${range}` : `${issue.code === "too_small" ? "minimum" : "maximum"} ${String(bound)}`
            }`,
          });
        } else {
          out.push({ path, message: issue.message });
        }
        break;
      }
      case "not_finite":
        out.push({ path, message: "must be a finite number" });
        break;
      default:
        out.push({
          path,
          message: typeof last === "string" && SECRET_FIELDS.has(last) ? "is invalid" : issue.message,
        });
    }
    // zod reports "expected integer, got float" as invalid_type; make it clear.
    const lastIssue = out[out.length - 1];
    if (lastIssue && issue.code === "invalid_type" && issue.expected === "integer") {
      lastIssue.message = `must be an integer${rangeText(String(last)) ? ` in ${rangeText(String(last))}` : ""}`;
    }
  }
  return out;
}

function rangeText(field: string): string | undefined {
  switch (field) {
    case "port":
      return "1-65535";
    case "icmpType":
    case "icmpCode":
      return "0-255";
    case "dialErrorLimit":
    case "perDialTimeout":
      return ">= 1";
    case "maxFlows":
      return `${MIN_MAX_FLOWS}-${MAX_MAX_FLOWS}`;
    case "retentionHours":
      return `${MIN_RETENTION_HOURS}-${MAX_RETENTION_HOURS}`;
    case "perMinute":
      return `1-${MAX_LOG_PER_MINUTE}`;
    default:
      return undefined;
  }
}

/** The fields the schema allows at `path`, read from the schema itself (never a copy of it). */
export function knownKeysAt(path: readonly (string | number)[]): string[] {
  let node: z.ZodTypeAny | undefined = fleetSchema;
  for (const seg of path) {
    node = unwrap(node);
    if (node instanceof z.ZodArray && typeof seg === "number") node = node.element;
    else if (node instanceof z.ZodObject && typeof seg === "string") node = (node.shape as Record<string, z.ZodTypeAny>)[seg];
    else return [];
    if (node === undefined) return [];
  }
  node = unwrap(node);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** The schema inside optional/nullable wrappers. */
function unwrap(t: z.ZodTypeAny): z.ZodTypeAny {
  let cur = t;
  while (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) cur = cur.unwrap();
  return cur;
}

export type ParsedFleet = z.infer<typeof fleetSchema>;
export type ParsedRule = z.infer<typeof ruleSchema>;
export type ParsedPolicyTest = z.infer<typeof policyTestSchema>;
