/** A sandbox's creation time on the controller's clock: stamped when the controller takes a create, read by the API. */
import { CREATED_AT_ANNOTATION, type Sandbox } from "@fast-sandbox/api";

/** The annotations of a new Sandbox that the controller creates at `now` (epoch ms). */
export function createdAtAnnotations(now: number): Record<string, string> {
  return { [CREATED_AT_ANNOTATION]: new Date(now).toISOString() };
}

/**
 * When the sandbox was created (epoch ms): the controller's stamp, or for an object created by other
 * means (`kubectl apply`) the store's creationTimestamp.
 */
export function createdAtOf(sandbox: Sandbox): number {
  const stamped = Date.parse(sandbox.metadata.annotations[CREATED_AT_ANNOTATION] ?? "");
  return Number.isNaN(stamped) ? Date.parse(sandbox.metadata.creationTimestamp) : stamped;
}

/**
 * The time a start is recorded at: now, but never before the sandbox's creation, so `startedAt` is
 * never earlier than `createdAt` even when the creation time came from another clock (an API
 * server's, in whole seconds).
 */
export function startTime(sandbox: Sandbox, now: number): number {
  const created = createdAtOf(sandbox);
  return Number.isNaN(created) ? now : Math.max(now, created);
}
