// The mapping between Kubernetes objects and StoredObjects, both ways, with no API server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError, type StoredObject } from "@fast-sandbox/api";
import {
  fromKubeObject,
  isEmptyStatus,
  type KubeObject,
  toKubeCreateBody,
  toKubeStatusBody,
  toKubeUpdateBody,
} from "./kube-object-mapping.ts";
import type { KubeResource } from "./kube-resources.ts";

const resource: KubeResource = { group: "sandbox.fast.io", version: "v1alpha1", plural: "sandboxes" };

/** A Sandbox as an API server returns it, with the metadata the store does not model. */
function serverObject(): KubeObject {
  return {
    apiVersion: "sandbox.fast.io/v1alpha1",
    kind: "Sandbox",
    metadata: {
      name: "web",
      namespace: "team-a",
      uid: "0b5f4f0c-4d7e-4d8c-9f0a-2d8e1f6a7b3c",
      resourceVersion: "4711",
      generation: 3,
      creationTimestamp: "2025-01-02T03:04:05Z",
      deletionTimestamp: "2025-01-02T03:05:00Z",
      deletionGracePeriodSeconds: 0,
      labels: { app: "web" },
      annotations: { note: "hi" },
      finalizers: ["sandbox.fast.io/cleanup"],
      ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: "u-1" }],
      managedFields: [{ manager: "fast-sandbox", operation: "Update" }],
    },
    spec: { image: "busybox:1", args: ["sleep", "1"] },
    status: { phase: "Running", observedGeneration: 3 },
  };
}

const stored: StoredObject = {
  apiVersion: "sandbox.fast.io/v1alpha1",
  kind: "Sandbox",
  metadata: {
    name: "web",
    namespace: "team-a",
    uid: "0b5f4f0c-4d7e-4d8c-9f0a-2d8e1f6a7b3c",
    resourceVersion: "4711",
    generation: 3,
    creationTimestamp: "2025-01-02T03:04:05Z",
    deletionTimestamp: "2025-01-02T03:05:00Z",
    labels: { app: "web" },
    annotations: { note: "hi" },
    finalizers: ["sandbox.fast.io/cleanup"],
  },
  spec: { image: "busybox:1", args: ["sleep", "1"] },
  status: { phase: "Running", observedGeneration: 3 },
};

describe("fromKubeObject", () => {
  it("keeps exactly the ObjectMeta fields, apiVersion, kind, spec and status", () => {
    assert.deepEqual(fromKubeObject(serverObject(), "test"), stored);
  });

  it("defaults absent labels, annotations and finalizers to empty and spec and status to {}", () => {
    const raw = serverObject();
    const { labels, annotations, finalizers, deletionTimestamp, ...meta } = raw.metadata!;
    const got = fromKubeObject({ apiVersion: raw.apiVersion, kind: raw.kind, metadata: meta }, "test");
    assert.deepEqual(got.metadata.labels, {});
    assert.deepEqual(got.metadata.annotations, {});
    assert.deepEqual(got.metadata.finalizers, []);
    assert.equal("deletionTimestamp" in got.metadata, false);
    assert.deepEqual(got.spec, {});
    assert.deepEqual(got.status, {});
    assert.ok(labels && annotations && finalizers && deletionTimestamp);
  });

  it("writes Date timestamps from typed client models in the server's RFC 3339 form", () => {
    const raw = serverObject();
    raw.metadata!.creationTimestamp = new Date("2025-01-02T03:04:05.000Z");
    assert.equal(fromKubeObject(raw, "test").metadata.creationTimestamp, "2025-01-02T03:04:05Z");
  });

  it("maps a null status (a status cleared with a merge patch) to {}", () => {
    assert.deepEqual(fromKubeObject({ ...serverObject(), status: null }, "test").status, {});
  });

  const malformed: Array<[string, (o: KubeObject) => unknown]> = [
    ["not an object", () => "text"],
    ["no metadata", (o) => ({ ...o, metadata: undefined })],
    ["no kind", (o) => ({ ...o, kind: undefined })],
    ["no uid", (o) => ({ ...o, metadata: { ...o.metadata, uid: "" } })],
    ["no resourceVersion", (o) => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } })],
    ["no creationTimestamp", (o) => ({ ...o, metadata: { ...o.metadata, creationTimestamp: undefined } })],
    ["a fractional generation", (o) => ({ ...o, metadata: { ...o.metadata, generation: 1.5 } })],
    ["a label that is not a string", (o) => ({ ...o, metadata: { ...o.metadata, labels: { a: 1 } } })],
    ["finalizers that are not a list", (o) => ({ ...o, metadata: { ...o.metadata, finalizers: "x" } })],
  ];
  for (const [what, make] of malformed) {
    it(`reports an object with ${what} as INTERNAL`, () => {
      assert.throws(
        () => fromKubeObject(make(serverObject()), "Sandbox team-a/web"),
        (err) => isFsbError(err, ErrorCode.Internal) && /malformed Sandbox team-a\/web/.test(err.message),
      );
    });
  }
});

