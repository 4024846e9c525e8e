/**
 * An in-memory Lease with the API server's optimistic concurrency, for tests of leader election's
 * logic (the API itself is tested against a real server in kube-lease-client.test.ts).
 */
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import type { LeaseRecord } from "./leader-election.ts";
import type { LeaseClient, LeaseSnapshot } from "./leader-elector.ts";

/** One Lease with resourceVersion conflicts, and clients that can be made to fail or hang. */
export class FakeLease {
  snapshot: LeaseSnapshot | undefined;
  #rv = 0;

  client(): LeaseClient & { mode: "ok" | "failing" | "hanging"; unhang(): void } {
    const hung: Array<() => void> = [];
    const call = <T>(body: () => T): Promise<T> => {
      if (client.mode === "failing")
        return Promise.reject(new FsbError(ErrorCode.Unavailable, "unreachable"));
      if (client.mode === "hanging") {
        return new Promise((_, reject) =>
          hung.push(() => reject(new FsbError(ErrorCode.Unavailable, "connection reset"))),
        );
      }
      return Promise.resolve().then(body);
    };
    const client = {
      mode: "ok" as "ok" | "failing" | "hanging",
      unhang: () => {
        for (const reject of hung.splice(0)) reject();
      },
      get: () => call(() => (this.snapshot ? structuredClone(this.snapshot) : undefined)),
      create: (record: LeaseRecord) =>
        call(() => {
          if (this.snapshot) throw new FsbError(ErrorCode.AlreadyExists, "exists");
          return this.#put(record);
        }),
      update: (record: LeaseRecord, resourceVersion: string) =>
        call(() => {
          if (!this.snapshot) throw new FsbError(ErrorCode.NotFound, "gone");
          if (this.snapshot.resourceVersion !== resourceVersion)
            throw new FsbError(ErrorCode.Aborted, "conflict");
          return this.#put(record);
        }),
    };
    return client;
  }

  /** Someone else writes the lease, bypassing the election. */
  overwrite(record: LeaseRecord): void {
    this.#put(record);
  }

  get holder(): string | undefined {
    return this.snapshot?.record.holderIdentity;
  }

  #put(record: LeaseRecord): LeaseSnapshot {
    this.snapshot = { record: { ...record }, resourceVersion: String(++this.#rv) };
    return structuredClone(this.snapshot);
  }
}
