// PoolApi at the door: a pool being deleted cannot be applied again until it is gone.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { API_VERSION, ErrorCode, isFsbError, POOL_KIND } from "@fast-sandbox/api";
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
});
