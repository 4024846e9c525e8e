/**
 * How a sandbox is networked, as requests carry it: the mode, and in `isolated` mode the egress
 * rules. Shared by the agent's API and the controller's so both refuse the same input the same way.
 */
import { z } from "zod";
import { type Cidr, parseCidr } from "./ipv4.ts";

/**
 * - `isolated`: its own namespace, address and firewall rules (the agent's subnet);
 * - `none`: its own namespace with loopback only;
 * - `agent`: the agent's namespace, as the seed had it; exposed ports are unique per agent.
 */
export const NETWORK_MODES = ["isolated", "none", "agent"] as const;
export type NetworkModeName = (typeof NETWORK_MODES)[number];

/** Most CIDRs one list may hold: each is a rule on the agent's hot path. */
export const MAX_EGRESS_CIDRS = 64;

const cidrText = z.string().superRefine((text, ctx) => {
  try {
    parseCidr(text, "");
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message.replace(/^: /, "") });
  }
});

/**
 * Egress rules: `deny` is checked first, then `allow` (which also opens the private and node
 * networks refused by default), then `default`. What no sandbox may ever reach is not listed here.
 */
export const egressSchema = z.strictObject({
  default: z.enum(["allow", "deny"]).default("allow"),
  allow: z.array(cidrText).max(MAX_EGRESS_CIDRS).default([]),
  deny: z.array(cidrText).max(MAX_EGRESS_CIDRS).default([]),
});
export type EgressSpec = z.output<typeof egressSchema>;

/** Egress rules are a firewall's: only an isolated sandbox has one. */
function refineEgressMode(
  network: { mode?: NetworkModeName | undefined; egress?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (network.egress && network.mode && network.mode !== "isolated") {
    ctx.addIssue({
      code: "custom",
      path: ["egress"],
      message: `applies only to mode isolated, not ${network.mode}`,
    });
  }
}

export const sandboxNetworkSchema = z
  .strictObject({
    mode: z.enum(NETWORK_MODES).optional(),
    egress: egressSchema.optional(),
  })
  .superRefine(refineEgressMode);
export type SandboxNetworkSpec = z.output<typeof sandboxNetworkSchema>;

/**
 * A pool's network: the mode and egress of its sandboxes, and whether a sandbox may choose its own
 * (`allowSandboxOverride`, off by default: the pool's owner sets the rules, not whoever creates).
 */
export const poolNetworkSchema = z
  .strictObject({
    mode: z.enum(NETWORK_MODES).optional(),
    egress: egressSchema.optional(),
    allowSandboxOverride: z.boolean().optional(),
  })
  .superRefine(refineEgressMode);
export type PoolNetworkSpec = z.output<typeof poolNetworkSchema>;

/** The mode of a pool whose spec names none: every sandbox its own network. */
export const DEFAULT_NETWORK_MODE: NetworkModeName = "isolated";

/** The CIDRs of validated egress rules, parsed. */
export function egressCidrs(egress: EgressSpec): {
  defaultAction: "allow" | "deny";
  allow: Cidr[];
  deny: Cidr[];
} {
  return {
    defaultAction: egress.default,
    allow: egress.allow.map((c, i) => parseCidr(c, `egress.allow[${i}]`)),
    deny: egress.deny.map((c, i) => parseCidr(c, `egress.deny[${i}]`)),
  };
}
