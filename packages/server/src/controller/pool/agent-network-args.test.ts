import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { agentNetworkArgs } from "./agent-network-args.ts";

describe("agentNetworkArgs", () => {
  const cases = [
    { name: "a pool that says nothing: isolated", network: undefined, want: ["--network-mode", "isolated"] },
    { name: "mode agent", network: { mode: "agent" as const }, want: ["--network-mode", "agent"] },
    {
      name: "egress rules",
      network: { egress: { default: "deny" as const, allow: ["198.51.100.0/24", "10.1.0.0/16"], deny: [] } },
      want: [
        "--network-mode",
        "isolated",
        "--egress-default",
        "deny",
        "--egress-allow",
        "198.51.100.0/24,10.1.0.0/16",
        "--egress-deny",
        "",
      ],
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.deepEqual(agentNetworkArgs(tc.network), tc.want));
  }
});
