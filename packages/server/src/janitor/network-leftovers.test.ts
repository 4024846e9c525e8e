import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatCidr, parseCidr, parseIpv4 } from "@fast-sandbox/api";
import { type NetworkFacts, planNetworkSweep } from "./network-leftovers.ts";

const NOW = 1_000_000;
const GRACE = 10_000;
const ip = (text: string) => parseIpv4(text) as number;
const subnet = (text: string) => parseCidr(text, "subnet");

function facts(over: Partial<NetworkFacts>): NetworkFacts {
  return { namespaces: [], claims: [], inUse: new Set(), now: NOW, ...over };
}

describe("planNetworkSweep", () => {
  const old = NOW - GRACE;
  const cases: Array<{
    name: string;
    facts: NetworkFacts;
    want: { namespaces: string[]; claims: string[] };
  }> = [
    {
      name: "a namespace no container uses, of a subnet whose agent is gone, goes, and then its claim",
      facts: facts({
        namespaces: [{ address: ip("10.212.3.7"), modifiedAtMs: old }],
        claims: [{ subnet: subnet("10.212.3.0/24"), alive: false, modifiedAtMs: old }],
      }),
      want: { namespaces: ["10.212.3.7"], claims: ["10.212.3.0/24"] },
    },
    {
      name: "a live agent's namespaces stay (its ready pool has no container yet), and its claim",
      facts: facts({
        namespaces: [{ address: ip("10.212.3.7"), modifiedAtMs: old }],
        claims: [{ subnet: subnet("10.212.3.0/24"), alive: true, modifiedAtMs: old }],
      }),
      want: { namespaces: [], claims: [] },
    },
    {
      name: "a namespace a container is labelled with stays, and so does its subnet's claim",
      facts: facts({
        namespaces: [
          { address: ip("10.212.3.7"), modifiedAtMs: old },
          { address: ip("10.212.3.8"), modifiedAtMs: old },
        ],
        claims: [{ subnet: subnet("10.212.3.0/24"), alive: false, modifiedAtMs: old }],
        inUse: new Set([ip("10.212.3.7")]),
      }),
      want: { namespaces: ["10.212.3.8"], claims: [] },
    },
    {
      name: "young namespaces and claims stay: a create may be mid-way",
      facts: facts({
        namespaces: [{ address: ip("10.212.3.7"), modifiedAtMs: NOW - 1 }],
        claims: [{ subnet: subnet("10.212.3.0/24"), alive: false, modifiedAtMs: NOW - 1 }],
      }),
      want: { namespaces: [], claims: [] },
    },
    {
      name: "a namespace of no claim at all stays: nothing proves it ours",
      facts: facts({ namespaces: [{ address: ip("10.99.0.2"), modifiedAtMs: old }] }),
      want: { namespaces: [], claims: [] },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const plan = planNetworkSweep(tc.facts, { graceMs: GRACE });
      assert.deepEqual(
        plan.namespaces.map((a) => tc.facts.namespaces.find((n) => n.address === a) && a),
        tc.want.namespaces.map(ip),
      );
      assert.deepEqual(plan.claims.map(formatCidr), tc.want.claims);
    });
  }
});
