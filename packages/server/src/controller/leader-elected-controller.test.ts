// Two controller replicas in one process, electing a leader over an in-memory Lease (fake-lease.ts;
// the Lease API itself is tested against a real server elsewhere) with real Controllers on the
// embedded store: the follower names the leader, and when the leader dies without releasing the
// Lease, the follower takes over and serves within the lease duration plus its start.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { FastPathService } from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import pino from "pino";
import { freePort } from "../core/free-port.ts";
import { FakeLease } from "../kube/fake-lease.ts";
import { Controller } from "./controller.ts";
import { type ControllerConfig, parseControllerConfig } from "./controller-config.ts";
import { LEADER_HEADER } from "./follower-api.ts";
import { LeaderElectedController } from "./leader-elected-controller.ts";

const LEASE_MS = 2000;

async function replicaConfig(dataDir: string): Promise<ControllerConfig> {
  const parsed = parseControllerConfig(
    [
      "--insecure",
      `--api-bind-address=127.0.0.1:${await freePort()}`,
      "--metrics-bind-address=127.0.0.1:0",
      `--health-probe-bind-address=127.0.0.1:${await freePort()}`,
      `--data-dir=${dataDir}`,
      "--agent-launcher=none",
      `--leader-elect-lease-duration=${LEASE_MS}ms`,
      "--leader-elect-renew-deadline=1500ms",
      "--leader-elect-retry-period=250ms",
    ],
    {},
    () => "",
  );
  if (parsed.help) throw new Error("unexpected help");
  return parsed.config;
}

interface Replica {
  name: string;
  config: ControllerConfig;
  elected: LeaderElectedController;
  lost: number;
  client: ReturnType<typeof createClient<typeof FastPathService>>;
}

describe("LeaderElectedController", () => {
  const dirs: string[] = [];
  const replicas: Replica[] = [];
  after(async () => {
    for (const r of replicas) await r.elected.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const replica = async (name: string, lease: ReturnType<FakeLease["client"]>): Promise<Replica> => {
    // One store for both, as the Kubernetes API is one: each replica's Controller opens it when leading.
    if (dirs.length === 0) dirs.push(await mkdtemp(path.join(os.tmpdir(), "fsb-le-")));
    const config = await replicaConfig(dirs[0]!);
    const logger = pino({ level: "silent" });
    const r: Replica = {
      name,
      config,
      lost: 0,
      elected: new LeaderElectedController({
        config,
        lease,
        identity: name,
        controller: () => new Controller(config, logger),
        logger,
        onLostLeadership: () => r.lost++,
      }),
      client: createClient(
        FastPathService,
        createConnectTransport({ baseUrl: `http://127.0.0.1:${config.api.port}`, httpVersion: "1.1" }),
      ),
    };
    replicas.push(r);
    await r.elected.start();
    return r;
  };

  const serves = (r: Replica) =>
    r.client.listSandboxes({}).then(
      () => true,
      () => false,
    );

  it("the follower names the leader; a leader that dies unreleased is replaced within the lease duration", async (t) => {
    const lease = new FakeLease();
    const aLease = lease.client();
    const a = await replica("replica-a", aLease);
    while (!(await serves(a))) await new Promise((r) => setTimeout(r, 20));
    const b = await replica("replica-b", lease.client());
    await new Promise((r) => setTimeout(r, 300)); // b reads the lease once

    const refusal = await b.client.listSandboxes({}).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(refusal instanceof ConnectError && refusal.code === Code.Unavailable, String(refusal));
    assert.match(refusal.message, /not the leader \(the leader is replica-a\)/);
    assert.equal(refusal.metadata.get(LEADER_HEADER), "replica-a");

    // kill -9 of a's process, as the Lease sees it: no renewal, no release.
    const lastRenewal = lease.snapshot!.record.renewTime!;
    aLease.mode = "hanging";
    while (!(await serves(b))) await new Promise((r) => setTimeout(r, 20));
    const failoverMs = Date.now() - lastRenewal;
    assert.equal(lease.holder, "replica-b");
    t.diagnostic(
      `the follower served ${failoverMs} ms after the leader's last renewal (lease ${LEASE_MS} ms)`,
    );
    // The lease duration, at most one retry period of seeing the last renewal late, and the start.
    assert.ok(
      failoverMs >= LEASE_MS && failoverMs < LEASE_MS + 250 + 1500,
      `b served ${failoverMs} ms after a's last renewal`,
    );
    assert.equal(a.lost, 1, "a stepped down at its renew deadline and asked to exit");
    assert.equal(await serves(a), false, "a no longer serves");
    aLease.unhang();
  });
});
