// Table tests of classify: which containers are orphans, and why; which stay, and why.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { anchorContainerId, anchorRole, Labels, managedByValue } from "@fast-sandbox/api";
import { type ClassifiedContainer, classify, createdAtOf, type Verdict } from "./classify.ts";
import { Ownership, type SandboxOwner } from "./ownership.ts";

const NOW = Date.parse("2030-01-01T12:00:00Z");
const TIMEOUT_MS = 10_000;
const OLD = new Date(NOW - 60_000).toISOString();
const ID = "web-0a1b2c3d";

const web: SandboxOwner = { namespace: "default", name: "web", uid: "uid-web", sandboxId: ID };
const ownership = (sandboxes: SandboxOwner[], agents = ["agent-a", "placeholder-b"]) =>
  new Ownership({ sandboxes, agents });

/** A container as an agent labels it, with overrides (undefined removes a label). */
function container(
  overrides: Record<string, string | undefined> = {},
  options: { id?: string; createdAt?: Date; sandboxIdLabel?: string } = {},
): ClassifiedContainer {
  const labels: Record<string, string> = {
    [Labels.ManagedBy]: managedByValue,
    [Labels.SandboxId]: options.sandboxIdLabel ?? options.id ?? ID,
    [Labels.Name]: "web",
    [Labels.Namespace]: "default",
    [Labels.Uid]: "uid-web",
    [Labels.Agent]: "agent-a",
    [Labels.CreatedAt]: OLD,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete labels[key];
    else labels[key] = value;
  }
  return { id: options.id ?? ID, labels, createdAt: options.createdAt };
}

/** An agent's shim anchor as the agent labels it (created-at null: no label). */
function anchorOf(
  agentId: string,
  createdAt: string | null = OLD,
  overrides: Record<string, string | undefined> = {},
): ClassifiedContainer {
  const labels: Record<string, string> = {
    [Labels.ManagedBy]: managedByValue,
    [Labels.Role]: anchorRole,
    [Labels.Agent]: agentId,
  };
  if (createdAt !== null) labels[Labels.CreatedAt] = createdAt;
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete labels[key];
    else labels[key] = value;
  }
  return { id: anchorContainerId(agentId), labels, createdAt: undefined };
}

