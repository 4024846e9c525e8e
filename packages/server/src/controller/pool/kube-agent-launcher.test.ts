// KubeAgentLauncher's event logic against a fake Pod source (no API server): expectations while the
// cache lags, agents up and down as their Pods change, failed Pods replaced.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError, Labels, type SandboxPool } from "@fast-sandbox/api";
import type { V1Pod } from "@kubernetes/client-node";
import type { AgentRegistration } from "../../agent/controller-registration.ts";
import { ManualClock } from "../../core/manual-clock.ts";
import { AGENT_POD_SELECTOR } from "../../kube/agent-pod-labels.ts";
import type { ListOptions, ListResult, WatchEvent, WatchEventType } from "../../kube/list-watch.ts";
import { WatchStream } from "../../store/watch-stream.ts";
import { readyStatus, servedPod, testPool } from "./agent-pod-fixtures.ts";
import type { AgentPod } from "./agent-pod-view.ts";
import { KubeAgentLauncher } from "./kube-agent-launcher.ts";

type Event = WatchEvent<AgentPod>;

/** The API server as the launcher sees it: what it was asked to do, and a watch the test feeds. */
class FakePods {
  readonly cache = new Map<string, AgentPod>();
  readonly created: V1Pod[] = [];
  readonly deleted: string[] = [];
  readonly selectors: Array<string | undefined> = [];
  createErrors: Error[] = [];
  #rv = 1000;
  readonly #streams = new Set<WatchStream<Event, Event>>();

