// Ownership from Kubernetes: the facts from Sandboxes and agent Pods (pure), and a read against a
// cluster when FSB_TEST_KUBECONFIG is set (agent Pods bound to made-up nodes: no kubelet needed).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  API_VERSION,
  ErrorCode,
  FsbError,
  isFsbError,
  Labels,
  type SandboxSpec,
  type SandboxStatus,
  type StoredObject,
} from "@fast-sandbox/api";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import {
  applyCrds,
  cleanUp,
  crdNames,
  createNamespace,
  deleteCrds,
  deleteNamespaces,
  inGroup,
  KUBE_SKIP_MESSAGE,
  readDeployCrds,
  resourcesInGroup,
  testKubeConfig,
  testKubeconfigPath,
  uniqueName,
} from "../../../../test/harness/kube-cluster.ts";
import { KubeStore } from "../store/kube-store.ts";
import { SqliteStore } from "../store/sqlite-store.ts";
import { KubeOwnershipSource, ownershipFacts } from "./kube-ownership-source.ts";
import { Ownership, type OwnershipSource } from "./ownership.ts";

function sandbox(name: string, uid: string, sandboxID?: string): StoredObject<SandboxSpec, SandboxStatus> {
  return {
    apiVersion: API_VERSION,
    kind: "Sandbox",
    metadata: {
      name,
      namespace: "team-a",
      uid,
      resourceVersion: "1",
      generation: 1,
      creationTimestamp: "2026-01-01T00:00:00Z",
      labels: {},
      annotations: {},
      finalizers: [],
    },
    spec: { image: "busybox" },
    status: sandboxID === undefined ? {} : { phase: "Running", sandboxID },
  };
}

describe("ownershipFacts", () => {
  it("keeps each Sandbox's uid and container, and names agents by their label or Pod name", () => {
    const facts = ownershipFacts(
      [sandbox("web", "u-1", "web-0a1b2c3d"), sandbox("pending", "u-2")],
      [
        { metadata: { name: "pool-abcde", labels: { [Labels.Agent]: "pool-abcde" } } },
        { metadata: { name: "renamed-pod", labels: { [Labels.Agent]: "agent-x" } } },
        { metadata: { name: "unlabelled" } },
        { metadata: {} },
      ],
    );
    assert.deepEqual(facts, {
      sandboxes: [
        { namespace: "team-a", name: "web", uid: "u-1", sandboxId: "web-0a1b2c3d" },
        { namespace: "team-a", name: "pending", uid: "u-2", sandboxId: "" },
      ],
      agents: ["pool-abcde", "agent-x", "unlabelled"],
    });
    const ownership = new Ownership(facts);
    assert.equal(ownership.ownerOfContainer("web-0a1b2c3d")?.uid, "u-1");
    assert.equal(ownership.byName("team-a", "pending")?.sandboxId, "");
    assert.equal(ownership.hasAgent("agent-x"), true);
    assert.equal(ownership.hasAgent("renamed-pod"), false);
  });
});

describe("KubeOwnershipSource (fake store and Pod list)", () => {
  let dir: string;
  let store: SqliteStore;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromClusterAndUser(
    { name: "c", server: "https://127.0.0.1:1", skipTLSVerify: false },
    { name: "u" },
  );
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "fsb-kube-ownership-"));
    store = new SqliteStore({ dir });
    const created = await store.create<SandboxSpec, SandboxStatus>({
      apiVersion: API_VERSION,
      kind: "Sandbox",
      metadata: { namespace: "team-a", name: "web" },
      spec: { image: "busybox" },
    });
    await store.updateStatus({ ...created, status: { phase: "Running", sandboxID: "web-0a1b2c3d" } });
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const controller = (agents: string[]): OwnershipSource => ({
    read: async () => new Ownership({ sandboxes: [], agents }),
  });

  it("lists this node's agent Pods and counts the controller's agents too", async () => {
    const nodes: string[] = [];
    const source = new KubeOwnershipSource({
      kubeConfig,
      nodeName: "node-1",
      store,
      listAgentPods: async (node) => {
        nodes.push(node);
        return [{ metadata: { name: "pool-abcde", labels: { [Labels.Agent]: "pool-abcde" } } }];
      },
      agentsAlso: controller(["hand-started"]),
    });
    const ownership = await source.read();
    assert.deepEqual(nodes, ["node-1"]);
    assert.equal(ownership.ownerOfContainer("web-0a1b2c3d")?.name, "web");
    assert.equal(ownership.hasAgent("pool-abcde"), true);
    assert.equal(ownership.hasAgent("hand-started"), true);
    assert.equal(ownership.hasAgent("gone"), false);
  });

  it("fails the read when any part fails, so the scan deletes nothing", async () => {
    const unavailable = async (): Promise<never> => {
      throw new FsbError(ErrorCode.Unavailable, "down");
    };
    const failingPods = new KubeOwnershipSource({
      kubeConfig,
      nodeName: "n",
      store,
      listAgentPods: unavailable,
    });
    await assert.rejects(failingPods.read(), (err) => isFsbError(err, ErrorCode.Unavailable));
    const failingController = new KubeOwnershipSource({
      kubeConfig,
      nodeName: "n",
      store,
      listAgentPods: async () => [],
      agentsAlso: { read: unavailable },
    });
    await assert.rejects(failingController.read(), (err) => isFsbError(err, ErrorCode.Unavailable));
  });
});

