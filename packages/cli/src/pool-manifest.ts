/**
 * A SandboxPool described in YAML (apiVersion, kind, metadata, spec), read strictly: an unknown
 * field or a value of the wrong type is an error naming it. Rules across fields (poolMin ≤ poolMax)
 * are the server's, which answers INVALID_ARGUMENT naming the field.
 */
import type { PoolManifest, PoolSpecInput, PrewarmTemplateInput, RuntimeType } from "@fast-sandbox/sdk";
import {
  compact,
  egressRules,
  knownKeys,
  type Mapping,
  mapping,
  optional,
  required,
  string,
  stringList,
  stringMap,
  wholeNumber,
} from "./manifest-fields.ts";

const RESOURCE_KEYS = ["apiVersion", "kind", "metadata", "spec", "status"];
/**
 * `pools get -o yaml` prints uid, resourceVersion, generation and creationTimestamp too; they are
 * the server's to set, so an apply of that output ignores them instead of refusing it.
 */
const METADATA_KEYS = [
  "name",
  "namespace",
  "labels",
  "annotations",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
];
const SPEC_KEYS = [
  "capacity",
  "maxSandboxesPerPod",
  "runtimeType",
  "prewarm",
  "agentTemplate",
  "network",
  "seccompProfile",
];
const CAPACITY_KEYS = ["poolMin", "poolMax", "bufferMin", "bufferMax"];
const PREWARM_KEYS = ["image", "command", "args", "env", "count"];
const ENV_KEYS = ["name", "value"];
const RUNTIME_TYPES: readonly RuntimeType[] = ["container", "gvisor"];

/** A SandboxPool object parsed from YAML (its apiVersion and kind already checked by the caller). */
export function poolFromResource(root: Mapping): PoolManifest {
  knownKeys(root, RESOURCE_KEYS);
  const metadata = mapping(root.metadata ?? {}, "metadata");
  knownKeys(metadata, METADATA_KEYS, "metadata.");
  const spec = optional(root.spec, "spec", poolSpec);
  return compact({
    apiVersion: optional(root.apiVersion, "apiVersion", string),
    kind: optional(root.kind, "kind", string),
    metadata: compact({
      name: required(metadata.name, "metadata.name", string),
      namespace: optional(metadata.namespace, "metadata.namespace", string),
      labels: optional(metadata.labels, "metadata.labels", stringMap),
      annotations: optional(metadata.annotations, "metadata.annotations", stringMap),
    }),
    spec,
  });
}

function poolSpec(value: unknown): PoolSpecInput {
  const spec = mapping(value);
  knownKeys(spec, SPEC_KEYS);
  return compact({
    capacity: optional(spec.capacity, "capacity", capacity),
    maxSandboxesPerPod: optional(spec.maxSandboxesPerPod, "maxSandboxesPerPod", wholeNumber(1)),
    runtimeType: optional(spec.runtimeType, "runtimeType", runtimeType),
    prewarm: optional(spec.prewarm, "prewarm", list(prewarmTemplate)),
    agentTemplate: optional(spec.agentTemplate, "agentTemplate", (v) => mapping(v)),
    network: optional(spec.network, "network", poolNetwork),
    seccompProfile: optional(spec.seccompProfile, "seccompProfile", seccompProfile),
  });
}

/** The values are the server's to check; it names the field. */
function poolNetwork(value: unknown): NonNullable<PoolSpecInput["network"]> {
  const map = mapping(value);
  knownKeys(map, ["mode", "egress", "allowSandboxOverride"]);
  type Network = NonNullable<PoolSpecInput["network"]>;
  return compact({
    mode: optional(map.mode, "mode", string) as Network["mode"],
    egress: optional(map.egress, "egress", egressRules),
    allowSandboxOverride: optional(map.allowSandboxOverride, "allowSandboxOverride", (v) => {
      if (typeof v !== "boolean") throw new Error("must be true or false");
      return v;
    }),
  });
}

function seccompProfile(value: unknown): NonNullable<PoolSpecInput["seccompProfile"]> {
  const map = mapping(value);
  knownKeys(map, ["type", "localhostProfile"]);
  type Profile = NonNullable<PoolSpecInput["seccompProfile"]>;
  return compact({
    type: required(map.type, "type", string) as Profile["type"],
    localhostProfile: optional(map.localhostProfile, "localhostProfile", string),
  });
}

function capacity(value: unknown): NonNullable<PoolSpecInput["capacity"]> {
  const map = mapping(value);
  knownKeys(map, CAPACITY_KEYS);
  return compact({
    poolMin: optional(map.poolMin, "poolMin", wholeNumber()),
    poolMax: optional(map.poolMax, "poolMax", wholeNumber()),
    bufferMin: optional(map.bufferMin, "bufferMin", wholeNumber()),
    bufferMax: optional(map.bufferMax, "bufferMax", wholeNumber()),
  });
}

function runtimeType(value: unknown): RuntimeType {
  if (!RUNTIME_TYPES.includes(value as RuntimeType))
    throw new Error(`${JSON.stringify(value)} is not ${RUNTIME_TYPES.join(" or ")}`);
  return value as RuntimeType;
}

function prewarmTemplate(value: unknown): PrewarmTemplateInput {
  const map = mapping(value);
  knownKeys(map, PREWARM_KEYS);
  return compact({
    image: required(map.image, "image", string),
    command: optional(map.command, "command", stringList),
    args: optional(map.args, "args", stringList),
    env: optional(map.env, "env", list(envVar)),
    count: required(map.count, "count", wholeNumber()),
  });
}

function envVar(value: unknown): { name: string; value: string } {
  const map = mapping(value);
  knownKeys(map, ENV_KEYS);
  return { name: required(map.name, "name", string), value: optional(map.value, "value", string) ?? "" };
}

/** A list whose items are read by `read`; a bad item is named by its index (`prewarm[1].image`). */
function list<T>(read: (v: unknown) => T) {
  return (value: unknown): T[] => {
    if (!Array.isArray(value)) throw new Error("must be a list");
    return value.map((item, i) => required(item, `[${i}]`, read));
  };
}
