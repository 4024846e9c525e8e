// viewAgentPod on Pods built by buildAgentPod, in each state an API server reports.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildAgentPod } from "./agent-pod.ts";
import { podOptions, readyStatus, servedPod, testPool } from "./agent-pod-fixtures.ts";
import { type AgentPodPhase, viewAgentPod } from "./agent-pod-view.ts";

const pool = testPool("web", { maxSandboxesPerPod: 3, runtimeType: "gvisor" });
const defaults = { agentPort: 5758 };

describe("viewAgentPod", () => {
  it("registers a Running, Ready Pod with an IP at that IP, with the Pod's capacity, runtime and port", () => {
    const built = buildAgentPod(pool, { ...podOptions, agentId: "web-abcde", agentPort: 7000 });
    const view = viewAgentPod(
      servedPod(pool, "web-abcde", readyStatus("10.1.2.3", "node-7"), built),
      defaults,
    );
    assert.equal(view.phase, "ready");
    assert.deepEqual(view.pool, { namespace: "team-a", name: "web" });
    assert.equal(view.createdAt, Date.parse("2026-01-02T00:00:00Z"));
    assert.deepEqual(view.registration, {
      agentId: "web-abcde",
      url: "http://10.1.2.3:7000",
      address: "10.1.2.3",
      nodeName: "node-7",
      pool: "web",
      namespace: "team-a",
      capacity: 3,
      runtime: "gvisor",
    });
  });

  it("brackets an IPv6 Pod IP in the URL", () => {
    const view = viewAgentPod(servedPod(pool, "web-abcde", readyStatus("fd00::7")), defaults);
    assert.equal(view.registration?.url, "http://[fd00::7]:5758");
  });

  it("takes the last --runtime of the args (the template's flags come after ours)", () => {
    const templated = testPool("web", {
      agentTemplate: { spec: { containers: [{ name: "agent", args: ["--runtime", "container"] }] } },
      runtimeType: "gvisor",
    });
    const view = viewAgentPod(servedPod(templated, "web-abcde", readyStatus()), defaults);
    assert.equal(view.registration?.runtime, "container");
  });

  const phases: Array<{ name: string; status: Parameters<typeof servedPod>[2]; phase: AgentPodPhase }> = [
    { name: "just created (no status)", status: {}, phase: "pending" },
    { name: "Pending on a node", status: { phase: "Pending", nodeName: "node-1" }, phase: "pending" },
    {
      name: "Running but not Ready",
      status: { ...readyStatus(), conditions: [{ type: "Ready", status: "False" }] },
      phase: "pending",
    },
    { name: "Ready without an IP", status: { ...readyStatus(), podIP: undefined }, phase: "pending" },
    { name: "Failed (evicted)", status: { phase: "Failed" }, phase: "failed" },
    { name: "Succeeded", status: { phase: "Succeeded" }, phase: "failed" },
    { name: "being deleted while Ready", status: { ...readyStatus(), deleting: true }, phase: "terminating" },
  ];
  for (const c of phases) {
    it(`a Pod ${c.name} is ${c.phase}, with no registration`, () => {
      const view = viewAgentPod(servedPod(pool, "web-abcde", c.status), defaults);
      assert.equal(view.phase, c.phase);
      assert.equal(view.registration, undefined);
    });
  }

  it("has no pool for a Pod without the pool label", () => {
    const pod = servedPod(pool, "web-abcde", readyStatus());
    const { "sandbox.fast.io/pool": _, ...labels } = pod.metadata.labels;
    const view = viewAgentPod({ ...pod, metadata: { ...pod.metadata, labels } }, defaults);
    assert.equal(view.pool, undefined);
    assert.equal(view.registration, undefined);
  });
});
