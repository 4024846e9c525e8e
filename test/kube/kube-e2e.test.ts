// Kubernetes mode end to end on a real cluster (FSB_TEST_KUBECONFIG): the CRDs applied, a SandboxPool
// and a Sandbox made with plain API calls, fsb-controller on the Kubernetes store, and an fsb-agent
// outside the cluster that registers itself with the pool. Nothing runs in a Pod, so an API server
// without a kubelet is enough. Without a cluster, one visibly skipped test says how to run it.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it, test } from "node:test";
import { API_GROUP, API_VERSION, ErrorCode, isFsbError, SANDBOX_FINALIZER } from "@fast-sandbox/api";
import { CustomObjectsApi, EventsV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { kubeError } from "../../packages/server/src/kube/kube-errors.ts";
import { type AgentProcess, removeLogDir, startAgentProcess, tempLogDir } from "../harness/agent-process.ts";
import { TEST_NAMESPACE } from "../harness/constants.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import {
  applyCrds,
  cleanUp,
  createNamespace,
  deleteNamespaces,
  KUBE_SKIP_MESSAGE,
  readDeployCrds,
  releaseSandboxFinalizers,
  testKubeConfig,
  testKubeconfigPath,
  uniqueName,
} from "../harness/kube-cluster.ts";
import { eventually, leftoversOf } from "../harness/leftovers.ts";

const POOL = "e2e-pool";
const VERSION = "v1alpha1";
/** Writes go through the API server and a watch before the controller acts on them. */
const CLUSTER_TIMEOUT_MS = 30_000;

/** Custom objects are plain JSON here, read as the API server returns them. */
type Json = any;

