// KubeStore's checks that need no API server (bad input is refused before any request) and close(),
// with a KubeConfig pointing nowhere and a fake watch opener.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeStore } from "./kube-store.ts";
import type { WatchOpener } from "./kube-watch.ts";
import { rejectsWith } from "./store-fixture.ts";
import { sandbox } from "./watch-recorder.ts";

function nowhere(): KubeConfig {
  const kc = new KubeConfig();
  // Port 1 on loopback: nothing listens, so a request that slipped through would fail as UNAVAILABLE.
  kc.loadFromClusterAndUser({ name: "c", server: "http://127.0.0.1:1", skipTLSVerify: true }, { name: "u" });
  return kc;
}

function storeWithWatches(): { store: KubeStore; opened: string[]; aborted: () => number } {
  const opened: string[] = [];
  let aborted = 0;
  const openWatch: WatchOpener = async (path, query) => {
    opened.push(`${path}?rv=${query.resourceVersion}`);
    const controller = new AbortController();
    controller.signal.addEventListener("abort", () => aborted++);
    return controller;
  };
  return { store: new KubeStore({ kubeConfig: nowhere(), openWatch }), opened, aborted: () => aborted };
}

describe("KubeStore without an API server", () => {
  it("watches the collection path of the kind's resource, in one namespace or all", async () => {
    const { store, opened } = storeWithWatches();
    const abort = new AbortController();
    store.watch("Sandbox", { resourceVersion: "5", namespace: "team-a" }, abort.signal);
    store.watch("SandboxPool", { resourceVersion: "6" }, abort.signal);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(opened, [
      "/apis/sandbox.fast.io/v1alpha1/namespaces/team-a/sandboxes?rv=5",
      "/apis/sandbox.fast.io/v1alpha1/sandboxpools?rv=6",
    ]);
    abort.abort();
    await store.close();
  });

  it("ends running watches with UNAVAILABLE on close, and refuses later calls", async () => {
    const { store, aborted } = storeWithWatches();
    const iterator = store
      .watch("Sandbox", { resourceVersion: "5" }, new AbortController().signal)
      [Symbol.asyncIterator]();
    await new Promise((r) => setImmediate(r));
    await store.close();
    await rejectsWith(iterator.next(), ErrorCode.Unavailable, /closed/);
    assert.equal(aborted(), 1, "the watch request was aborted");
    await rejectsWith(store.get("Sandbox", "ns", "a"), ErrorCode.Unavailable);
    const late = store.watch("Sandbox", { resourceVersion: "5" }, new AbortController().signal);
    await rejectsWith(late[Symbol.asyncIterator]().next(), ErrorCode.Unavailable);
    await store.close();
  });

  it("a watch with an already-aborted signal yields nothing and opens no request", async () => {
    const { store, opened } = storeWithWatches();
    let seen = 0;
    for await (const _ of store.watch("Sandbox", { resourceVersion: "5" }, AbortSignal.abort())) seen++;
    await new Promise((r) => setImmediate(r));
    assert.equal(seen, 0);
    assert.deepEqual(opened, []);
    await store.close();
  });

  const refused: Array<[string, (s: KubeStore) => Promise<unknown>]> = [
    ["a kind it does not serve", (s) => s.get("Pod", "ns", "a")],
    ["an empty name", (s) => s.get("Sandbox", "ns", "")],
    ["an empty namespace", (s) => s.list("Sandbox", { namespace: "" })],
    ["a malformed selector", (s) => s.list("Sandbox", { labelSelector: "app in web" })],
    ["an invalid name on create", (s) => s.create(sandbox("ns", "Bad_Name"))],
    [
      "a malformed resourceVersion on update",
      (s) => s.update({ ...fakeStored(), metadata: { ...fakeStored().metadata, resourceVersion: "x" } }),
    ],
    ["a malformed delete precondition", (s) => s.delete("Sandbox", "ns", "a", { resourceVersion: "v1" })],
    [
      "a malformed watch version",
      (s) =>
        s
          .watch("Sandbox", { resourceVersion: "abc" }, new AbortController().signal)
          [Symbol.asyncIterator]()
          .next(),
    ],
  ];
  for (const [what, call] of refused) {
    it(`refuses ${what} with INVALID_ARGUMENT before any request`, async () => {
      const store = new KubeStore({ kubeConfig: nowhere() });
      await assert.rejects(call(store), (err) => isFsbError(err, ErrorCode.InvalidArgument));
      await store.close();
    });
  }

  it("reports an unreachable API server as UNAVAILABLE", async () => {
    const store = new KubeStore({ kubeConfig: nowhere() });
    await rejectsWith(store.get("Sandbox", "ns", "a"), ErrorCode.Unavailable, /unreachable/);
    await store.close();
  });
});

function fakeStored() {
  return {
    apiVersion: "sandbox.fast.io/v1alpha1",
    kind: "Sandbox",
    metadata: {
      name: "a",
      namespace: "ns",
      uid: "u",
      resourceVersion: "1",
      generation: 1,
      creationTimestamp: "2026-01-01T00:00:00Z",
      labels: {},
      annotations: {},
      finalizers: [],
    },
    spec: { image: "busybox" },
    status: {},
  };
}
