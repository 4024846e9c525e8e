/**
 * Test support for a real Kubernetes cluster (FSB_TEST_KUBECONFIG): the CRDs applied and Established,
 * throwaway namespaces, and cleanup that leaves the cluster as it was. Tests that need a cluster skip
 * with {@link KUBE_SKIP_MESSAGE} without one.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { API_GROUP, ErrorCode, isFsbError } from "@fast-sandbox/api";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { loadKubeConfig } from "../../packages/server/src/kube/kube-config.ts";
import { kubeError } from "../../packages/server/src/kube/kube-errors.ts";
import type { KubeResource } from "../../packages/server/src/store/kube-resources.ts";
import { KubeStore } from "../../packages/server/src/store/kube-store.ts";

export const KUBE_TEST_ENV = "FSB_TEST_KUBECONFIG";
export const KUBE_SKIP_MESSAGE = `set ${KUBE_TEST_ENV}=<kubeconfig> to run against a cluster`;
/** Every namespace a test creates carries this label, so a crashed run's leftovers can be found. */
export const TEST_NAMESPACE_LABEL = "fast-sandbox.test/owner";

const root = path.resolve(import.meta.dirname, "../..");
export const CRD_DIR = path.join(root, "deploy/base/crds");
const CRDS = { group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions" };
const ESTABLISH_TIMEOUT_MS = 60_000;
/** The ServiceAccount controller (kube-controller-manager) makes a namespace's `default` within moments. */
const SERVICE_ACCOUNT_TIMEOUT_MS = 30_000;
/** The namespace controller deletes every object in a namespace before the namespace goes. */
const NAMESPACE_GONE_TIMEOUT_MS = 90_000;
/** A deleted CRD goes once the API server has deleted its objects (none may hold a finalizer). */
const CRD_GONE_TIMEOUT_MS = 60_000;
const POLL_MS = 250;

/** A CustomResourceDefinition as plain JSON (only what the helpers read is typed). */
export interface CrdObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; resourceVersion?: string; [k: string]: unknown };
  spec: {
    group: string;
    names: { kind: string; plural: string; [k: string]: unknown };
    versions: Array<{ name: string; served: boolean; storage: boolean; [k: string]: unknown }>;
    [k: string]: unknown;
  };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

/** The kubeconfig path of the test cluster, if one was given. */
export function testKubeconfigPath(): string | undefined {
  const value = process.env[KUBE_TEST_ENV];
  return value === undefined || value === "" ? undefined : value;
}

export function testKubeConfig(file: string): KubeConfig {
  return loadKubeConfig({ kubeconfig: file, env: {} }).kubeConfig;
}

/** A name no other run uses: `<prefix>-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** The CRDs of deploy/base/crds/*.yaml, as written (no typed model in between, so nothing is dropped). */
export async function readDeployCrds(): Promise<CrdObject[]> {
  const files = (await readdir(CRD_DIR)).filter((f) => f.endsWith(".yaml")).sort();
  const crds: CrdObject[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(path.join(CRD_DIR, file), "utf8"))) {
      const value = doc.toJS() as CrdObject | null;
      if (value?.kind === "CustomResourceDefinition") crds.push(value);
    }
  }
  return crds;
}

/**
 * A CRD with the same schema served in another group: tests check the deploy CRDs' schemas there, so
 * a controller watching sandbox.fast.io (another test file's, running at the same time) never acts on
 * their objects.
 */
export function inGroup(crd: CrdObject, group: string): CrdObject {
  const { shortNames: _shortNames, categories: _categories, ...names } = crd.spec.names;
  return {
    ...crd,
    metadata: { name: `${crd.spec.names.plural}.${group}`, labels: { [TEST_NAMESPACE_LABEL]: "crd-check" } },
    // No short names or categories: a test CRD left behind must not capture `kubectl get sb`.
    spec: { ...crd.spec, group, names: names as CrdObject["spec"]["names"] },
  };
}

/**
 * Why a CRD may not be applied by a test, or undefined: only the deploy CRDs (group sandbox.fast.io)
 * may carry short names or categories, which kubectl resolves across groups.
 */
export function testCrdProblem(crd: CrdObject): string | undefined {
  if (crd.spec.group === API_GROUP) return undefined;
  const taken = (["shortNames", "categories"] as const).filter((k) => crd.spec.names[k] !== undefined);
  if (taken.length === 0) return undefined;
  return `test CRD ${crd.metadata.name} must not declare ${taken.join(" or ")}: kubectl would resolve them to it`;
}

/** The names of CRDs, for {@link deleteCrds}. */
export function crdNames(crds: CrdObject[]): string[] {
  return crds.map((crd) => crd.metadata.name);
}

