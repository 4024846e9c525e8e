// The cluster harness without a cluster: test CRDs carry no short names, and the requests of namespace
// and CRD setup and cleanup (paths, verbs, waits, order) against a scripted fake API server.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { API_GROUP } from "@fast-sandbox/api";
import { KubeConfig } from "@kubernetes/client-node";
import {
  applyCrds,
  type CrdObject,
  cleanUp,
  crdNames,
  createNamespace,
  deleteCrds,
  deleteNamespaces,
  guardDeployCrds,
  inGroup,
  permissiveCrd,
  readDeployCrds,
  TEST_NAMESPACE_LABEL,
  testCrdProblem,
} from "./kube-cluster.ts";

/** One scripted answer: an HTTP status and a JSON body. */
type Answer = [status: number, body?: unknown];
type Route = (body: unknown) => Answer;

/**
 * Answers `METHOD path` from a queue per route (the last answer repeats) and records every request;
 * an unscripted request gets 500, so a stray call fails the test.
 */
class FakeApiServer {
  readonly requests: string[] = [];
  readonly bodies = new Map<string, unknown>();
  #routes = new Map<string, Route[]>();
  #server: Server = createServer((req, res) => void this.#answer(req, res));

  async start(): Promise<KubeConfig> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const { port } = this.#server.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser(
      { name: "fake", server: `http://127.0.0.1:${port}`, skipTLSVerify: true },
      { name: "u" },
    );
    return kc;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  reset(): void {
    this.requests.length = 0;
    this.bodies.clear();
    this.#routes.clear();
  }

  on(request: string, ...answers: Array<Answer | Route>): void {
    this.#routes.set(
      request,
      answers.map((a) => (typeof a === "function" ? a : () => a)),
    );
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const key = `${req.method} ${new URL(req.url ?? "/", "http://x").pathname}`;
    this.requests.push(key);
    const body = text === "" ? undefined : JSON.parse(text);
    if (body !== undefined) this.bodies.set(key, body);
    const queue = this.#routes.get(key);
    const route = queue?.length === 1 ? queue[0] : queue?.shift();
    const [status, answer] = route === undefined ? [500, status500(key)] : route(body);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer ?? statusBody(status)));
  }
}

function status500(key: string): unknown {
  return { kind: "Status", apiVersion: "v1", status: "Failure", code: 500, message: `unscripted ${key}` };
}

function statusBody(code: number): unknown {
  const reason = code === 404 ? "NotFound" : code === 409 ? "AlreadyExists" : "Success";
  return { kind: "Status", apiVersion: "v1", status: code < 300 ? "Success" : "Failure", code, reason };
}

const NOT_FOUND: Answer = [404];
const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

describe("test CRDs", () => {
  it("moved to a test group keep their schema but carry no short names or categories", async () => {
    for (const crd of await readDeployCrds()) {
      assert.ok(crd.spec.names.shortNames, `${crd.metadata.name} has short names to strip`);
      const moved = inGroup(crd, "crd-check.sandbox.fast.io");
      assert.equal(moved.metadata.name, `${crd.spec.names.plural}.crd-check.sandbox.fast.io`);
      assert.equal(moved.spec.group, "crd-check.sandbox.fast.io");
      assert.deepEqual(moved.spec.versions, crd.spec.versions);
      const { shortNames: _s, categories: _c, ...kept } = crd.spec.names;
      assert.deepEqual(moved.spec.names, kept);
      assert.equal(testCrdProblem(moved), undefined);
      assert.equal(testCrdProblem(crd), undefined, "the deploy CRDs keep theirs");
    }
    assert.equal(
      testCrdProblem(permissiveCrd("contract.sandbox.fast.io", "Sandbox", "sandboxes")),
      undefined,
    );
  });

  it("with a short name are refused before any request", async () => {
    const [deploy] = await readDeployCrds();
    const stray: CrdObject = {
      ...deploy!,
      metadata: { name: `${deploy!.spec.names.plural}.stray.sandbox.fast.io` },
      spec: { ...deploy!.spec, group: "stray.sandbox.fast.io" },
    };
    assert.match(testCrdProblem(stray) ?? "", /must not declare shortNames or categories/);
    const kc = new KubeConfig();
    kc.loadFromClusterAndUser(
      { name: "c", server: "http://127.0.0.1:1", skipTLSVerify: true },
      { name: "u" },
    );
    await assert.rejects(applyCrds(kc, [stray]), /stray\.sandbox\.fast\.io must not declare shortNames/);
    assert.equal(deploy!.spec.group, API_GROUP);
  });
});

