/** The SandboxPool CRD's schema: the defaults and bounds of pool-validation.ts (PoolDefaults, PoolLimits). */

import { PoolDefaults, PoolLimits, SECCOMP_LOCALHOST_PROFILE_PATTERN } from "../pool-validation.ts";
import type { SandboxPoolSpec, SandboxPoolStatus, SeccompProfile } from "../sandbox-resource.ts";
import { argList, conditionList, count, customResourceDefinition, envList } from "./crd-common.ts";
import { arraySchema, objectSchema, type ValidationRule } from "./json-schema-props.ts";
import { poolNetworkProps } from "./network-crd.ts";

type PrewarmTemplate = NonNullable<SandboxPoolSpec["prewarm"]>[number];

/**
 * `min` ≤ `max` of capacity as CEL, checked by API servers with CEL (1.25+). The server fills the
 * defaults before it validates, so both fields are there; the has() guards keep the rule true, not
 * an error, on a value that lacks one. Two integer comparisons outside any list: the smallest cost.
 * Older servers drop the rule, and validatePoolSpec (the controller, the Fast-Path API) checks the
 * same, so a pool stored without it gets the InvalidSpec condition.
 */
function atMost(min: string, max: string): ValidationRule {
  return {
    rule: `!has(self.${min}) || !has(self.${max}) || self.${min} <= self.${max}`,
    message: `${min} must not be more than ${max}`,
  };
}

const capacity = objectSchema<SandboxPoolSpec["capacity"]>(
  {
    poolMin: count("Fewest agents, even when idle.", {
      maximum: PoolLimits.maxAgents,
      default: PoolDefaults.poolMin,
    }),
    poolMax: count("Most agents.", {
      minimum: 1,
      maximum: PoolLimits.maxAgents,
      default: PoolDefaults.poolMax,
    }),
    bufferMin: count("Free slots to keep ready for new sandboxes.", {
      maximum: PoolLimits.maxBuffer,
      default: PoolDefaults.bufferMin,
    }),
    bufferMax: count("Free slots beyond which idle agents are drained.", {
      maximum: PoolLimits.maxBuffer,
      default: PoolDefaults.bufferMax,
    }),
  },
  {
    description: "How many agents the pool runs.",
    default: {},
    validations: [atMost("poolMin", "poolMax"), atMost("bufferMin", "bufferMax")],
  },
);

const prewarmTemplate = objectSchema<PrewarmTemplate>(
  {
    image: { description: "Image of the prewarmed containers.", type: "string", minLength: 1 },
    command: argList("Entry point; a create matches only with the same command."),
    args: argList("Arguments; a create matches only with the same args."),
    env: envList("Environment; a create matches only with the same env."),
    count: count("Containers each agent keeps created but not started.", {
      maximum: PoolLimits.maxPrewarmCount,
    }),
  },
  { required: ["image", "count"] },
);

const seccompProfile = objectSchema<SeccompProfile>(
  {
    type: {
      description: "RuntimeDefault: the built-in profile; Unconfined: none; Localhost: localhostProfile.",
      type: "string",
      enum: ["RuntimeDefault", "Unconfined", "Localhost"],
    },
    localhostProfile: {
      description:
        "With Localhost: an OCI linux.seccomp JSON file, relative to the node's profile directory (/var/lib/fast-sandbox/seccomp).",
      type: "string",
      maxLength: PoolLimits.maxLocalhostProfileLength,
      pattern: SECCOMP_LOCALHOST_PROFILE_PATTERN,
    },
  },
  {
    // localhostProfile with Localhost and only with it: validatePoolSpec checks that (a pool stored
    // without it gets InvalidSpec); a CEL rule here would be one more form for every server to cost.
    description:
      "The seccomp filter of the pool's sandboxes, as a Pod's seccompProfile; RuntimeDefault when absent. gVisor pools get none.",
    required: ["type"],
  },
);

export const sandboxPoolSpecSchema = objectSchema<SandboxPoolSpec>(
  {
    capacity,
    maxSandboxesPerPod: count("Sandboxes per agent (its AGENT_CAPACITY).", {
      minimum: 1,
      maximum: PoolLimits.maxSandboxesPerPod,
      default: PoolDefaults.maxSandboxesPerPod,
    }),
    runtimeType: {
      description: "container: runc; gvisor: runsc behind the runc shim.",
      type: "string",
      enum: ["container", "gvisor"],
      default: PoolDefaults.runtimeType,
    },
    seccompProfile,
    network: poolNetworkProps,
    agentTemplate: {
      description:
        "A Pod template (metadata, spec) for the agent Pods; the controller adds what the agent needs to a container named agent.",
      type: "object",
      "x-kubernetes-preserve-unknown-fields": true,
    },
    prewarm: arraySchema(prewarmTemplate, {
      description: "Containers agents keep created-but-not-started, so a matching create only starts one.",
      maxItems: PoolLimits.maxPrewarmTemplates,
      "x-kubernetes-list-type": "atomic",
    }),
  },
  { description: "The pool's agents.", default: {} },
);

export const sandboxPoolStatusSchema = objectSchema<SandboxPoolStatus>(
  {
    observedGeneration: count("The generation this status describes.", { format: "int64" }),
    currentAgents: count("Agents launched, starting ones included."),
    readyAgents: count("Agents answering."),
    totalSlots: count("Sandbox slots of the ready agents."),
    allocatedSlots: count("Slots in use."),
    conditions: conditionList("Ready and Scaling, with documented reasons."),
  },
  { description: "Written by the controller only." },
);

export const sandboxPoolCrd = customResourceDefinition({
  names: { kind: "SandboxPool", plural: "sandboxpools", singular: "sandboxpool", shortName: "sbp" },
  description: "A pool of Fast Sandbox agents that run Sandboxes.",
  spec: sandboxPoolSpecSchema,
  specRequired: false,
  status: sandboxPoolStatusSchema,
  printerColumns: [
    { name: "Min", type: "integer", jsonPath: ".spec.capacity.poolMin" },
    { name: "Max", type: "integer", jsonPath: ".spec.capacity.poolMax" },
    { name: "Ready", type: "integer", jsonPath: ".status.readyAgents" },
    { name: "Slots", type: "integer", jsonPath: ".status.totalSlots" },
  ],
});
