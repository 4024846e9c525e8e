/**
 * A sandbox described in YAML: the seed's declarative resource (apiVersion, kind, metadata, spec)
 * as is, or the flat form of `fsb-ctl run`'s editor template. Both become the SDK's create options.
 */
import type { CreateSandboxOptions } from "@fast-sandbox/sdk";
import { parse } from "yaml";
import { parseDuration, parseSeconds } from "./duration.ts";
import {
  compact,
  egressRules,
  firstLine,
  knownKeys,
  type Mapping,
  mapping,
  optional,
  required,
  string,
  stringList,
  stringMap,
} from "./manifest-fields.ts";
import { parseFailurePolicy, parseMode, parsePort } from "./sandbox-values.ts";

/** What a manifest asks for: create options without the per-call ones. */
export type SandboxManifest = Omit<CreateSandboxOptions, "signal" | "timeoutMs">;

export const SANDBOX_API_VERSION = "sandbox.fast.io/v1alpha1";

const FLAT_KEYS = [
  "name",
  "namespace",
  "image",
  "command",
  "args",
  "env",
  "workdir",
  "ports",
  "pool",
  "mode",
  "failurePolicy",
  "recoveryTimeout",
  "expireIn",
  "expireAt",
  "labels",
  "resources",
  "network",
];
const RESOURCE_KEYS = ["apiVersion", "kind", "metadata", "spec", "status"];
const METADATA_KEYS = ["name", "namespace", "labels"];
const SPEC_KEYS = [
  "image",
  "command",
  "args",
  "env",
  "workingDir",
  "exposedPorts",
  "poolRef",
  "consistencyMode",
  "failurePolicy",
  "recoveryTimeoutSeconds",
  "expireTime",
  "resources",
  "network",
];

/**
 * Parses one YAML document; `source` names it in error messages. An empty document (only
 * comments) is `undefined`, which `run` takes as "cancel".
 */
export function parseSandboxManifest(text: string, source: string): SandboxManifest | undefined {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`${source} is not valid YAML: ${firstLine((err as Error).message)}`);
  }
  if (doc === null || doc === undefined) return undefined;
  try {
    const root = mapping(doc, "the document");
    const declarative = "apiVersion" in root || "kind" in root || "spec" in root;
    return declarative ? sandboxFromResource(root) : fromFlat(root);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
}

/**
 * The declarative resource (apiVersion and kind optional here, checked when present), already
 * parsed from YAML; throws an Error naming the field. `fsb-ctl apply` reads its Sandbox documents
 * with this too.
 */
export function sandboxFromResource(root: Mapping): SandboxManifest {
  knownKeys(root, RESOURCE_KEYS, "");
  if (root.apiVersion !== undefined && root.apiVersion !== SANDBOX_API_VERSION)
    throw new Error(`apiVersion must be ${SANDBOX_API_VERSION}`);
  if (root.kind !== undefined && root.kind !== "Sandbox") throw new Error("kind must be Sandbox");
  const metadata = root.metadata === undefined ? {} : mapping(root.metadata, "metadata");
  knownKeys(metadata, METADATA_KEYS, "metadata.");
  const spec = mapping(root.spec, "spec");
  knownKeys(spec, SPEC_KEYS, "spec.");
  const expireTime = optional(spec.expireTime, "spec.expireTime", date);
  return compact({
    name: optional(metadata.name, "metadata.name", string),
    namespace: optional(metadata.namespace, "metadata.namespace", string),
    labels: optional(metadata.labels, "metadata.labels", stringMap),
    image: required(spec.image, "spec.image", string),
    command: optional(spec.command, "spec.command", stringList),
    args: optional(spec.args, "spec.args", stringList),
    env: optional(spec.env, "spec.env", envVars),
    workingDir: optional(spec.workingDir, "spec.workingDir", string),
    exposedPorts: optional(spec.exposedPorts, "spec.exposedPorts", ports),
    pool: optional(spec.poolRef, "spec.poolRef", string),
    mode: optional(spec.consistencyMode, "spec.consistencyMode", parseMode),
    failurePolicy: optional(spec.failurePolicy, "spec.failurePolicy", parseFailurePolicy),
    recoveryTimeoutSeconds: optional(spec.recoveryTimeoutSeconds, "spec.recoveryTimeoutSeconds", seconds),
    expireAt: expireTime,
    resources: optional(spec.resources, "spec.resources", resources),
    network: optional(spec.network, "spec.network", network),
  });
}

function fromFlat(root: Mapping): SandboxManifest {
  knownKeys(root, FLAT_KEYS, "");
  if (root.expireIn !== undefined && root.expireAt !== undefined)
    throw new Error("expireIn and expireAt cannot both be set");
  return compact({
    name: optional(root.name, "name", string),
    namespace: optional(root.namespace, "namespace", string),
    image: required(root.image, "image", string),
    command: optional(root.command, "command", stringList),
    args: optional(root.args, "args", stringList),
    env: optional(root.env, "env", envVars),
    workingDir: optional(root.workdir, "workdir", string),
    exposedPorts: optional(root.ports, "ports", ports),
    pool: optional(root.pool, "pool", string),
    mode: optional(root.mode, "mode", parseMode),
    failurePolicy: optional(root.failurePolicy, "failurePolicy", parseFailurePolicy),
    recoveryTimeoutSeconds: optional(root.recoveryTimeout, "recoveryTimeout", seconds),
    expireInMs: optional(root.expireIn, "expireIn", (v) => parseDuration(string(v))),
    expireAt: optional(root.expireAt, "expireAt", date),
    labels: optional(root.labels, "labels", stringMap),
    resources: optional(root.resources, "resources", resources),
    network: optional(root.network, "network", network),
  });
}

/** A mapping (`NAME: value`) or the resource's list of `{name, value}`. */
function envVars(value: unknown): Record<string, string> {
  if (!Array.isArray(value)) return stringMap(value);
  const env: Record<string, string> = {};
  value.forEach((item, i) => {
    const entry = mapping(item, `[${i}]`);
    env[required(entry.name, `[${i}].name`, string)] = optional(entry.value, `[${i}].value`, string) ?? "";
  });
  return env;
}

function ports(value: unknown): number[] {
  if (!Array.isArray(value)) throw new Error("must be a list of port numbers, like [8080]");
  return value.map((item, i) => optional(item, `[${i}]`, parsePort)!);
}

function seconds(value: unknown): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  return parseSeconds(string(value));
}

function date(value: unknown): Date {
  const parsed = value instanceof Date ? value : new Date(string(value));
  if (Number.isNaN(parsed.getTime())) throw new Error(`${JSON.stringify(value)} is not a date and time`);
  return parsed;
}

/** Mode and egress as written; their values are the server's to check, which names the field. */
function network(value: unknown): SandboxManifest["network"] {
  const map = mapping(value);
  knownKeys(map, ["mode", "egress"], "");
  return compact({
    mode: optional(map.mode, "mode", string) as NetworkOptions["mode"],
    egress: optional(map.egress, "egress", egressRules),
  });
}

type NetworkOptions = NonNullable<SandboxManifest["network"]>;

function resources(value: unknown): SandboxManifest["resources"] {
  const map = mapping(value);
  knownKeys(map, ["cpu", "memory", "pids"], "");
  return compact({
    cpu: optional(map.cpu, "cpu", string),
    memory: optional(map.memory, "memory", string),
    pids: optional(map.pids, "pids", (v) => {
      if (typeof v !== "number" || !Number.isInteger(v)) throw new Error("must be a whole number");
      return v;
    }),
  });
}
