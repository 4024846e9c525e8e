/** The LeaseClient of leader election on a coordination.k8s.io/v1 Lease, through client-node's CoordinationV1Api. */
import { randomUUID } from "node:crypto";
import os from "node:os";
import { ErrorCode, FsbError, isFsbError } from "@fast-sandbox/api";
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { kubeError } from "./kube-errors.ts";
import type { LeaseRecord } from "./leader-election.ts";
import type { LeaseClient, LeaseSnapshot } from "./leader-elector.ts";

/** The Lease the controller replicas elect their leader with, unless told otherwise. */
export const DEFAULT_LEASE_NAME = "fast-sandbox-controller";

/** A replica's identity: the host (the Pod name in a Deployment) and a random suffix, as client-go does. */
export function defaultLeaderIdentity(hostname = os.hostname()): string {
  return `${hostname}_${randomUUID()}`;
}

/**
 * One Lease in one namespace. Times are written as MicroTime (RFC 3339 with microseconds), which the
 * API server requires: client-node's V1MicroTime prints them so. Reads accept the string the typed
 * client hands back for a MicroTime, or a Date.
 */
export class KubeLeaseClient implements LeaseClient {
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #name: string;

  constructor(kubeConfig: KubeConfig, lease: { namespace: string; name?: string }) {
    this.#api = kubeConfig.makeApiClient(CoordinationV1Api);
    this.#namespace = lease.namespace;
    this.#name = lease.name ?? DEFAULT_LEASE_NAME;
  }

  async get(): Promise<LeaseSnapshot | undefined> {
    try {
      return snapshotOf(
        await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace }),
      );
    } catch (err) {
      const error = kubeError(err, `get lease ${this.#where()}`);
      if (isFsbError(error, ErrorCode.NotFound)) return undefined;
      throw error;
    }
  }

  async create(record: LeaseRecord): Promise<LeaseSnapshot> {
    try {
      const lease = await this.#api.createNamespacedLease({
        namespace: this.#namespace,
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.#name, namespace: this.#namespace },
          spec: leaseSpec(record),
        },
      });
      return snapshotOf(lease);
    } catch (err) {
      throw kubeError(err, `create lease ${this.#where()}`);
    }
  }

  async update(record: LeaseRecord, resourceVersion: string): Promise<LeaseSnapshot> {
    try {
      const lease = await this.#api.replaceNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.#name, namespace: this.#namespace, resourceVersion },
          spec: leaseSpec(record),
        },
      });
      return snapshotOf(lease);
    } catch (err) {
      throw kubeError(err, `update lease ${this.#where()}`);
    }
  }

  #where(): string {
    return `${this.#namespace}/${this.#name}`;
  }
}

/** The Lease spec for a record; exported for tests of the wire form. */
export function leaseSpec(record: LeaseRecord): NonNullable<V1Lease["spec"]> {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    ...(record.acquireTime === undefined ? {} : { acquireTime: new V1MicroTime(record.acquireTime) }),
    ...(record.renewTime === undefined ? {} : { renewTime: new V1MicroTime(record.renewTime) }),
    leaseTransitions: record.leaseTransitions,
  };
}

/** The record and version of a Lease as the typed client returns it; exported for tests. */
export function snapshotOf(lease: V1Lease): LeaseSnapshot {
  const resourceVersion = lease.metadata?.resourceVersion;
  if (!resourceVersion) throw new FsbError(ErrorCode.Internal, "a Lease without a resourceVersion");
  const spec = lease.spec ?? {};
  return {
    resourceVersion,
    record: {
      holderIdentity: spec.holderIdentity ?? "",
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: timeOf(spec.acquireTime),
      renewTime: timeOf(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
  };
}

function timeOf(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  return Number.isNaN(ms) ? undefined : ms;
}
