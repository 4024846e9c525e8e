// The wire PoolInfo becomes plain PoolDetails: numbers for int64s, Dates, plain objects, a complete spec.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { PoolInfoSchema } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import { toPoolDetails } from "./pool-info.ts";

const CREATED = new Date("2026-05-01T12:00:00Z");

describe("toPoolDetails", () => {
  it("maps every field of a pool with prewarm, an agent template, conditions and agents", () => {
    const info = create(PoolInfoSchema, {
      name: "small-pool",
      namespace: "team-a",
      uid: "u-1",
      spec: {
        capacity: { poolMin: 1, poolMax: 2, bufferMin: 1, bufferMax: 4 },
        maxSandboxesPerPod: 2,
        runtimeType: "gvisor",
        prewarm: [
          {
            image: "docker.io/library/busybox:latest",
            command: ["sleep"],
            args: ["600"],
            env: [{ name: "A", value: "1" }],
            count: 3,
          },
        ],
        agentTemplate: { spec: { nodeSelector: { disk: "ssd" }, priority: 5 } },
      },
      labels: { team: "a" },
      annotations: { note: "n" },
      createdAt: timestampFromDate(CREATED),
      generation: 3n,
      observedGeneration: 2n,
      currentAgents: 2,
      readyAgents: 1,
      totalSlots: 2,
      allocatedSlots: 1,
      conditions: [
        {
          type: "Scaling",
          status: "True",
          reason: "ScalingUp",
          message: "1 agent starting",
          lastTransitionTime: timestampFromDate(CREATED),
        },
      ],
      agents: [
        {
          id: "small-pool-0",
          node: "n1",
          healthy: true,
          draining: false,
          capacity: 2,
          allocated: 1,
          prewarmReady: 3,
          launchState: "running",
        },
      ],
      resourceVersion: "17",
    });
    assert.deepEqual(toPoolDetails(info), {
      name: "small-pool",
      namespace: "team-a",
      uid: "u-1",
      spec: {
        capacity: { poolMin: 1, poolMax: 2, bufferMin: 1, bufferMax: 4 },
        maxSandboxesPerPod: 2,
        runtimeType: "gvisor",
        prewarm: [
          {
            image: "docker.io/library/busybox:latest",
            command: ["sleep"],
            args: ["600"],
            env: [{ name: "A", value: "1" }],
            count: 3,
          },
        ],
        agentTemplate: { spec: { nodeSelector: { disk: "ssd" }, priority: 5 } },
        network: { mode: "isolated", egress: undefined, allowSandboxOverride: false },
        seccompProfile: { type: "RuntimeDefault" },
      },
      status: {
        generation: 3,
        observedGeneration: 2,
        currentAgents: 2,
        readyAgents: 1,
        totalSlots: 2,
        allocatedSlots: 1,
        conditions: [
          {
            type: "Scaling",
            status: "True",
            reason: "ScalingUp",
            message: "1 agent starting",
            lastTransitionTime: CREATED,
          },
        ],
      },
      agents: [
        {
          id: "small-pool-0",
          node: "n1",
          healthy: true,
          draining: false,
          capacity: 2,
          allocated: 1,
          prewarmReady: 3,
          launchState: "running",
        },
      ],
      labels: { team: "a" },
      annotations: { note: "n" },
      createdAt: CREATED,
      resourceVersion: "17",
    });
  });

  it("fills the documented defaults into a spec the server left unset", () => {
    const details = toPoolDetails(create(PoolInfoSchema, { name: "p", spec: { capacity: { poolMax: 3 } } }));
    assert.deepEqual(details.spec, {
      capacity: { poolMin: 1, poolMax: 3, bufferMin: 0, bufferMax: 10 },
      maxSandboxesPerPod: 5,
      runtimeType: "container",
      prewarm: [],
      agentTemplate: undefined,
      network: { mode: "isolated", egress: undefined, allowSandboxOverride: false },
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.equal(details.createdAt, undefined);
    assert.deepEqual(details.agents, []);
  });

  it("keeps a zero that was set (poolMin 0 is not the default 1)", () => {
    const details = toPoolDetails(
      create(PoolInfoSchema, { spec: { capacity: { poolMin: 0, bufferMax: 0 } } }),
    );
    assert.equal(details.spec.capacity.poolMin, 0);
    assert.equal(details.spec.capacity.bufferMax, 0);
  });

  it("returns plain objects the caller may change without touching the message", () => {
    const info = create(PoolInfoSchema, { spec: { agentTemplate: { a: { b: 1 } } }, labels: { x: "y" } });
    const details = toPoolDetails(info);
    (details.spec.agentTemplate!.a as { b: number }).b = 2;
    details.labels.x = "z";
    assert.deepEqual(info.spec?.agentTemplate, { a: { b: 1 } });
    assert.equal(info.labels.x, "y");
  });
});