const OWNERSHIP_GROUP = "janitor-check.sandbox.fast.io";
const kubeconfig = testKubeconfigPath();
describe("KubeOwnershipSource on a cluster", { skip: kubeconfig === undefined && KUBE_SKIP_MESSAGE }, () => {
  const kc = kubeconfig === undefined ? undefined : testKubeConfig(kubeconfig);
  const namespace = uniqueName("fsbjan");
  const node = uniqueName("fsb-test-node");
  const pods: string[] = [];
  let store: KubeStore;
  let testCrds: string[] = [];

  before(async () => {
    // The deploy CRDs in a group of their own: a controller another test runs never touches these.
    const crds = await readDeployCrds();
    const moved = crds.map((crd) => inGroup(crd, OWNERSHIP_GROUP));
    testCrds = crdNames(moved);
    await applyCrds(kc!, moved);
    // Waits for the namespace's default ServiceAccount, without which the agent Pods below get 403.
    await createNamespace(kc!, namespace, "janitor-ownership");
    store = new KubeStore({ kubeConfig: kc!, resources: resourcesInGroup(crds, OWNERSHIP_GROUP) });
  });
  after(() =>
    cleanUp(
      async () => {
        const core = kc!.makeApiClient(CoreV1Api);
        // Bound to nodes without a kubelet, the Pods only go when deleted at once.
        for (const name of pods)
          await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }).catch(() => {});
      },
      // Undefined when `before` failed early.
      async () => store?.close(),
      () => deleteNamespaces(kc!, [namespace], { wait: true }),
      // The janitor-check group is this file's alone: its CRDs go, whatever happened before.
      () => deleteCrds(kc!, testCrds),
    ),
  );

  async function agentPod(agentId: string, nodeName: string): Promise<void> {
    await kc!.makeApiClient(CoreV1Api).createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: agentId,
          labels: {
            "app.kubernetes.io/managed-by": "fast-sandbox",
            "app.kubernetes.io/component": "agent",
            [Labels.Agent]: agentId,
          },
        },
        spec: { nodeName, containers: [{ name: "agent", image: "busybox" }] },
      },
    });
    pods.push(agentId);
  }

  it("sees the Sandboxes of every namespace and only this node's agent Pods", async () => {
    const created = await store.create<SandboxSpec, SandboxStatus>({
      apiVersion: API_VERSION,
      kind: "Sandbox",
      metadata: { namespace, name: "owned" },
      spec: { image: "busybox:1" },
    });
    await store.updateStatus({ ...created, status: { phase: "Running", sandboxID: "owned-1a2b3c4d" } });
    await agentPod("here-agent", node);
    await agentPod("elsewhere-agent", `${node}-other`);

    const ownership = await new KubeOwnershipSource({ kubeConfig: kc!, nodeName: node, store }).read();
    assert.equal(ownership.ownerOfContainer("owned-1a2b3c4d")?.uid, created.metadata.uid);
    assert.equal(ownership.byName(namespace, "owned")?.name, "owned");
    assert.equal(ownership.hasAgent("here-agent"), true);
    assert.equal(ownership.hasAgent("elsewhere-agent"), false);
    await store.delete("Sandbox", namespace, "owned");
  });
});
