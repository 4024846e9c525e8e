/** A stored Sandbox for unit tests: named `default/s`, image busybox, with the given parts laid over. */
import type { Sandbox, SandboxSpec, SandboxStatus } from "@fast-sandbox/api";

export interface SandboxFixtureParts {
  spec?: Partial<SandboxSpec>;
  status?: SandboxStatus;
  metadata?: Partial<Sandbox["metadata"]>;
}

export function sandboxFixture(parts: SandboxFixtureParts = {}): Sandbox {
  return {
    apiVersion: "sandbox.fast.io/v1alpha1",
    kind: "Sandbox",
    metadata: {
      name: "s",
      namespace: "default",
      uid: "u",
      resourceVersion: "1",
      generation: 1,
      creationTimestamp: "2026-11-22T12:00:00Z",
      labels: {},
      annotations: {},
      finalizers: [],
      ...parts.metadata,
    },
    spec: { image: "busybox", ...parts.spec },
    status: parts.status ?? {},
  };
}
