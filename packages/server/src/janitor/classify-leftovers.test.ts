// Table tests of the leftover verdicts: log files, task bundle directories and snapshots.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Labels, managedByValue } from "@fast-sandbox/api";
import { SHIM_GROUP_ANNOTATION } from "../containerd/spec-options.ts";
import {
  type BundleFacts,
  classifyBundle,
  classifyLogFile,
  classifySnapshot,
  type LeftoverVerdict,
  logFileSandboxId,
  SNAPSHOT_GC_ROOT_LABEL,
  type SnapshotFacts,
} from "./classify-leftovers.ts";
import { Ownership } from "./ownership.ts";

const NOW = Date.parse("2030-01-01T12:00:00Z");
const HOUR = 3_600_000;
const TIMEOUT = { orphanTimeoutMs: 10_000 };
const ID = "web-0a1b2c3d";
const remove: LeftoverVerdict = { action: "remove" };
const keep = (reason: string) => ({ action: "keep", reason }) as LeftoverVerdict;
const none = new Set<string>();
const noOwners = new Ownership({ sandboxes: [], agents: [] });

describe("logFileSandboxId", () => {
  const table: Array<[string, string | undefined]> = [
    ["web-0a1b2c3d.log", "web-0a1b2c3d"],
    ["web.log.1", undefined],
    [".log", undefined],
    ["Web-0a1b2c3d.log", undefined],
    ["../etc.log", undefined],
    ["web-0a1b2c3d.txt", undefined],
  ];
  for (const [file, want] of table) it(file, () => assert.equal(logFileSandboxId(file), want));
});

describe("classifyLogFile", () => {
  const failedObject = new Ownership({
    sandboxes: [{ namespace: "default", name: "web", uid: "u", sandboxId: ID }],
    agents: [],
  });
  const table: Array<{
    name: string;
    ageMs: number;
    containers?: Set<string>;
    owners?: Ownership;
    want: LeftoverVerdict;
  }> = [
    { name: "past retention, no container, no object: removed", ageMs: 2 * HOUR, want: remove },
    { name: "within retention: kept", ageMs: HOUR - 1, want: keep("young") },
    {
      name: "container still there: kept",
      ageMs: 2 * HOUR,
      containers: new Set([ID]),
      want: keep("has-container"),
    },
    {
      name: "a (Failed) object points at it: kept",
      ageMs: 2 * HOUR,
      owners: failedObject,
      want: keep("owned"),
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const verdict = classifyLogFile(
        { sandboxId: ID, modifiedAtMs: NOW - c.ageMs },
        c.containers ?? none,
        c.owners ?? noOwners,
        NOW,
        { retentionMs: HOUR },
      );
      assert.deepEqual(verdict, c.want);
    });
  }
});

describe("classifyBundle", () => {
  const ours = (id = ID, agent = "agent-a") => ({
    annotations: { [SHIM_GROUP_ANNOTATION]: `fsb-${agent}` },
    linux: { cgroupsPath: `/fast-sandbox/${agent}/${id}` },
  });
  const bundle = (overrides: Partial<BundleFacts>): BundleFacts => ({
    id: ID,
    modifiedAtMs: NOW - HOUR,
    spec: ours(),
    mounted: false,
    ...overrides,
  });
  const table: Array<{ name: string; bundle: BundleFacts; containers?: Set<string>; want: LeftoverVerdict }> =
    [
      { name: "ours, old, no container, nothing mounted: removed", bundle: bundle({}), want: remove },
      {
        name: "no config.json: not provably ours",
        bundle: bundle({ spec: undefined }),
        want: keep("not-ours"),
      },
      {
        name: "another shim group: not ours",
        bundle: bundle({ spec: { ...ours(), annotations: { [SHIM_GROUP_ANNOTATION]: "k8s" } } }),
        want: keep("not-ours"),
      },
      {
        name: "no shim group (CRI, ctr): not ours",
        bundle: bundle({ spec: { linux: ours().linux } }),
        want: keep("not-ours"),
      },
      {
        name: "group and cgroups path name different agents: not ours",
        bundle: bundle({ spec: { ...ours(), linux: ours(ID, "agent-b").linux } }),
        want: keep("not-ours"),
      },
      {
        name: "cgroups path of another sandbox: not ours",
        bundle: bundle({ spec: ours("web-99999999") }),
        want: keep("not-ours"),
      },
      {
        name: "its container exists: kept",
        bundle: bundle({}),
        containers: new Set([ID]),
        want: keep("has-container"),
      },
      {
        name: "younger than the timeout: kept",
        bundle: bundle({ modifiedAtMs: NOW - 1000 }),
        want: keep("young"),
      },
      { name: "something mounted under it: kept", bundle: bundle({ mounted: true }), want: keep("mounted") },
    ];
  for (const c of table) {
    it(c.name, () => assert.deepEqual(classifyBundle(c.bundle, c.containers ?? none, NOW, TIMEOUT), c.want));
  }
});

describe("classifySnapshot", () => {
  const snapshot = (labels: Record<string, string>, key = ID): SnapshotFacts => ({
    key,
    labels: {
      [Labels.ManagedBy]: managedByValue,
      [Labels.SandboxId]: ID,
      [SNAPSHOT_GC_ROOT_LABEL]: new Date(NOW - HOUR).toISOString(),
      ...labels,
    },
  });
  const table: Array<{
    name: string;
    snapshot: SnapshotFacts;
    containers?: Set<string>;
    want: LeftoverVerdict;
  }> = [
    { name: "ours, old, no container: removed", snapshot: snapshot({}), want: remove },
    {
      name: "its container exists: kept",
      snapshot: snapshot({}),
      containers: new Set([ID]),
      want: keep("has-container"),
    },
    {
      name: "sandbox-id label of another key: not ours",
      snapshot: snapshot({}, "other"),
      want: keep("not-ours"),
    },
    {
      name: "managed-by of another value: not ours",
      snapshot: snapshot({ [Labels.ManagedBy]: "x" }),
      want: keep("not-ours"),
    },
    {
      name: "prepared just now (a create in flight): kept",
      snapshot: snapshot({ [SNAPSHOT_GC_ROOT_LABEL]: new Date(NOW - 1000).toISOString() }),
      want: keep("young"),
    },
    {
      name: "no preparation time: kept",
      snapshot: snapshot({ [SNAPSHOT_GC_ROOT_LABEL]: "" }),
      want: keep("young"),
    },
  ];
  for (const c of table) {
    it(c.name, () =>
      assert.deepEqual(classifySnapshot(c.snapshot, c.containers ?? none, NOW, TIMEOUT), c.want),
    );
  }
});
