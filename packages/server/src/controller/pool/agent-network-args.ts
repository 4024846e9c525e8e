/** A pool's network settings as its agents' flags (pure): the same for Kubernetes agent Pods and standalone agents. */
import { DEFAULT_NETWORK_MODE, type PoolNetworkSpec } from "@fast-sandbox/api";

/** `--network-mode` always (the default moved to isolated; an agent's own default stays agent), then the egress flags when the pool has rules. */
export function agentNetworkArgs(network: PoolNetworkSpec | undefined): string[] {
  const args = ["--network-mode", network?.mode ?? DEFAULT_NETWORK_MODE];
  const egress = network?.egress;
  if (egress) {
    args.push(
      "--egress-default",
      egress.default,
      "--egress-allow",
      egress.allow.join(","),
      "--egress-deny",
      egress.deny.join(","),
    );
  }
  return args;
}
