// PoolApi at the door: a pool being deleted cannot be applied again until it is gone.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { API_VERSION, ErrorCode, FsbError, isFsbError, POOL_KIND } from "@fast-sandbox/api";
import { connectCodeFor } from "../../api-server/error-codes.ts";
import { TestWorld } from "../test-world.ts";
import { PoolApi } from "./pool-api.ts";

describe("PoolApi", () => {
  let world: TestWorld;
  let api: PoolApi;
  beforeEach(async () => {
    world = await TestWorld.open();
    api = new PoolApi({
      store: world.store,
      registry: world.registry,
      launcher: undefined,
      enqueue: () => {},
    });
  });
  afterEach(() => world.close());

  it("apply: a pool being deleted is FAILED_PRECONDITION, naming the pool's name", async () => {
    await world.store.create({
      apiVersion: API_VERSION,
      kind: POOL_KIND,
      // A finalizer keeps the object, as the pool controller's does while its agents drain.
      metadata: { name: "going", namespace: "default", finalizers: ["example.com/hold"] },
      spec: {},
    });
    await world.store.delete(POOL_KIND, "default", "going");
    await assert.rejects(
      api.apply({ namespace: "default", name: "going", spec: {}, labels: {} }),
      (err: unknown) => isFsbError(err, ErrorCode.FailedPrecondition) && err.field === "name",
    );
  });

  /** Makes the store's next `times` conditional writes of `method` fail as a lost race would. */
  function conflictOn(method: "update" | "delete", times: number): { calls: () => number } {
    const real = world.store[method].bind(world.store) as (...args: unknown[]) => Promise<unknown>;
    let calls = 0;
    (world.store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      calls++;
      if (calls <= times)
        throw new FsbError(ErrorCode.Aborted, "conflict: the object changed; re-read and retry");
      return real(...args);
    };
    return { calls: () => calls };
  }

  it("delete: a conflict with a status write is re-read and retried, and the pool goes", async () => {
    await api.apply({ namespace: "default", name: "busy-status", spec: {}, labels: {} });
    const deletes = conflictOn("delete", 2);
    await api.delete("default", "busy-status", false);
    assert.equal(deletes.calls(), 3);
    await assert.rejects(api.get("default", "busy-status"), (err: unknown) =>
      isFsbError(err, ErrorCode.NotFound),
    );
  });

  it("apply and delete: conflicts that outlast the retries answer ABORTED (Code.Aborted on the wire)", async () => {
    await api.apply({ namespace: "default", name: "contended", spec: {}, labels: {} });
    const aborted = (err: unknown) =>
      isFsbError(err, ErrorCode.Aborted) && connectCodeFor(err.code) === Code.Aborted;
    conflictOn("update", Number.POSITIVE_INFINITY);
    await assert.rejects(
      api.apply({ namespace: "default", name: "contended", spec: { maxSandboxesPerPod: 2 }, labels: {} }),
      aborted,
    );
    const deletes = conflictOn("delete", Number.POSITIVE_INFINITY);
    await assert.rejects(api.delete("default", "contended", false), aborted);
    assert.equal(deletes.calls(), 3, "each of the attempts re-read and tried again");
  });
});