const cases: Array<{ name: string; container: ClassifiedContainer; owners: Ownership; want: Verdict }> = [
  {
    name: "the object's current incarnation is kept",
    container: container(),
    owners: ownership([web]),
    want: { action: "keep", reason: "owned" },
  },
  {
    name: "no labels at all: never touched",
    container: { id: ID, labels: {}, createdAt: new Date(0) },
    owners: ownership([]),
    want: { action: "keep", reason: "not-managed" },
  },
  {
    name: "managed-by of another value: never touched",
    container: container({ [Labels.ManagedBy]: "someone-else" }),
    owners: ownership([]),
    want: { action: "keep", reason: "not-managed" },
  },
  {
    name: "sandbox-id label that is not the container id: never touched",
    container: container({ [Labels.SandboxId]: "other-0a1b2c3d" }),
    owners: ownership([]),
    want: { action: "keep", reason: "not-managed" },
  },
  {
    name: "no object of its name: object gone",
    container: container(),
    owners: ownership([]),
    want: { action: "orphan", reason: "object-gone" },
  },
  {
    name: "an object of the same name in another namespace does not own it",
    container: container(),
    owners: ownership([{ ...web, namespace: "other", sandboxId: "" }]),
    want: { action: "orphan", reason: "object-gone" },
  },
  {
    name: "younger than the timeout by the created-at label: kept even with no object",
    container: container({ [Labels.CreatedAt]: new Date(NOW - TIMEOUT_MS + 1).toISOString() }),
    owners: ownership([]),
    want: { action: "keep", reason: "young" },
  },
  {
    name: "exactly the timeout old: an orphan",
    container: container({ [Labels.CreatedAt]: new Date(NOW - TIMEOUT_MS).toISOString() }),
    owners: ownership([]),
    want: { action: "orphan", reason: "object-gone" },
  },
  {
    name: "created-at label missing: containerd's creation time (young) decides",
    container: container({ [Labels.CreatedAt]: undefined }, { createdAt: new Date(NOW - 1000) }),
    owners: ownership([]),
    want: { action: "keep", reason: "young" },
  },
  {
    name: "created-at label unparsable: containerd's creation time (old) decides",
    container: container({ [Labels.CreatedAt]: "yesterday" }, { createdAt: new Date(NOW - 60_000) }),
    owners: ownership([]),
    want: { action: "orphan", reason: "object-gone" },
  },
  {
    name: "no age at all: kept, an unknown age proves nothing",
    container: container({ [Labels.CreatedAt]: undefined }),
    owners: ownership([]),
    want: { action: "keep", reason: "young" },
  },
  {
    name: "the object of that name has another uid (deleted and recreated): uid mismatch",
    container: container({ [Labels.Uid]: "uid-old" }, { id: "web-99999999" }),
    owners: ownership([web]),
    want: { action: "orphan", reason: "uid-mismatch" },
  },
  {
    name: "the object pointing at this very container has another uid: uid mismatch",
    container: container({ [Labels.Uid]: "uid-old" }),
    owners: ownership([web]),
    want: { action: "orphan", reason: "uid-mismatch" },
  },
  {
    name: "fast mode (empty uid label) and the object's current incarnation: kept",
    container: container({ [Labels.Uid]: "" }),
    owners: ownership([web]),
    want: { action: "keep", reason: "owned" },
  },
  {
    name: "fast mode (empty uid label) and the object points at another container: stale incarnation",
    container: container({ [Labels.Uid]: "" }, { id: "web-99999999" }),
    owners: ownership([web]),
    want: { action: "orphan", reason: "stale-incarnation" },
  },
  {
    name: "same uid, but the object was reset to another container: stale incarnation",
    container: container({}, { id: "web-99999999" }),
    owners: ownership([web]),
    want: { action: "orphan", reason: "stale-incarnation" },
  },
  {
    name: "same uid, object not placed (Pending, no sandbox id): stale incarnation",
    container: container(),
    owners: ownership([{ ...web, sandboxId: "" }]),
    want: { action: "orphan", reason: "stale-incarnation" },
  },
  {
    name: "a pending fast create (object without uid yet) pointing at it: kept",
    container: container({ [Labels.Uid]: "" }),
    owners: ownership([{ ...web, uid: "" }]),
    want: { action: "keep", reason: "owned" },
  },
  {
    name: "its agent is gone: orphan even though the object owns it",
    container: container({ [Labels.Agent]: "agent-gone" }),
    owners: ownership([web]),
    want: { action: "orphan", reason: "agent-gone" },
  },
  {
    name: "no agent label: no agent can own it",
    container: container({ [Labels.Agent]: undefined }),
    owners: ownership([web]),
    want: { action: "orphan", reason: "agent-gone" },
  },
  {
    name: "an agent placeholder (not heard from yet) counts as existing",
    container: container({ [Labels.Agent]: "placeholder-b" }),
    owners: ownership([web]),
    want: { action: "keep", reason: "owned" },
  },
  {
    name: "a young container of a gone agent is still young",
    container: container({ [Labels.Agent]: "agent-gone", [Labels.CreatedAt]: new Date(NOW).toISOString() }),
    owners: ownership([]),
    want: { action: "keep", reason: "young" },
  },
  {
    name: "prewarmed container of a live agent, no object: kept",
    container: container({ [Labels.Prewarm]: "true", [Labels.Name]: "", [Labels.Uid]: "" }),
    owners: ownership([]),
    want: { action: "keep", reason: "prewarm" },
  },
  {
    name: "prewarmed container of a gone agent: orphan",
    container: container({ [Labels.Prewarm]: "true", [Labels.Agent]: "agent-gone" }),
    owners: ownership([]),
    want: { action: "orphan", reason: "agent-gone" },
  },
  {
    name: "a prewarm label other than true is no prewarm",
    container: container({ [Labels.Prewarm]: "false" }),
    owners: ownership([]),
    want: { action: "orphan", reason: "object-gone" },
  },
  {
    name: "untaken prewarmed container (its own sandbox and container id) of a live agent: kept",
    container: container(
      {
        [Labels.Prewarm]: "true",
        [Labels.ContainerId]: "pw-0a1b2c3d-1",
        [Labels.Name]: "",
        [Labels.Uid]: "",
      },
      { id: "pw-0a1b2c3d-1" },
    ),
    owners: ownership([]),
    want: { action: "keep", reason: "prewarm" },
  },
  {
    name: "taken prewarmed container: judged as the sandbox it runs, which its object owns",
    container: container(
      { [Labels.ContainerId]: "pw-0a1b2c3d-1" },
      { id: "pw-0a1b2c3d-1", sandboxIdLabel: ID },
    ),
    owners: ownership([web]),
    want: { action: "keep", reason: "owned" },
  },
  {
    name: "taken prewarmed container whose object is gone: object gone",
    container: container(
      { [Labels.ContainerId]: "pw-0a1b2c3d-1" },
      { id: "pw-0a1b2c3d-1", sandboxIdLabel: ID },
    ),
    owners: ownership([]),
    want: { action: "orphan", reason: "object-gone" },
  },
  {
    name: "taken prewarmed container whose object moved to another incarnation: stale incarnation",
    container: container(
      { [Labels.ContainerId]: "pw-0a1b2c3d-1" },
      { id: "pw-0a1b2c3d-1", sandboxIdLabel: ID },
    ),
    owners: ownership([{ ...web, sandboxId: "web-99999999" }]),
    want: { action: "orphan", reason: "stale-incarnation" },
  },
  {
    name: "taken prewarmed container of a recreated object (other uid): uid mismatch",
    container: container(
      { [Labels.ContainerId]: "pw-0a1b2c3d-1", [Labels.Uid]: "uid-old" },
      { id: "pw-0a1b2c3d-1", sandboxIdLabel: ID },
    ),
    owners: ownership([web]),
    want: { action: "orphan", reason: "uid-mismatch" },
  },
  {
    name: "sandbox id of another container and no container-id label: never touched",
    container: container({}, { id: "pw-0a1b2c3d-1", sandboxIdLabel: ID }),
    owners: ownership([]),
    want: { action: "keep", reason: "not-managed" },
  },
  {
    name: "container-id label naming another container: never touched",
    container: container({ [Labels.ContainerId]: "pw-other" }, { id: "pw-0a1b2c3d-1", sandboxIdLabel: ID }),
    owners: ownership([]),
    want: { action: "keep", reason: "not-managed" },
  },
  {
    name: "shim anchor of a live agent, old and with no object: kept",
    container: anchorOf("agent-a"),
    owners: ownership([]),
    want: { action: "keep", reason: "anchor" },
  },
  {
    name: "shim anchor of a gone agent: orphan",
    container: anchorOf("agent-gone"),
    owners: ownership([web]),
    want: { action: "orphan", reason: "agent-gone" },
  },
  {
    name: "shim anchor of a gone agent, young: kept",
    container: anchorOf("agent-gone", new Date(NOW - 1000).toISOString()),
    owners: ownership([]),
    want: { action: "keep", reason: "young" },
  },
  {
    name: "shim anchor with no age at all: kept",
    container: anchorOf("agent-gone", null),
    owners: ownership([]),
    want: { action: "keep", reason: "young" },
  },
  {
    name: "an anchor id that names another agent than its label: never touched",
    container: { ...anchorOf("agent-gone"), id: anchorContainerId("agent-a") },
    owners: ownership([]),
    want: { action: "keep", reason: "not-managed" },
  },
  {
    name: "anchor labels without managed-by: never touched",
    container: anchorOf("agent-gone", OLD, { [Labels.ManagedBy]: undefined }),
    owners: ownership([]),
    want: { action: "keep", reason: "not-managed" },
  },
  {
    name: "anchor role on a sandbox's container id: judged as the sandbox (the role proves nothing)",
    container: container({ [Labels.Role]: anchorRole }),
    owners: ownership([]),
    want: { action: "orphan", reason: "object-gone" },
  },
];

describe("classify", () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(classify(c.container, c.owners, NOW, { orphanTimeoutMs: TIMEOUT_MS }), c.want);
    });
  }
});

describe("createdAtOf", () => {
  const table: Array<{ name: string; labels: Record<string, string>; createdAt?: Date; want?: number }> = [
    { name: "label wins", labels: { [Labels.CreatedAt]: OLD }, createdAt: new Date(NOW), want: NOW - 60_000 },
    { name: "fallback", labels: {}, createdAt: new Date(NOW), want: NOW },
    { name: "neither", labels: { [Labels.CreatedAt]: "" } },
  ];
  for (const c of table) {
    it(c.name, () => assert.equal(createdAtOf({ labels: c.labels, createdAt: c.createdAt }), c.want));
  }
});
