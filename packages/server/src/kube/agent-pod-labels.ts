/** The labels of every agent Pod: the launcher puts them on, and the launcher and the janitor select by them. */
import { managedByValue } from "@fast-sandbox/api";

/** Labels every agent Pod carries, besides the pool and agent ones (and whatever its template adds). */
export const AGENT_POD_LABELS = {
  "app.kubernetes.io/name": "fast-sandbox",
  "app.kubernetes.io/component": "agent",
  "app.kubernetes.io/managed-by": managedByValue,
} as const;

/** Selects agent Pods: other Pods are none of the launcher's or the janitor's business. */
export const AGENT_POD_SELECTOR = `app.kubernetes.io/managed-by=${managedByValue},app.kubernetes.io/component=agent`;