/** The resources of the deploy CRDs moved to `group` by {@link inGroup}, by kind. */
export function resourcesInGroup(crds: CrdObject[], group: string): Record<string, KubeResource> {
  return Object.fromEntries(crds.map((crd) => [crd.spec.names.kind, resourceOfCrd(inGroup(crd, group))]));
}

/** The resource a CRD serves (its storage version). */
export function resourceOfCrd(crd: CrdObject): KubeResource {
  const version = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0]!;
  return { group: crd.spec.group, version: version.name, plural: crd.spec.names.plural };
}

/**
 * A namespaced CRD with a status subresource that accepts any spec and status, with no defaults: the
 * store contract checks what a store does with arbitrary content, which a real schema would prune.
 */
export function permissiveCrd(group: string, kind: string, plural: string): CrdObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}`, labels: { [TEST_NAMESPACE_LABEL]: "store-contract" } },
    spec: {
      group,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      scope: "Namespaced",
      versions: [
        {
          name: "v1alpha1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
      ],
    },
  };
}

/**
 * Creates each CRD or replaces it with the given content (create-or-update, retried on conflicts, so
 * test files applying the same CRDs at once are fine), then waits until each is Established and its
 * resource answers.
 */
export async function applyCrds(kc: KubeConfig, crds: CrdObject[]): Promise<void> {
  const problems = crds.map(testCrdProblem).filter((p) => p !== undefined);
  if (problems.length > 0) throw new Error(problems.join("; "));
  const api = kc.makeApiClient(CustomObjectsApi);
  for (const crd of crds) {
    const name = crd.metadata.name;
    for (let attempt = 1; ; attempt++) {
      try {
        await api.createClusterCustomObject({ ...CRDS, body: crd });
        break;
      } catch (err) {
        if (!isFsbError(kubeError(err, "create"), ErrorCode.AlreadyExists))
          throw kubeError(err, `create CRD ${name}`);
      }
      const existing = (await api.getClusterCustomObject({ ...CRDS, name })) as CrdObject;
      const body = {
        ...crd,
        metadata: { ...crd.metadata, resourceVersion: existing.metadata.resourceVersion },
      };
      try {
        await api.replaceClusterCustomObject({ ...CRDS, name, body });
        break;
      } catch (err) {
        const error = kubeError(err, `replace CRD ${name}`);
        if (!isFsbError(error, ErrorCode.Aborted) || attempt >= 5) throw error;
      }
    }
  }
  const deadline = Date.now() + ESTABLISH_TIMEOUT_MS;
  for (const crd of crds) {
    const name = crd.metadata.name;
    for (;;) {
      const current = (await api.getClusterCustomObject({ ...CRDS, name })) as CrdObject;
      const conditions = current.status?.conditions ?? [];
      const established = conditions.some((c) => c.type === "Established" && c.status === "True");
      if (established && (await resourceAnswers(api, resourceOfCrd(crd)))) break;
      if (Date.now() > deadline) {
        throw new Error(
          `CRD ${name} not Established after ${ESTABLISH_TIMEOUT_MS} ms: ${JSON.stringify(conditions)}`,
        );
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

/**
 * For a whole run of the cluster suites: notes which deploy CRDs (sandbox.fast.io) the cluster lacks
 * now, and returns what deletes exactly those once every suite is done. Suites apply the deploy CRDs
 * as they need them, several at once, so none of them may delete them; CRDs a user had stay.
 */
export async function guardDeployCrds(kc: KubeConfig): Promise<() => Promise<void>> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const missing: string[] = [];
  for (const name of crdNames(await readDeployCrds())) {
    try {
      await api.getClusterCustomObject({ ...CRDS, name });
    } catch (err) {
      const error = kubeError(err, `read CRD ${name}`);
      if (!isFsbError(error, ErrorCode.NotFound)) throw error;
      missing.push(name);
    }
  }
  return () => deleteCrds(kc, missing);
}

/**
 * Deletes CRDs (a missing one is fine) and waits until they are gone, with every object they served;
 * fails naming those still there (an object holding a finalizer keeps its CRD Terminating).
 */
export async function deleteCrds(kc: KubeConfig, names: Iterable<string>): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const pending = [...names];
  for (const name of pending) {
    await deleted(api.deleteClusterCustomObject({ ...CRDS, name }), `delete CRD ${name}`);
  }
  await waitUntilGone(pending, CRD_GONE_TIMEOUT_MS, "CRD", async (name) => {
    const crd = (await api.getClusterCustomObject({ ...CRDS, name })) as CrdObject;
    return JSON.stringify(crd.status?.conditions ?? []);
  });
}

/** Established can come a moment before the resource's endpoint serves; a list proves it does. */
async function resourceAnswers(api: CustomObjectsApi, resource: KubeResource): Promise<boolean> {
  try {
    await api.listCustomObjectForAllNamespaces({
      group: resource.group,
      version: resource.version,
      resourcePlural: resource.plural,
      limit: 1,
    });
    return true;
  } catch (err) {
    if (isFsbError(kubeError(err, "list"), ErrorCode.NotFound)) return false;
    throw err;
  }
}

/**
 * Creates a namespace labelled as a test's (an existing one is fine) and waits until its `default`
 * ServiceAccount exists: until then the API server refuses any Pod in it (403, "error looking up
 * service account").
 */
export async function createNamespace(kc: KubeConfig, name: string, owner: string): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  try {
    await api.createNamespace({ body: { metadata: { name, labels: { [TEST_NAMESPACE_LABEL]: owner } } } });
  } catch (err) {
    const error = kubeError(err, `create namespace ${name}`);
    if (!isFsbError(error, ErrorCode.AlreadyExists)) throw error;
  }
  const deadline = Date.now() + SERVICE_ACCOUNT_TIMEOUT_MS;
  for (;;) {
    try {
      await api.readNamespacedServiceAccount({ namespace: name, name: "default" });
      return;
    } catch (err) {
      const error = kubeError(err, `read ServiceAccount ${name}/default`);
      if (!isFsbError(error, ErrorCode.NotFound)) throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `namespace ${name} has no ServiceAccount "default" after ${SERVICE_ACCOUNT_TIMEOUT_MS} ms ` +
          "(kube-controller-manager's serviceaccount controller makes it); Pods in it would be refused",
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export interface DeleteNamespacesOptions {
  /** Wait (bounded) until they are gone, and fail naming those still there. */
  wait?: boolean;
  /** How long to wait (default 90 s: the namespace controller deletes every object in it first). */
  timeoutMs?: number;
}

/** Deletes namespaces (their objects go with them); a missing or terminating one is fine. Waits only when asked. */
export async function deleteNamespaces(
  kc: KubeConfig,
  names: Iterable<string>,
  options: DeleteNamespacesOptions = {},
): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  const pending = [...names];
  for (const name of pending) {
    // A namespace already Terminating answers 409 Conflict ("the system is ensuring all content is
    // removed from this namespace"): its deletion is under way, which is what was asked.
    await deleted(api.deleteNamespace({ name }), `delete namespace ${name}`, [ErrorCode.Aborted]);
  }
  if (options.wait !== true) return;
  const timeoutMs = options.timeoutMs ?? NAMESPACE_GONE_TIMEOUT_MS;
  await waitUntilGone(pending, timeoutMs, "namespace", async (name) => {
    const namespace = await api.readNamespace({ name });
    return `${namespace.status?.phase ?? "?"} ${JSON.stringify(namespace.status?.conditions ?? [])}`;
  });
}

/**
 * Runs every cleanup step even when one fails (node:test skips the later `after` hooks of a suite
 * once one throws), then fails with all their errors.
 */
export async function cleanUp(...steps: Array<() => Promise<unknown>>): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanup steps failed`);
}