describe("cluster harness requests (fake API server)", () => {
  const server = new FakeApiServer();
  let kc: KubeConfig;
  before(async () => {
    kc = await server.start();
  });
  after(() => server.stop());
  beforeEach(() => server.reset());

  it("createNamespace labels the namespace and waits for its default ServiceAccount", async () => {
    server.on("POST /api/v1/namespaces", [201, { metadata: { name: "ns1" } }]);
    const sa: Answer = [200, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } }];
    server.on("GET /api/v1/namespaces/ns1/serviceaccounts/default", NOT_FOUND, NOT_FOUND, sa);
    await createNamespace(kc, "ns1", "unit");
    assert.deepEqual(server.requests, [
      "POST /api/v1/namespaces",
      ...Array(3).fill("GET /api/v1/namespaces/ns1/serviceaccounts/default"),
    ]);
    assert.deepEqual(server.bodies.get("POST /api/v1/namespaces"), {
      metadata: { name: "ns1", labels: { [TEST_NAMESPACE_LABEL]: "unit" } },
    });
  });

  it("createNamespace accepts an existing namespace", async () => {
    server.on("POST /api/v1/namespaces", [409]);
    server.on("GET /api/v1/namespaces/ns1/serviceaccounts/default", [200, { metadata: { name: "default" } }]);
    await createNamespace(kc, "ns1", "unit");
  });

  it("deleteNamespaces only starts the deletes unless asked to wait", async () => {
    server.on("DELETE /api/v1/namespaces/a", [200, { metadata: { name: "a" } }]);
    server.on("DELETE /api/v1/namespaces/b", NOT_FOUND);
    await deleteNamespaces(kc, ["a", "b"]);
    assert.deepEqual(server.requests, ["DELETE /api/v1/namespaces/a", "DELETE /api/v1/namespaces/b"]);
  });

  it("deleteNamespaces with wait accepts a terminating one and returns once every one reads NotFound", async () => {
    const terminating: Answer = [200, { metadata: { name: "a" }, status: { phase: "Terminating" } }];
    server.on("DELETE /api/v1/namespaces/a", [200, { metadata: { name: "a" } }]);
    const alreadyTerminating = {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      code: 409,
      reason: "Conflict",
      message: "The system is ensuring all content is removed from this namespace.",
    };
    server.on("DELETE /api/v1/namespaces/b", [409, alreadyTerminating]);
    server.on("GET /api/v1/namespaces/a", terminating, terminating, NOT_FOUND);
    server.on("GET /api/v1/namespaces/b", NOT_FOUND);
    await deleteNamespaces(kc, ["a", "b"], { wait: true });
    const reads = server.requests.filter((r) => r.startsWith("GET"));
    assert.deepEqual(reads, [
      "GET /api/v1/namespaces/a",
      "GET /api/v1/namespaces/b",
      "GET /api/v1/namespaces/a",
      "GET /api/v1/namespaces/a",
    ]);
  });

  it("deleteNamespaces with wait fails naming a namespace that stays", async () => {
    server.on("DELETE /api/v1/namespaces/stuck", [200, { metadata: { name: "stuck" } }]);
    server.on("GET /api/v1/namespaces/stuck", [
      200,
      { metadata: { name: "stuck" }, status: { phase: "Terminating" } },
    ]);
    await assert.rejects(
      deleteNamespaces(kc, ["stuck"], { wait: true, timeoutMs: 300 }),
      /namespaces still there after 300 ms: stuck: Terminating/,
    );
  });

  it("deleteCrds deletes each CRD (a missing one is fine) and waits until they are gone", async () => {
    server.on(`DELETE ${CRDS}/sandboxes.contract.sandbox.fast.io`, [200, { metadata: {} }]);
    server.on(`DELETE ${CRDS}/sandboxpools.contract.sandbox.fast.io`, NOT_FOUND);
    const terminating: Answer = [
      200,
      { metadata: { name: "x" }, status: { conditions: [{ type: "Terminating", status: "True" }] } },
    ];
    server.on(`GET ${CRDS}/sandboxes.contract.sandbox.fast.io`, terminating, NOT_FOUND);
    server.on(`GET ${CRDS}/sandboxpools.contract.sandbox.fast.io`, NOT_FOUND);
    const crds = [
      permissiveCrd("contract.sandbox.fast.io", "Sandbox", "sandboxes"),
      permissiveCrd("contract.sandbox.fast.io", "SandboxPool", "sandboxpools"),
    ];
    await deleteCrds(kc, crdNames(crds));
    assert.deepEqual(server.requests, [
      `DELETE ${CRDS}/sandboxes.contract.sandbox.fast.io`,
      `DELETE ${CRDS}/sandboxpools.contract.sandbox.fast.io`,
      `GET ${CRDS}/sandboxes.contract.sandbox.fast.io`,
      `GET ${CRDS}/sandboxpools.contract.sandbox.fast.io`,
      `GET ${CRDS}/sandboxes.contract.sandbox.fast.io`,
    ]);
  });

  it("applyCrds creates a CRD, or replaces it at the version it read", async () => {
    const fresh = permissiveCrd("contract.sandbox.fast.io", "Sandbox", "sandboxes");
    const existing = permissiveCrd("contract.sandbox.fast.io", "SandboxPool", "sandboxpools");
    const established = (crd: CrdObject): Answer => [
      200,
      { ...crd, status: { conditions: [{ type: "Established", status: "True" }] } },
    ];
    server.on(`POST ${CRDS}`, (body) =>
      (body as CrdObject).metadata.name === fresh.metadata.name ? [201, body] : [409],
    );
    server.on(
      `GET ${CRDS}/${existing.metadata.name}`,
      [200, { ...existing, metadata: { ...existing.metadata, resourceVersion: "7" } }],
      established(existing),
    );
    server.on(`PUT ${CRDS}/${existing.metadata.name}`, (body) => [200, body]);
    server.on(`GET ${CRDS}/${fresh.metadata.name}`, established(fresh));
    const list: Answer = [200, { apiVersion: "v1", kind: "List", items: [], metadata: {} }];
    server.on("GET /apis/contract.sandbox.fast.io/v1alpha1/sandboxes", list);
    server.on("GET /apis/contract.sandbox.fast.io/v1alpha1/sandboxpools", list);
    await applyCrds(kc, [fresh, existing]);
    const put = server.bodies.get(`PUT ${CRDS}/${existing.metadata.name}`) as CrdObject;
    assert.equal(put.metadata.resourceVersion, "7", "the replace carries the version read");
    assert.deepEqual(
      server.requests.filter((r) => !r.startsWith("GET")),
      [`POST ${CRDS}`, `POST ${CRDS}`, `PUT ${CRDS}/${existing.metadata.name}`],
    );
  });
});

