/** Writes a fast-mode Sandbox after the reply; if that cannot happen in time, undoes the create. */
import { API_VERSION, ErrorCode, isFsbError, objectKey, SANDBOX_KIND, type Sandbox } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { EventRecorder } from "../../core/event-recorder.ts";
import type { ObjectStore } from "../../store/object-store.ts";
import type { AgentMonitor } from "../agent-monitor.ts";
import type { ControllerMetrics } from "../controller-metrics.ts";
import { recordEvent } from "../event-reasons.ts";
import type { AgentRegistry } from "../registry/agent-registry.ts";
import { fastCreateEvents } from "./sandbox-events.ts";

/** First retry after a failed write; doubles up to the cap, until the deadline. */
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 2000;

export interface PersistFastCreateOptions {
  store: ObjectStore;
  monitor: AgentMonitor;
  registry: AgentRegistry;
  logger: Logger;
  metrics: ControllerMetrics;
  /** The object as answered to the client, status included. */
  sandbox: Sandbox;
  /** Epoch ms by which the object must be stored (create time + --fastpath-orphan-timeout). */
  deadline: number;
  /** Where the create's Scheduled and Started events go once the object is stored. */
  events?: EventRecorder;
  /** Called once the create is given up, before its container goes, so reads stop showing it first. */
  onGiveUp?: () => void;
  now: () => number;
}

/** Whether the object was stored, and if not, the store's last answer. */
export type PersistOutcome = { stored: true } | { stored: false; reason: unknown };

/**
 * Resolves `stored` once the object is stored with its status. Otherwise (the deadline passed, or
 * the name was taken meanwhile) removes the container and frees the slot, and resolves with the
 * store's last error: a client that was told "created" then sees NOT_FOUND, which is the documented
 * cost of fast mode when the reply does not wait for the write.
 */
export async function persistFastCreate(o: PersistFastCreateOptions): Promise<PersistOutcome> {
  const { sandbox } = o;
  const key = objectKey(sandbox.metadata.namespace, sandbox.metadata.name);
  let delay = FIRST_RETRY_MS;
  let lastError: unknown;
  while (o.now() < o.deadline) {
    try {
      const stored = await o.store.create({
        apiVersion: API_VERSION,
        kind: SANDBOX_KIND,
        metadata: {
          name: sandbox.metadata.name,
          namespace: sandbox.metadata.namespace,
          labels: sandbox.metadata.labels,
          // With the controller's creation time: the store's own creationTimestamp comes after the start.
          annotations: sandbox.metadata.annotations,
          finalizers: sandbox.metadata.finalizers,
        },
        spec: sandbox.spec,
        status: sandbox.status,
      });
      // Stores that keep status in a subresource (Kubernetes) drop it on create.
      if (!(stored.status as Sandbox["status"] | undefined)?.phase) {
        await o.store.updateStatus({ ...stored, status: sandbox.status });
      }
      if (o.events)
        for (const event of fastCreateEvents(sandbox.status)) recordEvent(o.events, stored, event);
      return { stored: true };
    } catch (err) {
      lastError = err;
      if (isFsbError(err, ErrorCode.AlreadyExists)) break;
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, o.deadline - o.now()))));
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }
  o.logger.error(
    { err: lastError, sandbox: key },
    "fast-mode create could not be recorded; removing its container",
  );
  o.onGiveUp?.();
  const sandboxId = sandbox.status.sandboxID!;
  const client = o.monitor.client(sandbox.status.assignedAgent!);
  try {
    await client?.delete(sandboxId, { gracePeriodSeconds: 0 });
    o.registry.release(sandboxId);
    o.metrics.countOrphan("store_write_failed");
  } catch (err) {
    // The orphan collector (and the janitor) retry from the agent's side.
    o.logger.error(
      { err, sandbox: key },
      "could not remove the unrecorded container; the orphan collector will",
    );
  }
  return { stored: false, reason: lastError };
}
