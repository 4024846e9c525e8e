/** What the store contract suite needs from a backend, and its small test helpers. */
import assert from "node:assert/strict";
import { it, type TestContext } from "node:test";
import { type ErrorCode, type FsbError, isFsbError } from "@fast-sandbox/api";
import type { ObjectStore } from "./object-store.ts";

/** A fresh, empty store for one test. */
export interface StoreFixture {
  store: ObjectStore;
  cleanup(): Promise<void>;
  /**
   * Makes the store forget its event history up to now, as its retention limit or an etcd compaction
   * would, so a watch from an earlier version gets OUT_OF_RANGE. Tests that need it are skipped without.
   */
  expireHistory?(): Promise<void>;
  /**
   * Whether a write that removes an object (a delete without finalizers, or an update that removes the
   * last finalizer of an object being deleted) returns it at the version of the removal, the version its
   * DELETED event carries (default true). Kubernetes answers with the last stored state instead (or a
   * Status), so only the DELETED event tells the removal's version; tests then match it by type.
   */
  removalReturnsItsVersion?: boolean;
}

export type MakeStore = () => Promise<StoreFixture>;

/** Registers a test that runs `body` against a fresh store and always cleans up. */
export function storeTest(
  makeStore: MakeStore,
  title: string,
  body: (store: ObjectStore, fixture: StoreFixture, t: TestContext) => Promise<void>,
): void {
  it(title, async (t) => {
    const fixture = await makeStore();
    try {
      await body(fixture.store, fixture, t);
    } finally {
      await fixture.cleanup();
    }
  });
}

/** Asserts that `promise` rejects with an FsbError of `code` (message optionally matching). */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isFsbError(err), `expected an FsbError ${code}, got ${String(err)}`);
    assert.equal((err as FsbError).code, code, (err as FsbError).message);
    if (message) assert.match((err as FsbError).message, message);
    return true;
  });
}
