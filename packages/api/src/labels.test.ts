import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "./errors.ts";
import {
  anchorContainerId,
  anchorRole,
  formatPortsLabel,
  isAnchorContainer,
  isManagedContainer,
  Labels,
  labelPrefix,
  managedByValue,
  parsePortsLabel,
} from "./labels.ts";
import { isDnsLabel } from "./names.ts";

describe("Labels", () => {
  const expected: [keyof typeof Labels, string][] = [
    ["SandboxId", "sandbox.fast.io/sandbox-id"],
    ["Name", "sandbox.fast.io/name"],
    ["Namespace", "sandbox.fast.io/namespace"],
    ["Uid", "sandbox.fast.io/uid"],
    ["Agent", "sandbox.fast.io/agent"],
    ["Pool", "sandbox.fast.io/pool"],
    ["Image", "sandbox.fast.io/image"],
    ["Ports", "sandbox.fast.io/ports"],
    ["Network", "sandbox.fast.io/network"],
    ["Egress", "sandbox.fast.io/egress"],
    ["SpecHash", "sandbox.fast.io/spec-hash"],
    ["CreatedAt", "sandbox.fast.io/created-at"],
    ["LogPath", "sandbox.fast.io/log-path"],
    ["ManagedBy", "sandbox.fast.io/managed-by"],
    ["ContainerId", "sandbox.fast.io/container-id"],
    ["Prewarm", "sandbox.fast.io/prewarm"],
    ["PrewarmKey", "sandbox.fast.io/prewarm-key"],
    ["ImageDigest", "sandbox.fast.io/image-digest"],
    ["Role", "sandbox.fast.io/role"],
  ];
  for (const [key, value] of expected) {
    it(`${key} is ${value}`, () => {
      assert.equal(Labels[key], value);
    });
  }

  it("has exactly these keys, all distinct, all under the prefix with a DNS label name", () => {
    const values = Object.values(Labels);
    assert.equal(values.length, expected.length);
    assert.equal(new Set(values).size, values.length);
    for (const value of values) {
      assert.ok(value.startsWith(labelPrefix), value);
      assert.ok(isDnsLabel(value.slice(labelPrefix.length)), value);
    }
  });

  it("marks containers as managed by fast-sandbox", () => {
    assert.equal(managedByValue, "fast-sandbox");
  });
});

describe("isManagedContainer", () => {
  const owned = { [Labels.ManagedBy]: "fast-sandbox", [Labels.SandboxId]: "sbx-1" };
  const cases: [string, Record<string, string> | undefined, string, boolean][] = [
    ["our labels and matching id", owned, "sbx-1", true],
    ["no labels", undefined, "sbx-1", false],
    ["empty labels", {}, "sbx-1", false],
    ["other manager", { ...owned, [Labels.ManagedBy]: "docker" }, "sbx-1", false],
    ["id mismatch", owned, "sbx-2", false],
    ["missing sandbox id", { [Labels.ManagedBy]: "fast-sandbox" }, "sbx-1", false],
    ["sandbox id that is a path", { ...owned, [Labels.SandboxId]: "../x" }, "../x", false],
    ["taken prewarm: container-id label is the id", { ...owned, [Labels.ContainerId]: "pw-1" }, "pw-1", true],
    ["container-id label of another container", { ...owned, [Labels.ContainerId]: "pw-1" }, "pw-2", false],
    [
      "container-id matches but no manager",
      { [Labels.SandboxId]: "sbx-1", [Labels.ContainerId]: "pw-1" },
      "pw-1",
      false,
    ],
    [
      "container-id matches but no sandbox id",
      { [Labels.ManagedBy]: "fast-sandbox", [Labels.ContainerId]: "pw-1" },
      "pw-1",
      false,
    ],
    [
      "container-id matches but the sandbox id is not a DNS label",
      { ...owned, [Labels.SandboxId]: "../x", [Labels.ContainerId]: "pw-1" },
      "pw-1",
      false,
    ],
    [
      "untaken prewarm: both labels are the id",
      { ...owned, [Labels.SandboxId]: "pw-1", [Labels.ContainerId]: "pw-1" },
      "pw-1",
      true,
    ],
  ];
  for (const [name, labels, id, expected] of cases) {
    it(name, () => {
      assert.equal(isManagedContainer(labels, id), expected);
    });
  }
});

describe("ports label", () => {
  const roundTrips: [string, number[], string][] = [
    ["none", [], ""],
    ["one", [8080], "8080"],
    ["several", [80, 443, 65535], "80,443,65535"],
  ];
  for (const [name, ports, label] of roundTrips) {
    it(`round-trips ${name}`, () => {
      assert.equal(formatPortsLabel(ports), label);
      assert.deepEqual(parsePortsLabel(label), ports);
    });
  }

  const invalid: [string, string][] = [
    ["zero", "0"],
    ["too high", "65536"],
    ["spaces", "80, 443"],
    ["empty entry", "80,,443"],
    ["trailing comma", "80,"],
    ["negative", "-1"],
    ["hex", "0x50"],
    ["fraction", "80.5"],
  ];
  for (const [name, label] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parsePortsLabel(label), {
        code: ErrorCode.InvalidArgument,
        field: `labels["${Labels.Ports}"]`,
        message: /expected comma-separated port numbers from 1 to 65535/,
      });
    });
  }
});

describe("isAnchorContainer", () => {
  const anchor = {
    [Labels.ManagedBy]: "fast-sandbox",
    [Labels.Role]: anchorRole,
    [Labels.Agent]: "agent-a",
  };
  const cases: [string, Record<string, string> | undefined, string, boolean][] = [
    ["the agent's anchor", anchor, "agent-a.anchor", true],
    ["no labels", undefined, "agent-a.anchor", false],
    ["another manager", { ...anchor, [Labels.ManagedBy]: "docker" }, "agent-a.anchor", false],
    ["another role", { ...anchor, [Labels.Role]: "sidecar" }, "agent-a.anchor", false],
    ["the anchor id of another agent", anchor, "agent-b.anchor", false],
    ["an agent label that is not a DNS label", { ...anchor, [Labels.Agent]: "A_b" }, "A_b.anchor", false],
    ["no agent label", { ...anchor, [Labels.Agent]: "" }, ".anchor", false],
  ];
  for (const [name, labels, id, want] of cases) {
    it(name, () => assert.equal(isAnchorContainer(labels, id), want));
  }

  it("is never a sandbox id, and never a managed sandbox container", () => {
    const id = anchorContainerId("agent-a");
    assert.equal(isDnsLabel(id), false);
    assert.equal(isManagedContainer(anchor, id), false);
  });
});
