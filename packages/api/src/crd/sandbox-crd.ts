/** The Sandbox CRD's schema: the same fields, enums, ranges and defaults as sandbox-validation.ts. */
import { exposedPortsMaxCount } from "../ports.ts";
import { pidsMax } from "../quantity.ts";
import {
  DEFAULT_POOL,
  DEFAULT_RECOVERY_TIMEOUT_SECONDS,
  SandboxPhase,
  type SandboxResources,
  type SandboxSpec,
  type SandboxStatus,
} from "../sandbox-resource.ts";
import { maxRecoveryTimeoutSeconds } from "../sandbox-validation.ts";
import {
  argList,
  conditionList,
  count,
  customResourceDefinition,
  dnsLabel,
  envList,
  timestamp,
} from "./crd-common.ts";
import { objectSchema } from "./json-schema-props.ts";
import { sandboxNetworkProps } from "./network-crd.ts";

/** Longest quantity string, as in quantity.ts. */
const quantityMaxLength = 64;
/** Longest working directory; the zod schema bounds it in bytes, this bound in characters is looser. */
const workingDirMaxLength = 4096;

const resources = objectSchema<SandboxResources>(
  {
    cpu: {
      description: 'CPU limit: cores ("2", "0.5") or millicores ("500m").',
      type: "string",
      maxLength: quantityMaxLength,
      pattern: "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)m?$",
    },
    memory: {
      description:
        'Memory limit: bytes with an optional suffix k, M, G, T, P, E or Ki … Ei, such as "256Mi"; at least 4Mi.',
      type: "string",
      maxLength: quantityMaxLength,
      pattern: "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([kMGTPE]|[KMGTPE]i)?$",
    },
    pids: {
      description: "Most processes the sandbox may run.",
      type: "integer",
      format: "int32",
      minimum: 1,
      maximum: pidsMax,
    },
  },
  { description: "Resource limits of the sandbox's container." },
);

export const sandboxSpecSchema = objectSchema<SandboxSpec>(
  {
    image: {
      description: "Image reference; it must already be in the node's containerd (agents never pull).",
      type: "string",
      minLength: 1,
    },
    command: argList("Entry point; the image's when empty."),
    args: argList("Arguments; the image's when empty and command is empty."),
    env: envList("Environment variables."),
    workingDir: {
      description: "Absolute working directory.",
      type: "string",
      maxLength: workingDirMaxLength,
      pattern: "^/",
    },
    exposedPorts: {
      description:
        "Ports the sandbox listens on: at its own address in mode isolated, else at its agent's (unique per agent in mode agent).",
      type: "array",
      maxItems: exposedPortsMaxCount,
      items: { type: "integer", format: "int32", minimum: 1, maximum: 65535 },
      "x-kubernetes-list-type": "set",
    },
    poolRef: dnsLabel("The SandboxPool (same namespace) whose agents run the sandbox.", {
      default: DEFAULT_POOL,
    }),
    consistencyMode: {
      description: "fast: container first, object after; strong: object first. Unset: the server's default.",
      type: "string",
      enum: ["fast", "strong"],
    },
    failurePolicy: {
      description: "Manual: report a failure; AutoRecreate: reschedule within recoveryTimeoutSeconds.",
      type: "string",
      enum: ["Manual", "AutoRecreate"],
      default: "Manual",
    },
    recoveryTimeoutSeconds: {
      description: "How long AutoRecreate keeps trying.",
      type: "integer",
      format: "int32",
      minimum: 1,
      maximum: maxRecoveryTimeoutSeconds,
      default: DEFAULT_RECOVERY_TIMEOUT_SECONDS,
    },
    resetRevision: timestamp("Recreate the sandbox when this is newer than status.acceptedResetRevision."),
    expireTime: timestamp("Remove the container at this time and keep the object as Expired; unset: never."),
    resources,
    network: sandboxNetworkProps,
  },
  { description: "What to run.", required: ["image"] },
);

export const sandboxStatusSchema = objectSchema<SandboxStatus>(
  {
    phase: {
      description: "Pending → Bound → Running; or Succeeded (exit 0), Failed, Lost, Expired, Terminating.",
      type: "string",
      enum: Object.values(SandboxPhase),
    },
    conditions: conditionList("Scheduled and Ready, with documented reasons."),
    assignedAgent: { description: "The agent that runs the sandbox.", type: "string" },
    nodeName: { description: "The node of that agent.", type: "string" },
    sandboxID: { description: "The container id of the current incarnation.", type: "string" },
    endpoints: {
      description: '"ip:port" for each exposed port.',
      type: "array",
      items: { type: "string" },
      "x-kubernetes-list-type": "atomic",
    },
    acceptedResetRevision: timestamp("The last spec.resetRevision acted on."),
    observedGeneration: count("The generation this status describes.", { format: "int64" }),
    startedAt: timestamp("When the current container started."),
    exitCode: {
      description: "Exit code of the container, once it exited.",
      type: "integer",
      format: "int32",
    },
    recreations: count("How many times the sandbox was recreated."),
  },
  { description: "Written by the controller only." },
);

export const sandboxCrd = customResourceDefinition({
  names: { kind: "Sandbox", plural: "sandboxes", singular: "sandbox", shortName: "sb" },
  description: "An isolated container started by a Fast Sandbox agent.",
  spec: sandboxSpecSchema,
  specRequired: true,
  status: sandboxStatusSchema,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Image", type: "string", jsonPath: ".spec.image" },
    { name: "Agent", type: "string", jsonPath: ".status.assignedAgent" },
    { name: "Endpoints", type: "string", jsonPath: ".status.endpoints" },
  ],
});