/**
 * Empties the finalizers of every Sandbox left in `namespace`: once the test's controllers are gone,
 * nothing else would release them, and they would hold the namespace's deletion forever.
 */
export async function releaseSandboxFinalizers(kc: KubeConfig, namespace: string): Promise<void> {
  const store = new KubeStore({ kubeConfig: kc });
  try {
    for (const s of (await store.list("Sandbox", { namespace })).items) {
      await store.update({ ...s, metadata: { ...s.metadata, finalizers: [] } }).catch(() => {});
    }
  } finally {
    await store.close();
  }
}

/** Awaits a delete; NOT_FOUND, or any of `alsoFine`, counts as done. */
async function deleted(request: Promise<unknown>, what: string, alsoFine: ErrorCode[] = []): Promise<void> {
  try {
    await request;
  } catch (err) {
    const error = kubeError(err, what);
    if (![ErrorCode.NotFound, ...alsoFine].some((code) => isFsbError(error, code))) throw error;
  }
}

/**
 * Polls until reading each of `names` answers NOT_FOUND; after `timeoutMs` fails naming those left,
 * each with what `describe` (a read) tells of it.
 */
async function waitUntilGone(
  names: string[],
  timeoutMs: number,
  what: string,
  describe: (name: string) => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = new Map(names.map((name) => [name, ""]));
  for (;;) {
    const stillThere = new Map<string, string>();
    for (const name of left.keys()) {
      try {
        stillThere.set(name, await describe(name));
      } catch (err) {
        if (!isFsbError(kubeError(err, `read ${what} ${name}`), ErrorCode.NotFound)) throw err;
      }
    }
    if (stillThere.size === 0) return;
    if (Date.now() > deadline) {
      const report = [...stillThere].map(([name, state]) => `${name}: ${state}`).join("; ");
      throw new Error(`${what}s still there after ${timeoutMs} ms: ${report}`);
    }
    left = stillThere;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
