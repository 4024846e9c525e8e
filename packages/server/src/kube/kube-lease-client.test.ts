// The Lease wire form (MicroTime with microseconds), and leader election on a real cluster's Lease
// when FSB_TEST_KUBECONFIG is set.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { V1MicroTime } from "@kubernetes/client-node";
import {
  createNamespace,
  deleteNamespaces,
  KUBE_SKIP_MESSAGE,
  testKubeConfig,
  testKubeconfigPath,
  uniqueName,
} from "../../../../test/harness/kube-cluster.ts";
import { KubeLeaseClient, leaseSpec, snapshotOf } from "./kube-lease-client.ts";
import { LeaderElector } from "./leader-elector.ts";

const at = Date.parse("2025-03-04T05:06:07.891Z");

describe("Lease wire form", () => {
  it("writes acquire and renew times as RFC 3339 with microseconds", () => {
    const json = JSON.parse(
      JSON.stringify(
        leaseSpec({
          holderIdentity: "a",
          leaseDurationSeconds: 15,
          acquireTime: at,
          renewTime: at + 1,
          leaseTransitions: 2,
        }),
      ),
    );
    assert.deepEqual(json, {
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      acquireTime: "2025-03-04T05:06:07.891000Z",
      renewTime: "2025-03-04T05:06:07.892000Z",
      leaseTransitions: 2,
    });
  });

  it("reads times as the typed client returns them (strings or Dates), and absent fields as empty", () => {
    const snapshot = snapshotOf({
      metadata: { name: "l", resourceVersion: "12" },
      spec: {
        holderIdentity: "b",
        leaseDurationSeconds: 15,
        acquireTime: "2025-03-04T05:06:07.891000Z" as unknown as V1MicroTime,
        renewTime: new V1MicroTime(at),
      },
    });
    assert.deepEqual(snapshot, {
      resourceVersion: "12",
      record: {
        holderIdentity: "b",
        leaseDurationSeconds: 15,
        acquireTime: at,
        renewTime: at,
        leaseTransitions: 0,
      },
    });
    assert.equal(snapshotOf({ metadata: { resourceVersion: "1" } }).record.holderIdentity, "");
  });
});

const kubeconfig = testKubeconfigPath();
describe("leader election on a cluster's Lease", {
  skip: kubeconfig === undefined && KUBE_SKIP_MESSAGE,
}, () => {
  const kc = kubeconfig === undefined ? undefined : testKubeConfig(kubeconfig);
  const namespace = uniqueName("fsble");
  before(() => createNamespace(kc!, namespace, "leader-election"));
  after(() => deleteNamespaces(kc!, [namespace], { wait: true }));

  it("elects one replica, and hands over when it stops", async () => {
    const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
    const leading: string[] = [];
    const start = (identity: string) => {
      const abort = new AbortController();
      const elector = new LeaderElector({
        client: new KubeLeaseClient(kc!, { namespace, name: "election-test" }),
        identity,
        ...timings,
        onStartedLeading: () => leading.push(identity),
        onStoppedLeading: () => {},
      });
      return { elector, abort, done: elector.run(abort.signal) };
    };
    const a = start("replica-a");
    await until(() => a.elector.isLeader, 10_000);
    const b = start("replica-b");
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(b.elector.isLeader, false, "the standby waits while the leader renews");
    a.abort.abort();
    await a.done;
    await until(() => b.elector.isLeader, 5000);
    assert.deepEqual(leading, ["replica-a", "replica-b"]);
    const lease = await new KubeLeaseClient(kc!, { namespace, name: "election-test" }).get();
    assert.equal(lease?.record.holderIdentity, "replica-b");
    assert.equal(lease?.record.leaseTransitions, 1);
    b.abort.abort();
    await b.done;
    const released = await new KubeLeaseClient(kc!, { namespace, name: "election-test" }).get();
    assert.equal(released?.record.holderIdentity, "");
  });
});

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
