// The Kubernetes store against a real cluster (FSB_TEST_KUBECONFIG): the shared ObjectStore contract on
// permissive test CRDs, and a round trip through the deploy CRDs' schemas (served in a test group).
// Without a cluster, one visibly skipped test says how to run them.
import assert from "node:assert/strict";
import { after, before, describe, it, test } from "node:test";
import {
  API_VERSION,
  ErrorCode,
  isFsbError,
  SANDBOX_FINALIZER,
  type SandboxPoolSpec,
  type SandboxPoolStatus,
  type SandboxSpec,
  type SandboxStatus,
} from "@fast-sandbox/api";
import { type KubeConfig, VersionApi } from "@kubernetes/client-node";
import {
  applyCrds,
  type CrdObject,
  cleanUp,
  crdNames,
  createNamespace,
  deleteCrds,
  deleteNamespaces,
  inGroup,
  KUBE_SKIP_MESSAGE,
  permissiveCrd,
  readDeployCrds,
  resourcesInGroup,
  testKubeConfig,
  testKubeconfigPath,
  uniqueName,
} from "../../../../test/harness/kube-cluster.ts";
import type { KubeResources } from "./kube-resources.ts";
import { KubeStore } from "./kube-store.ts";
import { NamespacePrefixStore } from "./namespace-prefix-store.ts";
import { runStoreContract } from "./store-contract.ts";
import { rejectsWith } from "./store-fixture.ts";
import { retryOnConflict } from "./watch-recorder.ts";

/** The contract's kinds live in a group of their own, with schemas that keep any spec and status. */
const CONTRACT_GROUP = "contract.sandbox.fast.io";
/**
 * The deploy CRDs' schemas are checked in a group of their own too, so the controller of the end-to-end
 * test (watching sandbox.fast.io, maybe at the same time) never touches these objects.
 */
const CRD_CHECK_GROUP = "crd-check.sandbox.fast.io";
const contractResources: KubeResources = {
  Sandbox: { group: CONTRACT_GROUP, version: "v1alpha1", plural: "sandboxes" },
  SandboxPool: { group: CONTRACT_GROUP, version: "v1alpha1", plural: "sandboxpools" },
};

