/** Which Kubernetes resource serves each kind the Kubernetes store handles: our CRDs by default. */
import { API_GROUP, invalidArgument } from "@fast-sandbox/api";

/** A namespaced custom resource: `/apis/<group>/<version>/namespaces/<ns>/<plural>`. */
export interface KubeResource {
  group: string;
  version: string;
  plural: string;
}

/** Kinds to resources; the store serves exactly the kinds listed. */
export type KubeResources = Readonly<Record<string, KubeResource>>;

/** The CRDs of deploy/base/crds: Sandbox and SandboxPool in sandbox.fast.io/v1alpha1. */
export const FSB_KUBE_RESOURCES: KubeResources = {
  Sandbox: { group: API_GROUP, version: "v1alpha1", plural: "sandboxes" },
  SandboxPool: { group: API_GROUP, version: "v1alpha1", plural: "sandboxpools" },
};

/** `group/version`, the apiVersion objects of the resource carry. */
export function apiVersionOf(resource: KubeResource): string {
  return `${resource.group}/${resource.version}`;
}

/** The resource of `kind`; INVALID_ARGUMENT for a kind the store does not serve. */
export function resourceFor(resources: KubeResources, kind: unknown): KubeResource {
  const resource = typeof kind === "string" && Object.hasOwn(resources, kind) ? resources[kind] : undefined;
  if (resource === undefined) {
    const served = Object.keys(resources).join(", ");
    throw invalidArgument(
      "kind",
      `${JSON.stringify(kind)} is not served by the Kubernetes store (${served})`,
    );
  }
  return resource;
}

/** The collection path of a resource, in one namespace or across all of them (for watches). */
export function collectionPath(resource: KubeResource, namespace: string | undefined): string {
  const base = `/apis/${resource.group}/${resource.version}`;
  return namespace === undefined
    ? `${base}/${resource.plural}`
    : `${base}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}`;
}
