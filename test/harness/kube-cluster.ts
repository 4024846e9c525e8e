/**
 * Test support for a real Kubernetes cluster (FSB_TEST_KUBECONFIG): the CRDs applied and Established,
 * throwaway namespaces. Tests that need a cluster skip with {@link KUBE_SKIP_MESSAGE} without one.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { loadKubeConfig } from "../../packages/server/src/kube/kube-config.ts";
import { kubeError } from "../../packages/server/src/kube/kube-errors.ts";
import type { KubeResource } from "../../packages/server/src/store/kube-resources.ts";

export const KUBE_TEST_ENV = "FSB_TEST_KUBECONFIG";
export const KUBE_SKIP_MESSAGE = `set ${KUBE_TEST_ENV}=<kubeconfig> to run against a cluster`;
/** Every namespace a test creates carries this label, so a crashed run's leftovers can be found. */
export const TEST_NAMESPACE_LABEL = "fast-sandbox.test/owner";

const root = path.resolve(import.meta.dirname, "../..");
export const CRD_DIR = path.join(root, "deploy/base/crds");
const CRDS = { group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions" };
const ESTABLISH_TIMEOUT_MS = 60_000;

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
  return {
    ...crd,
    metadata: { name: `${crd.spec.names.plural}.${group}`, labels: { [TEST_NAMESPACE_LABEL]: "crd-check" } },
    spec: { ...crd.spec, group },
  };
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
      await new Promise((r) => setTimeout(r, 250));
    }
  }
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

/** Creates a namespace labelled as a test's (an existing one is fine). */
export async function createNamespace(kc: KubeConfig, name: string, owner: string): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  try {
    await api.createNamespace({ body: { metadata: { name, labels: { [TEST_NAMESPACE_LABEL]: owner } } } });
  } catch (err) {
    const error = kubeError(err, `create namespace ${name}`);
    if (!isFsbError(error, ErrorCode.AlreadyExists)) throw error;
  }
}

/** Starts deleting namespaces (their objects go with them); a missing one is fine. Does not wait. */
export async function deleteNamespaces(kc: KubeConfig, names: Iterable<string>): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  for (const name of names) {
    try {
      await api.deleteNamespace({ name });
    } catch (err) {
      const error = kubeError(err, `delete namespace ${name}`);
      if (!isFsbError(error, ErrorCode.NotFound)) throw error;
    }
  }
}
