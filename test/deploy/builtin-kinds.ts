/**
 * Checks a built-in Kubernetes object as the API server would: kubernetes-models' schema validator
 * (types, enums, required fields), plus the unknown-field check of kubectl's strict validation,
 * which kubernetes-models skips, from @kubernetes/client-node's field lists.
 */
import * as k8s from "@kubernetes/client-node";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Pod } from "kubernetes-models/v1/Pod";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";

interface Model {
  validate(): void;
}
type ModelClass = new (data: never) => Model;

/** `apiVersion kind` → the kubernetes-models class and the client-node type that lists its fields. */
const builtins: Record<string, { model: ModelClass; fields: string }> = {
  "v1 Namespace": { model: Namespace, fields: "V1Namespace" },
  "v1 ServiceAccount": { model: ServiceAccount, fields: "V1ServiceAccount" },
  "v1 Secret": { model: Secret, fields: "V1Secret" },
  "v1 Service": { model: Service, fields: "V1Service" },
  "v1 Pod": { model: Pod, fields: "V1Pod" },
  "apps/v1 Deployment": { model: Deployment, fields: "V1Deployment" },
  "apps/v1 DaemonSet": { model: DaemonSet, fields: "V1DaemonSet" },
  "policy/v1 PodDisruptionBudget": { model: PodDisruptionBudget, fields: "V1PodDisruptionBudget" },
  "rbac.authorization.k8s.io/v1 ClusterRole": { model: ClusterRole, fields: "V1ClusterRole" },
  "rbac.authorization.k8s.io/v1 ClusterRoleBinding": {
    model: ClusterRoleBinding,
    fields: "V1ClusterRoleBinding",
  },
  "rbac.authorization.k8s.io/v1 Role": { model: Role, fields: "V1Role" },
  "rbac.authorization.k8s.io/v1 RoleBinding": { model: RoleBinding, fields: "V1RoleBinding" },
  "apiextensions.k8s.io/v1 CustomResourceDefinition": {
    model: CustomResourceDefinition,
    fields: "V1CustomResourceDefinition",
  },
};

export function isBuiltin(obj: { apiVersion: string; kind: string }): boolean {
  return `${obj.apiVersion} ${obj.kind}` in builtins;
}

/** Problems with a built-in object, as "path: message" lines; empty when the object is fine. */
export function builtinProblems(obj: { apiVersion: string; kind: string }): string[] {
  const entry = builtins[`${obj.apiVersion} ${obj.kind}`];
  if (!entry) return [`${obj.apiVersion} ${obj.kind} is not a known built-in kind`];
  const problems: string[] = [];
  try {
    new entry.model(obj as never).validate();
  } catch (err) {
    problems.push(String((err as Error).message));
  }
  problems.push(...unknownFields(obj, entry.fields, "").map((p) => `${p}: unknown field`));
  return problems;
}

interface Attribute {
  baseName: string;
  type: string;
}

function attributesOf(typeName: string): Attribute[] | undefined {
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] }>)[typeName];
  return model?.getAttributeTypeMap?.();
}

/** JSON paths of fields that `typeName` does not have, anywhere below `value`. */
export function unknownFields(value: unknown, typeName: string, at: string): string[] {
  const list = /^Array<(.+)>$/.exec(typeName);
  if (list?.[1] !== undefined) {
    const item = list[1];
    return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, item, `${at}[${i}]`)) : [];
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (map?.[1] !== undefined) {
    const item = map[1];
    return isObject(value)
      ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, item, `${at}.${k}`))
      : [];
  }
  const attributes = attributesOf(typeName);
  if (attributes === undefined || !isObject(value)) return [];
  const byName = new Map(attributes.map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, child]) => {
    const type = byName.get(key);
    return type === undefined ? [`${at}.${key}`] : unknownFields(child, type, `${at}.${key}`);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
