/** The schema of a sandbox's network settings, shared by the Sandbox and SandboxPool CRDs (network-spec.ts in JSON Schema). */
import {
  DEFAULT_NETWORK_MODE,
  type EgressSpec,
  MAX_EGRESS_CIDRS,
  NETWORK_MODES,
  type PoolNetworkSpec,
  type SandboxNetworkSpec,
} from "../network-spec.ts";
import { type JsonSchemaProps, objectSchema, type TypedSchema } from "./json-schema-props.ts";

/** A dotted quad with an optional prefix length; the server also checks that host bits are zero. */
const CIDR_PATTERN =
  "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(/([0-9]|[12][0-9]|3[0-2]))?$";

function cidrList(description: string): JsonSchemaProps {
  return {
    description,
    type: "array",
    maxItems: MAX_EGRESS_CIDRS,
    items: { type: "string", maxLength: 18, pattern: CIDR_PATTERN },
  };
}

export const networkModeSchema: JsonSchemaProps = {
  description:
    "isolated: its own namespace, address and firewall rules; none: loopback only; agent: the agent's namespace (ports unique per agent).",
  type: "string",
  enum: [...NETWORK_MODES],
};

export const egressSchemaProps: TypedSchema<EgressSpec> = objectSchema<EgressSpec>(
  {
    default: {
      description: "allow or deny: for destinations neither list names.",
      type: "string",
      enum: ["allow", "deny"],
      default: "allow",
    },
    allow: cidrList("IPv4 CIDRs allowed; they also open the private and node networks refused by default."),
    deny: cidrList("IPv4 CIDRs refused; checked before allow."),
  },
  {
    description:
      "Where an isolated sandbox may connect to. The host, agents, controller, other sandboxes and link-local addresses are never reachable.",
  },
);

export const sandboxNetworkProps: TypedSchema<SandboxNetworkSpec> = objectSchema<SandboxNetworkSpec>(
  { mode: networkModeSchema, egress: egressSchemaProps },
  {
    description:
      "Network mode and egress rules; unset: the pool's. Only where the pool allows sandboxes to choose.",
  },
);

export const poolNetworkProps: TypedSchema<PoolNetworkSpec> = objectSchema<PoolNetworkSpec>(
  {
    mode: { ...networkModeSchema, default: DEFAULT_NETWORK_MODE },
    egress: egressSchemaProps,
    allowSandboxOverride: {
      description: "Let a sandbox set its own network (spec.network); off: the pool's rules hold for all.",
      type: "boolean",
    },
  },
  { description: "The network of the pool's sandboxes (docs/network.md)." },
);