const kubeconfig = testKubeconfigPath();
if (kubeconfig === undefined) {
  test("kubernetes store contract", { skip: KUBE_SKIP_MESSAGE }, () => {});
} else {
  const kc = testKubeConfig(kubeconfig);
  const namespaces = new Set<string>();
  let crdCheckResources: KubeResources;
  let testCrds: CrdObject[] = [];

  describe("KubeStore on a cluster", () => {
    before(async () => {
      const deployCrds = await readDeployCrds();
      crdCheckResources = resourcesInGroup(deployCrds, CRD_CHECK_GROUP);
      testCrds = [
        ...deployCrds.map((crd) => inGroup(crd, CRD_CHECK_GROUP)),
        permissiveCrd(CONTRACT_GROUP, "Sandbox", "sandboxes"),
        permissiveCrd(CONTRACT_GROUP, "SandboxPool", "sandboxpools"),
      ];
      await applyCrds(kc, testCrds);
    });
    // The test groups are this file's alone: their CRDs go at the end, whatever happened before.
    after(() =>
      cleanUp(
        () => deleteNamespaces(kc, namespaces, { wait: true }),
        () => deleteCrds(kc, crdNames(testCrds)),
      ),
    );

    // Each test gets namespaces of its own (`<prefix>-ns-a`), created on first use, deleted after it.
    runStoreContract("KubeStore", async () => {
      const mine = new Set<string>();
      const inner = new KubeStore({ kubeConfig: kc, resources: contractResources });
      const store = new NamespacePrefixStore(inner, uniqueName("fsbct"), async (namespace) => {
        if (mine.has(namespace)) return;
        await createNamespace(kc, namespace, "store-contract");
        mine.add(namespace);
        namespaces.add(namespace);
      });
      return {
        store,
        // The API server answers a removal with the last stored state (see KubeStore); no expireHistory:
        // etcd compaction cannot be forced from a client.
        removalReturnsItsVersion: false,
        cleanup: async () => {
          await store.close();
          await releaseFinalizers(kc, contractResources, mine);
          await deleteNamespaces(kc, mine);
        },
      };
    });

    describe("the deploy CRDs' schemas", () => {
      let store: KubeStore;
      let namespace: string;
      before(async () => {
        store = new KubeStore({ kubeConfig: kc, resources: crdCheckResources });
        namespace = uniqueName("fsbcrd");
        await createNamespace(kc, namespace, "store-crds");
        namespaces.add(namespace);
      });
      after(async () => {
        await store.close();
        await releaseFinalizers(kc, crdCheckResources, [namespace]);
      });

      it("keep a Sandbox with defaults, status through the subresource, a finalizer and deletion", async () => {
        const created = await store.create<SandboxSpec, SandboxStatus>({
          apiVersion: API_VERSION,
          kind: "Sandbox",
          metadata: { namespace, name: "web", labels: { app: "web" }, finalizers: [SANDBOX_FINALIZER] },
          spec: { image: "busybox:1", command: ["sleep", "600"] },
          status: { phase: "Pending" },
        });
        assert.equal(created.apiVersion, `${CRD_CHECK_GROUP}/v1alpha1`);
        assert.deepEqual(created.spec, {
          image: "busybox:1",
          command: ["sleep", "600"],
          poolRef: "default-pool",
          failurePolicy: "Manual",
          recoveryTimeoutSeconds: 60,
        });
        assert.deepEqual(created.status, {}, "status is not written on create with a status subresource");
        assert.equal(created.metadata.generation, 1);

        const running = await store.updateStatus<SandboxSpec, SandboxStatus>({
          ...created,
          status: {
            phase: "Running",
            assignedAgent: "agent-1",
            endpoints: ["10.0.0.7:80"],
            observedGeneration: 1,
          },
        });
        assert.equal(running.status.phase, "Running");
        assert.equal(running.metadata.generation, 1);

        const statusIgnored = await store.update({ ...running, status: { phase: "Failed" } });
        assert.equal(statusIgnored.metadata.resourceVersion, running.metadata.resourceVersion);

        const reset = await store.update({
          ...running,
          spec: { ...running.spec, resetRevision: "2030-01-01T00:00:00Z" },
        });
        assert.equal(reset.metadata.generation, 2);
        assert.equal(reset.status.phase, "Running", "a spec update keeps the status");

        await rejectsWith(
          store.updateStatus({ ...reset, status: { phase: "Sleeping" as SandboxStatus["phase"] } }),
          ErrorCode.InvalidArgument,
        );

        const deleting = await store.delete<SandboxSpec, SandboxStatus>("Sandbox", namespace, "web");
        assert.ok(deleting.metadata.deletionTimestamp);
        assert.deepEqual(deleting.metadata.finalizers, [SANDBOX_FINALIZER]);
        const terminating = await store.updateStatus({
          ...deleting,
          status: { ...deleting.status, phase: "Terminating" },
        });
        await store.update({ ...terminating, metadata: { ...terminating.metadata, finalizers: [] } });
        await rejectsWith(store.get("Sandbox", namespace, "web"), ErrorCode.NotFound);
      });

      it("reject a Sandbox without an image with INVALID_ARGUMENT", async () => {
        await rejectsWith(
          store.create({
            apiVersion: API_VERSION,
            kind: "Sandbox",
            metadata: { namespace, name: "no-image" },
            spec: {},
          }),
          ErrorCode.InvalidArgument,
        );
      });

      it("refuse a SandboxPool whose poolMin is above its poolMax (CEL, 1.25+)", async (t) => {
        const version = await kc.makeApiClient(VersionApi).getCode();
        // Distributions write the minor as "29+"; servers before 1.25 drop the rule (docs/kubernetes.md).
        if (Number(version.major) === 1 && Number.parseInt(version.minor, 10) < 25) {
          t.skip(`API server ${version.gitVersion} has no CEL validation rules on by default`);
          return;
        }
        await rejectsWith(
          store.create({
            apiVersion: API_VERSION,
            kind: "SandboxPool",
            metadata: { namespace, name: "upside-down" },
            spec: { capacity: { poolMin: 5, poolMax: 2 } },
          }),
          ErrorCode.InvalidArgument,
          /spec\.capacity.*poolMin must not be more than poolMax/,
        );
      });

      it("default a SandboxPool's capacity and keep its status", async () => {
        const pool = await store.create<Partial<SandboxPoolSpec>, SandboxPoolStatus>({
          apiVersion: API_VERSION,
          kind: "SandboxPool",
          metadata: { namespace, name: "pool" },
          spec: { capacity: {} as SandboxPoolSpec["capacity"] },
        });
        assert.equal(pool.spec.capacity?.poolMin, 1);
        assert.equal(pool.spec.capacity?.poolMax, 10);
        assert.equal(pool.spec.maxSandboxesPerPod, 5);
        const withStatus = await store.updateStatus({
          ...pool,
          status: {
            observedGeneration: 1,
            currentAgents: 2,
            readyAgents: 1,
            totalSlots: 10,
            allocatedSlots: 3,
          },
        });
        assert.equal(withStatus.status.readyAgents, 1);
        const listed = await store.list("SandboxPool", { namespace });
        assert.deepEqual(
          listed.items.map((p) => p.metadata.name),
          ["pool"],
        );
        await store.delete("SandboxPool", namespace, "pool");
      });
    });
  });
}

/** Drops every finalizer in `namespaces`, so deleting the namespaces cannot hang on our objects. */
async function releaseFinalizers(
  kc: KubeConfig,
  resources: KubeResources,
  namespaces: Iterable<string>,
): Promise<void> {
  const store = new KubeStore({ kubeConfig: kc, resources });
  try {
    for (const namespace of namespaces) {
      for (const kind of ["Sandbox", "SandboxPool"]) {
        const { items } = await store.list(kind, { namespace });
        for (const item of items.filter((o) => o.metadata.finalizers.length > 0)) {
          await retryOnConflict(async () => {
            const current = await store.get(kind, namespace, item.metadata.name);
            return store.update({ ...current, metadata: { ...current.metadata, finalizers: [] } });
          }).catch((err: unknown) => {
            if (!isFsbError(err, ErrorCode.NotFound)) throw err;
          });
        }
      }
    }
  } finally {
    await store.close();
  }
}