describe("guardDeployCrds (fake API server)", () => {
  const server = new FakeApiServer();
  after(() => server.stop());

  it("deletes at the end of a run only the deploy CRDs the cluster lacked at its start", async () => {
    const kc = await server.start();
    server.on(`GET ${CRDS}/sandboxes.sandbox.fast.io`, [
      200,
      { metadata: { name: "sandboxes.sandbox.fast.io" } },
    ]);
    server.on(`GET ${CRDS}/sandboxpools.sandbox.fast.io`, NOT_FOUND);
    const restore = await guardDeployCrds(kc);
    server.requests.length = 0;
    server.on(`DELETE ${CRDS}/sandboxpools.sandbox.fast.io`, [200, { metadata: {} }]);
    await restore();
    assert.deepEqual(server.requests, [
      `DELETE ${CRDS}/sandboxpools.sandbox.fast.io`,
      `GET ${CRDS}/sandboxpools.sandbox.fast.io`,
    ]);
  });
});

describe("cleanUp", () => {
  it("runs every step even after a failure, then fails with all the errors", async () => {
    const ran: number[] = [];
    const step = (n: number, fail: boolean) => async () => {
      ran.push(n);
      if (fail) throw new Error(`step ${n}`);
    };
    await assert.rejects(cleanUp(step(1, true), step(2, false), step(3, true)), (err: unknown) => {
      assert.ok(err instanceof AggregateError);
      assert.deepEqual(
        err.errors.map((e: Error) => e.message),
        ["step 1", "step 3"],
      );
      return true;
    });
    assert.deepEqual(ran, [1, 2, 3]);
    await assert.rejects(cleanUp(step(4, true)), /step 4/);
    await cleanUp(step(5, false));
  });
});