const kubeconfig = testKubeconfigPath();
if (kubeconfig === undefined) {
  test("kubernetes end to end", { skip: KUBE_SKIP_MESSAGE }, () => {});
} else {
  describe("Kubernetes mode end to end", () => {
    const kc: KubeConfig = testKubeConfig(kubeconfig);
    const api = kc.makeApiClient(CustomObjectsApi);
    const namespace = uniqueName("fsbe2e");
    const agentId = uniqueName("e2e-agent");
    let conn: ContainerdConnection;
    let ctl: ControllerProcess | undefined;
    let agent: AgentProcess | undefined;
    let logDir: string;
    let scratch: string;

    const sandboxes = { group: API_GROUP, version: VERSION, namespace, plural: "sandboxes" };
    const pools = { group: API_GROUP, version: VERSION, namespace, plural: "sandboxpools" };
    /** The Sandbox as the API server has it, or undefined once it is gone. */
    const readSandbox = async (name: string): Promise<Json | undefined> => {
      try {
        return await api.getNamespacedCustomObject({ ...sandboxes, name });
      } catch (err) {
        if (isFsbError(kubeError(err, "get"), ErrorCode.NotFound)) return undefined;
        throw err;
      }
    };

    before(async () => {
      await applyCrds(kc, await readDeployCrds());
      await createNamespace(kc, namespace, "kube-e2e");
      await api.createNamespacedCustomObject({
        ...pools,
        body: {
          apiVersion: API_VERSION,
          kind: "SandboxPool",
          metadata: { name: POOL },
          // No launched agents: the pool's capacity is the agent started below.
          spec: { capacity: { poolMin: 0, poolMax: 1, bufferMin: 0, bufferMax: 4 }, maxSandboxesPerPod: 2 },
        },
      });
      conn = await testConnection();
      ctl = await startControllerProcess({
        socketPath: conn.socketPath,
        localAgents: 0,
        lossTimeout: "8s",
        extraArgs: [
          "--store",
          "kubernetes",
          "--kubeconfig",
          kubeconfig,
          "--agent-launcher",
          "none",
          "--pool",
          POOL,
          "--pool-namespace",
          namespace,
        ],
      });
      scratch = await mkdtemp(path.join(os.tmpdir(), "fsb-kube-e2e-"));
      await writeFile(path.join(scratch, "token"), ctl.token, { mode: 0o600 });
      logDir = await tempLogDir();
      agent = await startAgentProcess({
        socketPath: conn.socketPath,
        namespace: TEST_NAMESPACE,
        agentId,
        capacity: 2,
        logDir,
        token: ctl.agentToken,
        extraArgs: [
          "--controller-url",
          ctl.url,
          "--controller-token-file",
          path.join(scratch, "token"),
          "--pool",
          POOL,
          "--namespace",
          namespace,
        ],
      });
    });

    after(async () => {
      await cleanUp(
        async () => ctl?.cleanup(),
        async () => agent?.stop(),
        () => releaseSandboxFinalizers(kc, namespace),
        async () => logDir && removeLogDir(logDir),
        async () => scratch && rm(scratch, { recursive: true, force: true }),
        async () => conn?.close(),
        () => deleteNamespaces(kc, [namespace], { wait: true }),
      );
    });

    it("runs a Sandbox made with a plain API call on the self-registered agent, with its status and finalizer", async () => {
      await api.createNamespacedCustomObject({
        ...sandboxes,
        body: {
          apiVersion: API_VERSION,
          kind: "Sandbox",
          metadata: { name: "kubectl-made" },
          spec: { image: "busybox", command: ["sleep", "600"], poolRef: POOL },
        },
      });
      const running = await eventually(
        () => readSandbox("kubectl-made"),
        (s) => s?.status?.phase === "Running",
        CLUSTER_TIMEOUT_MS,
      );
      assert.equal(running?.status?.phase, "Running", JSON.stringify(running?.status));
      assert.ok(running.metadata.finalizers.includes(SANDBOX_FINALIZER), "the cleanup finalizer is set");
      assert.equal(running.status.assignedAgent, agentId);
      assert.match(running.status.sandboxID, /^kubectl-made-/);
      assert.equal(running.status.observedGeneration, running.metadata.generation);
      assert.equal(running.status.nodeName !== undefined, true);
      const ready = (running.status.conditions ?? []).find((c: Json) => c.type === "Ready");
      assert.equal(ready?.status, "True", JSON.stringify(running.status.conditions));
      assert.equal((await leftoversOf(conn, running.status.sandboxID)).container, true);

      const viaApi = await ctl!.client.getSandbox({ name: "kubectl-made", namespace });
      assert.equal(viaApi.phase, "Running");
      assert.equal(viaApi.uid, running.metadata.uid);
    });

    it("reports the agent in the pool's status", async () => {
      const pool = await eventually(
        (): Promise<Json> => api.getNamespacedCustomObject({ ...pools, name: POOL }),
        (p) => p?.status?.readyAgents >= 1 && p?.status?.observedGeneration === p?.metadata?.generation,
        CLUSTER_TIMEOUT_MS,
      );
      assert.equal(pool.status.observedGeneration, pool.metadata.generation, JSON.stringify(pool.status));
      assert.ok(pool.status.readyAgents >= 1, JSON.stringify(pool.status));
      assert.ok(pool.status.totalSlots >= 2, JSON.stringify(pool.status));
    });

    it("deletes through the finalizer: the container goes first, then the object", async () => {
      const existing = await readSandbox("kubectl-made");
      assert.ok(existing, "the Sandbox of the first test exists");
      const sandboxID: string = existing.status.sandboxID;
      await api.deleteNamespacedCustomObject({ ...sandboxes, name: "kubectl-made" });
      const gone = await eventually(
        () => readSandbox("kubectl-made"),
        (s) => s === undefined,
        CLUSTER_TIMEOUT_MS,
      );
      assert.equal(gone, undefined, "the controller removed its finalizer");
      assert.equal((await leftoversOf(conn, sandboxID)).container, false, "the container went first");
    });

    it("records events.k8s.io/v1 Events that tell the Sandbox's story, from scheduling to deletion", async () => {
      const events = kc.makeApiClient(EventsV1Api);
      const fieldSelector = "regarding.kind=Sandbox,regarding.name=kubectl-made";
      const wanted = ["Scheduled", "Started", "Deleted"];
      // Events are written in the background: the Deleted one may land just after the object went.
      const list = await eventually(
        () => events.listNamespacedEvent({ namespace, fieldSelector }),
        (l) => wanted.every((r) => l.items.some((e) => e.reason === r)),
        CLUSTER_TIMEOUT_MS,
      );
      const story = list.items.map((e) => `${e.type} ${e.reason}: ${e.note}`);
      for (const reason of wanted)
        assert.ok(
          list.items.some((e) => e.reason === reason),
          story.join("\n"),
        );
      for (const e of list.items) {
        assert.equal(e.regarding?.apiVersion, API_VERSION);
        assert.equal(e.reportingController, "sandbox.fast.io/fsb-controller");
        assert.ok(e.reportingInstance, "the replica is named");
        assert.ok(e.action, "every event has an action");
      }
      const scheduled = list.items.find((e) => e.reason === "Scheduled");
      assert.equal(scheduled?.type, "Normal");
      assert.match(scheduled?.note ?? "", new RegExp(agentId));
    });

    it("stores a Sandbox created through the Fast-Path API as an object in the cluster", async () => {
      const created = await ctl!.client.createSandbox({
        name: "api-made",
        namespace,
        image: "busybox",
        command: ["sleep", "600"],
        poolRef: POOL,
      });
      assert.equal(created.sandbox?.agent, agentId);
      const stored = await eventually(
        () => readSandbox("api-made"),
        (s) => s?.status?.phase === "Running",
        CLUSTER_TIMEOUT_MS,
      );
      assert.equal(stored?.status?.sandboxID, created.sandbox?.sandboxId);
      assert.ok(stored.metadata.finalizers.includes(SANDBOX_FINALIZER));

      await ctl!.client.deleteSandbox({ name: "api-made", namespace, gracePeriodSeconds: 0 });
      const gone = await eventually(
        () => readSandbox("api-made"),
        (s) => s === undefined,
        CLUSTER_TIMEOUT_MS,
      );
      assert.equal(gone, undefined);
      assert.equal((await leftoversOf(conn, created.sandbox!.sandboxId)).container, false);
    });
  });
}