describe("toKubeCreateBody", () => {
  it("sends the resource's apiVersion, the client fields, spec and a non-empty status", () => {
    const body = toKubeCreateBody({ ...stored, apiVersion: "ignored/v0" }, resource);
    assert.deepEqual(body, {
      apiVersion: "sandbox.fast.io/v1alpha1",
      kind: "Sandbox",
      metadata: {
        name: "web",
        namespace: "team-a",
        labels: { app: "web" },
        annotations: { note: "hi" },
        finalizers: ["sandbox.fast.io/cleanup"],
      },
      spec: stored.spec,
      status: stored.status,
    });
  });

  it("leaves out empty collections and an empty status", () => {
    const bare = {
      ...stored,
      metadata: { ...stored.metadata, labels: {}, annotations: {}, finalizers: [] },
      status: {},
    };
    assert.deepEqual(toKubeCreateBody(bare, resource), {
      apiVersion: "sandbox.fast.io/v1alpha1",
      kind: "Sandbox",
      metadata: { name: "web", namespace: "team-a" },
      spec: stored.spec,
    });
  });

  it("round-trips: what the server stores from a create body maps back to the same client fields", () => {
    const body = toKubeCreateBody(stored, resource);
    const echoed = {
      ...body,
      metadata: {
        ...body.metadata,
        uid: stored.metadata.uid,
        resourceVersion: "1",
        generation: 1,
        creationTimestamp: stored.metadata.creationTimestamp,
      },
    };
    const back = fromKubeObject(echoed, "test");
    assert.deepEqual(
      [back.metadata.labels, back.metadata.annotations, back.metadata.finalizers, back.spec, back.status],
      [
        stored.metadata.labels,
        stored.metadata.annotations,
        stored.metadata.finalizers,
        stored.spec,
        stored.status,
      ],
    );
  });
});

describe("toKubeUpdateBody", () => {
  it("keeps what the store does not model, drops managedFields, replaces spec and client fields", () => {
    const current = serverObject();
    const before = structuredClone(current);
    const body = toKubeUpdateBody(
      current,
      { image: "busybox:2" },
      {
        labels: {},
        annotations: { note: "bye" },
        finalizers: [],
      },
    );
    assert.deepEqual(current, before, "the current object is not modified");
    const { managedFields, labels, finalizers, ...keptMeta } = before.metadata!;
    assert.ok(managedFields && labels && finalizers);
    assert.deepEqual(body, {
      ...before,
      metadata: { ...keptMeta, annotations: { note: "bye" } },
      spec: { image: "busybox:2" },
    });
    assert.equal(
      (body.metadata as { resourceVersion?: string }).resourceVersion,
      "4711",
      "checked against the read",
    );
  });
});

describe("toKubeStatusBody", () => {
  it("carries only the address, the version and the status", () => {
    assert.deepEqual(toKubeStatusBody(stored, resource), {
      apiVersion: "sandbox.fast.io/v1alpha1",
      kind: "Sandbox",
      metadata: { name: "web", namespace: "team-a", resourceVersion: "4711" },
      status: stored.status,
    });
  });

  it("sends an empty status as none", () => {
    assert.equal("status" in toKubeStatusBody({ ...stored, status: {} }, resource), false);
  });

  const empties: Array<[unknown, boolean]> = [
    [undefined, true],
    [null, true],
    [{}, true],
    [{ phase: "Running" }, false],
    [[], false],
  ];
  for (const [status, empty] of empties) {
    it(`isEmptyStatus(${JSON.stringify(status)}) is ${empty}`, () =>
      assert.equal(isEmptyStatus(status), empty));
  }
});