  async list(_kind: string, options: ListOptions = {}): Promise<ListResult<any>> {
    this.selectors.push(options.labelSelector);
    return { items: [...this.cache.values()], resourceVersion: String(this.#rv) };
  }

  watch(_kind: string, _options: unknown, signal: AbortSignal): AsyncIterable<WatchEvent<any>> {
    const stream: WatchStream<Event, Event> = new WatchStream<Event, Event>({
      limit: 1000,
      signal,
      decode: (e) => e,
      onClose: () => this.#streams.delete(stream),
    });
    this.#streams.add(stream);
    return stream;
  }

  async create(pod: V1Pod): Promise<void> {
    const error = this.createErrors.shift();
    if (error) throw error;
    this.created.push(pod);
  }

  async delete(namespace: string, name: string): Promise<void> {
    this.deleted.push(`${namespace}/${name}`);
  }

  /** The watch delivers a change. */
  emit(type: WatchEventType, pod: AgentPod): void {
    const object = { ...pod, metadata: { ...pod.metadata, resourceVersion: String(++this.#rv) } };
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (type === "DELETED") this.cache.delete(key);
    else this.cache.set(key, object);
    for (const s of this.#streams) s.push({ type, object });
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function started(options: { pods?: FakePods; suffixes?: string[]; clock?: ManualClock } = {}) {
  const pods = options.pods ?? new FakePods();
  const clock = options.clock ?? new ManualClock();
  const events: string[] = [];
  const ups: AgentRegistration[] = [];
  const suffixes = [...(options.suffixes ?? ["aaaaa", "bbbbb", "ccccc", "ddddd"])];
  const launcher = new KubeAgentLauncher({
    pods,
    image: "fast-sandbox:test",
    tokenSecretName: "fast-sandbox-tokens",
    agentPort: 5758,
    clock,
    logger: { info: () => {}, warn: () => {} },
    randomSuffix: () => suffixes.shift() ?? "zzzzz",
    expectationTimeoutMs: 180_000,
    onAgentUp: (r) => {
      ups.push(r);
      events.push(`up ${r.agentId} ${r.url}`);
    },
    onAgentDown: (id) => events.push(`down ${id}`),
    onAgentFailed: (p, id) => events.push(`failed ${p.namespace}/${p.name} ${id}`),
  });
  const abort = new AbortController();
  await launcher.start(abort.signal);
  return { launcher, pods, clock, events, ups, abort };
}

const pool: SandboxPool = testPool("web", { maxSandboxesPerPod: 4 });
const ref = { namespace: "team-a", name: "web" };
const states = (l: KubeAgentLauncher) => l.agents(ref).map((a) => `${a.agentId}:${a.state}`);

describe("KubeAgentLauncher", () => {
  it("adopts the agent Pods that exist at start: Ready ones are reported up", async () => {
    const pods = new FakePods();
    pods.emit("ADDED", servedPod(pool, "web-old01", readyStatus("10.0.0.5", "node-2")));
    pods.emit("ADDED", servedPod(pool, "web-old02", { phase: "Pending" }));
    pods.emit("ADDED", servedPod(testPool("other"), "other-x1234", readyStatus("10.0.0.9")));
    const { launcher, events, ups, abort } = await started({ pods });
    assert.deepEqual(pods.selectors, [AGENT_POD_SELECTOR]);
    assert.deepEqual(states(launcher), ["web-old01:running", "web-old02:starting"]);
    assert.deepEqual(events.sort(), [
      "up other-x1234 http://10.0.0.9:5758",
      "up web-old01 http://10.0.0.5:5758",
    ]);
    assert.deepEqual(
      ups.find((r) => r.agentId === "web-old01"),
      {
        agentId: "web-old01",
        url: "http://10.0.0.5:5758",
        address: "10.0.0.5",
        nodeName: "node-2",
        pool: "web",
        namespace: "team-a",
        capacity: 4,
        runtime: "container",
      },
    );
    abort.abort();
  });

  it("counts a launched agent as starting before the cache shows its Pod, and up once it is Ready", async () => {
    const { launcher, pods, events, abort } = await started();
    const id = await launcher.launch(pool);
    assert.equal(id, "web-aaaaa");
    const created = pods.created[0]!;
    assert.equal(created.metadata?.name, id);
    assert.equal(created.metadata?.namespace, "team-a");
    assert.equal(created.metadata?.labels?.[Labels.Pool], "web");
    assert.deepEqual(states(launcher), ["web-aaaaa:starting"], "the expectation stands in for the Pod");

    pods.emit("ADDED", servedPod(pool, id, {}));
    await settle();
    assert.deepEqual(states(launcher), ["web-aaaaa:starting"]);
    pods.emit("MODIFIED", servedPod(pool, id, { phase: "Running", podIP: "10.0.0.7" }));
    await settle();
    assert.deepEqual(events, [], "Running but not Ready is not up");
    pods.emit("MODIFIED", servedPod(pool, id, readyStatus("10.0.0.7")));
    await settle();
    assert.deepEqual(states(launcher), ["web-aaaaa:running"]);
    assert.deepEqual(events, ["up web-aaaaa http://10.0.0.7:5758"]);
    pods.emit("MODIFIED", servedPod(pool, id, { ...readyStatus("10.0.0.7"), phase: "Running" }));
    await settle();
    assert.equal(events.length, 1, "reported up once, not on every Pod update");
    abort.abort();
  });

  it("reports an agent down when its Pod stops being Ready, and up again when it recovers", async () => {
    const { launcher, pods, events, abort } = await started();
    const id = await launcher.launch(pool);
    pods.emit("ADDED", servedPod(pool, id, readyStatus()));
    await settle();
    pods.emit(
      "MODIFIED",
      servedPod(pool, id, { ...readyStatus(), conditions: [{ type: "Ready", status: "False" }] }),
    );
    await settle();
    assert.deepEqual(states(launcher), ["web-aaaaa:starting"], "a lost agent counts as starting again");
    pods.emit("MODIFIED", servedPod(pool, id, readyStatus()));
    await settle();
    assert.deepEqual(events, [
      "up web-aaaaa http://10.1.2.3:5758",
      "down web-aaaaa",
      "up web-aaaaa http://10.1.2.3:5758",
    ]);
    abort.abort();
  });

  it("counts a removed agent as stopping until its Pod is seen gone", async () => {
    const { launcher, pods, events, abort } = await started();
    const id = await launcher.launch(pool);
    pods.emit("ADDED", servedPod(pool, id, readyStatus()));
    await settle();
    await launcher.remove(ref, id);
    assert.deepEqual(pods.deleted, [`team-a/${id}`]);
    assert.deepEqual(states(launcher), ["web-aaaaa:stopping"], "the cache still shows it Ready");
    pods.emit("MODIFIED", servedPod(pool, id, { ...readyStatus(), deleting: true }));
    await settle();
    assert.deepEqual(states(launcher), ["web-aaaaa:stopping"]);
    pods.emit("DELETED", servedPod(pool, id, { ...readyStatus(), deleting: true }));
    await settle();
    assert.deepEqual(states(launcher), []);
    assert.deepEqual(events, ["up web-aaaaa http://10.1.2.3:5758", "down web-aaaaa"]);
    abort.abort();
  });

  it("deletes a failed Pod once, so the pool controller replaces it", async () => {
    const { launcher, pods, events, abort } = await started();
    const id = await launcher.launch(pool);
    pods.emit("ADDED", servedPod(pool, id, readyStatus()));
    await settle();
    pods.emit("MODIFIED", servedPod(pool, id, { phase: "Failed" }));
    pods.emit("MODIFIED", servedPod(pool, id, { phase: "Failed" }));
    await settle();
    assert.deepEqual(pods.deleted, [`team-a/${id}`]);
    assert.deepEqual(states(launcher), ["web-aaaaa:stopping"]);
    assert.deepEqual(events, [
      "up web-aaaaa http://10.1.2.3:5758",
      "down web-aaaaa",
      "failed team-a/web web-aaaaa",
    ]);
    abort.abort();
  });

  it("forgets a launch whose create failed, and retries a taken name under a new id", async () => {
    const { launcher, pods, abort } = await started();
    pods.createErrors = [new FsbError(ErrorCode.Unavailable, "down")];
    await assert.rejects(launcher.launch(pool), /down/);
    assert.deepEqual(states(launcher), []);
    pods.createErrors = [new FsbError(ErrorCode.AlreadyExists, "taken")];
    assert.equal(await launcher.launch(pool), "web-ccccc");
    assert.deepEqual(states(launcher), ["web-ccccc:starting"]);
    abort.abort();
  });

  it("never reuses the id of a Pod it knows, in any namespace", async () => {
    const pods = new FakePods();
    pods.emit("ADDED", servedPod(testPool("web", {}, "team-b"), "web-aaaaa", {}));
    const { launcher, abort } = await started({ pods });
    assert.equal(await launcher.launch(pool), "web-bbbbb");
    abort.abort();
  });

  it("gives up on a launch the cache never shows after the expectation timeout", async () => {
    const { launcher, clock, abort } = await started();
    await launcher.launch(pool);
    await clock.advance(179_000);
    assert.deepEqual(states(launcher), ["web-aaaaa:starting"]);
    await clock.advance(1_000);
    assert.deepEqual(states(launcher), []);
    abort.abort();
  });

  it("names agents of a long pool name within a DNS label", async () => {
    const long = testPool("p".repeat(63));
    const { launcher, abort } = await started({ suffixes: ["x9y8z"] });
    const id = await launcher.launch(long);
    assert.equal(id, `${"p".repeat(57)}-x9y8z`);
    assert.ok(id.length <= 63);
    abort.abort();
  });

  it("stop() ends the informer and leaves the Pods alone", async () => {
    const { launcher, pods } = await started();
    await launcher.launch(pool);
    await launcher.stop();
    assert.deepEqual(pods.deleted, []);
  });
});
