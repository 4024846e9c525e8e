// Unit tests of the agent's wire schemas: create, delete and prewarm bodies into domain values, bad input into named fields.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError, prewarmKey } from "@fast-sandbox/api";
import {
  parseCreateRequest,
  parseDeleteRequest,
  parseExecRequest,
  parseInputRequest,
  parsePrewarmRequest,
  parseProcessRef,
  parseResizeRequest,
  parseSignalRequest,
} from "./agent-requests.ts";
import type { AgentSandboxSpec } from "./sandbox-spec.ts";

function assertInvalid(run: () => unknown, field: string | undefined): void {
  assert.throws(run, (err) => {
    assert.ok(err instanceof FsbError, `want FsbError, got ${err}`);
    assert.equal(err.code, ErrorCode.InvalidArgument);
    assert.equal(err.field, field);
    return true;
  });
}

/** The smallest valid sandbox: everything else defaults. */
const minimal = { sandboxId: "sbx-1", name: "web", image: "busybox" };

describe("parseCreateRequest accepts", () => {
  const cases: Array<{ name: string; body: unknown; want: AgentSandboxSpec }> = [
    {
      name: "a full body, normalising the image and parsing resources",
      body: {
        sandbox: {
          sandboxId: "sbx-full-1",
          name: "web",
          namespace: "team-a",
          uid: "6f1c2a9e-0d4b-4b8e-9a57-3c2f1e0d9b8a",
          pool: "fast-pool",
          image: "busybox",
          command: ["/bin/sh"],
          args: ["-c", "echo hi; sleep 1"],
          env: { FOO: "bar", EMPTY: "", _UNDER: "x=y" },
          workingDir: "/tmp",
          exposedPorts: [80, 443, 65535, 1],
          resources: { cpu: "500m", memory: "64Mi", pids: 100 },
        },
      },
      want: {
        sandboxId: "sbx-full-1",
        name: "web",
        namespace: "team-a",
        uid: "6f1c2a9e-0d4b-4b8e-9a57-3c2f1e0d9b8a",
        pool: "fast-pool",
        image: "docker.io/library/busybox:latest",
        command: ["/bin/sh"],
        args: ["-c", "echo hi; sleep 1"],
        env: { FOO: "bar", EMPTY: "", _UNDER: "x=y" },
        workingDir: "/tmp",
        exposedPorts: [80, 443, 65535, 1],
        resources: { cpuMillis: 500, memoryBytes: 64 * 1024 * 1024, pids: 100 },
      },
    },
    {
      name: "a minimal body, filling in the defaults (namespace default)",
      body: { sandbox: minimal },
      want: {
        sandboxId: "sbx-1",
        name: "web",
        namespace: "default",
        uid: "",
        pool: undefined,
        image: "docker.io/library/busybox:latest",
        command: [],
        args: [],
        env: {},
        workingDir: undefined,
        exposedPorts: [],
        resources: {},
      },
    },
    {
      name: "a tagged Docker Hub image with its library prefix, and fractional cores",
      body: { sandbox: { ...minimal, image: "library/busybox:1.36", resources: { cpu: "1.5" } } },
      want: {
        sandboxId: "sbx-1",
        name: "web",
        namespace: "default",
        uid: "",
        pool: undefined,
        image: "docker.io/library/busybox:1.36",
        command: [],
        args: [],
        env: {},
        workingDir: undefined,
        exposedPorts: [],
        resources: { cpuMillis: 1500 },
      },
    },
    {
      name: "a registry image kept as written, with :latest added",
      body: { sandbox: { ...minimal, image: "ghcr.io/acme/tool", sandboxId: "a".repeat(63) } },
      want: {
        sandboxId: "a".repeat(63),
        name: "web",
        namespace: "default",
        uid: "",
        pool: undefined,
        image: "ghcr.io/acme/tool:latest",
        command: [],
        args: [],
        env: {},
        workingDir: undefined,
        exposedPorts: [],
        resources: {},
      },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      assert.deepEqual(parseCreateRequest(tc.body), tc.want);
    });
  }
});

describe("parseCreateRequest rejects", () => {
  const sandbox = (extra: Record<string, unknown>) => ({ sandbox: { ...minimal, ...extra } });
  const cases: Array<{ name: string; body: unknown; field: string | undefined }> = [
    { name: "a null body", body: null, field: undefined },
    { name: "an array body", body: [], field: undefined },
    { name: "a string body", body: "sandbox", field: undefined },
    { name: "a missing sandbox", body: {}, field: "sandbox" },
    { name: "a null sandbox", body: { sandbox: null }, field: "sandbox" },
    { name: "an unknown top-level field", body: { ...sandbox({}), dryRun: true }, field: "dryRun" },
    { name: "an unknown sandbox field", body: sandbox({ privileged: true }), field: "sandbox.privileged" },
    // sandboxId
    {
      name: "a missing sandboxId",
      body: { sandbox: { name: "web", image: "busybox" } },
      field: "sandbox.sandboxId",
    },
    { name: "a numeric sandboxId", body: sandbox({ sandboxId: 12 }), field: "sandbox.sandboxId" },
    { name: "a sandboxId with uppercase", body: sandbox({ sandboxId: "Sbx-1" }), field: "sandbox.sandboxId" },
    { name: 'a sandboxId with "/"', body: sandbox({ sandboxId: "a/b" }), field: "sandbox.sandboxId" },
    { name: 'the sandboxId "../x"', body: sandbox({ sandboxId: "../x" }), field: "sandbox.sandboxId" },
    {
      name: "a sandboxId of 64 characters",
      body: sandbox({ sandboxId: "a".repeat(64) }),
      field: "sandbox.sandboxId",
    },
    { name: "an empty sandboxId", body: sandbox({ sandboxId: "" }), field: "sandbox.sandboxId" },
    { name: "a sandboxId ending in '-'", body: sandbox({ sandboxId: "sbx-" }), field: "sandbox.sandboxId" },
    // name, namespace, uid, pool
    { name: "an invalid name", body: sandbox({ name: "Web_Server" }), field: "sandbox.name" },
    { name: "an empty name", body: sandbox({ name: "" }), field: "sandbox.name" },
    { name: "an invalid namespace", body: sandbox({ namespace: "team.a" }), field: "sandbox.namespace" },
    { name: "a uid with a space", body: sandbox({ uid: "a b" }), field: "sandbox.uid" },
    { name: "an invalid pool", body: sandbox({ pool: "Fast" }), field: "sandbox.pool" },
    // image
    { name: "an empty image", body: sandbox({ image: "" }), field: "sandbox.image" },
    { name: 'the image "UPPER/case"', body: sandbox({ image: "UPPER/case" }), field: "sandbox.image" },
    { name: 'the image "a b"', body: sandbox({ image: "a b" }), field: "sandbox.image" },
    { name: "an image with NUL", body: sandbox({ image: "busybox\0:latest" }), field: "sandbox.image" },
    {
      name: "a missing image",
      body: { sandbox: { sandboxId: "sbx-1", name: "web" } },
      field: "sandbox.image",
    },
    // exposedPorts
    { name: "port 0", body: sandbox({ exposedPorts: [0] }), field: "sandbox.exposedPorts[0]" },
    { name: "port 65536", body: sandbox({ exposedPorts: [80, 65536] }), field: "sandbox.exposedPorts[1]" },
    { name: "port 1.5", body: sandbox({ exposedPorts: [1.5] }), field: "sandbox.exposedPorts[0]" },
    { name: 'port "80"', body: sandbox({ exposedPorts: ["80"] }), field: "sandbox.exposedPorts[0]" },
    {
      name: "duplicate ports [80,80]",
      body: sandbox({ exposedPorts: [80, 80] }),
      field: "sandbox.exposedPorts[1]",
    },
    {
      name: "a duplicate port later in the list",
      body: sandbox({ exposedPorts: [80, 443, 8080, 443] }),
      field: "sandbox.exposedPorts[3]",
    },
    { name: "exposedPorts not an array", body: sandbox({ exposedPorts: 80 }), field: "sandbox.exposedPorts" },
    // env
    { name: 'env name "1BAD"', body: sandbox({ env: { "1BAD": "x" } }), field: "sandbox.env.1BAD" },
    { name: 'env name "A=B"', body: sandbox({ env: { "A=B": "x" } }), field: "sandbox.env.A=B" },
    { name: "an env value with NUL", body: sandbox({ env: { FOO: "a\0b" } }), field: "sandbox.env.FOO" },
    { name: "a non-string env value", body: sandbox({ env: { FOO: 1 } }), field: "sandbox.env.FOO" },
    { name: "env as a list", body: sandbox({ env: [{ name: "FOO", value: "1" }] }), field: "sandbox.env" },
    // command, args
    { name: "command not an array", body: sandbox({ command: "/bin/sh -c true" }), field: "sandbox.command" },
    {
      name: "a command entry with NUL",
      body: sandbox({ command: ["/bin/sh\0"] }),
      field: "sandbox.command[0]",
    },
    { name: "an arg with NUL", body: sandbox({ args: ["-c", "true\0false"] }), field: "sandbox.args[1]" },
    { name: "a non-string arg", body: sandbox({ args: ["-c", 1] }), field: "sandbox.args[1]" },
    {
      name: "an arg over 8 KiB",
      body: sandbox({ args: ["x".repeat(8 * 1024 + 1)] }),
      field: "sandbox.args[0]",
    },
    { name: "257 args", body: sandbox({ args: Array(257).fill("x") }), field: "sandbox.args" },
    // workingDir
    { name: "a relative workingDir", body: sandbox({ workingDir: "tmp" }), field: "sandbox.workingDir" },
    {
      name: 'a workingDir with ".."',
      body: sandbox({ workingDir: "/srv/../etc" }),
      field: "sandbox.workingDir",
    },
    { name: "a workingDir with NUL", body: sandbox({ workingDir: "/srv\0" }), field: "sandbox.workingDir" },
    // resources
    {
      name: 'memory "1Mi" (below the 4Mi minimum)',
      body: sandbox({ resources: { memory: "1Mi" } }),
      field: "sandbox.resources.memory",
    },
    {
      name: 'memory "lots"',
      body: sandbox({ resources: { memory: "lots" } }),
      field: "sandbox.resources.memory",
    },
    { name: 'cpu "-1"', body: sandbox({ resources: { cpu: "-1" } }), field: "sandbox.resources.cpu" },
    { name: "cpu as a number", body: sandbox({ resources: { cpu: 1 } }), field: "sandbox.resources.cpu" },
    { name: "pids 0", body: sandbox({ resources: { pids: 0 } }), field: "sandbox.resources.pids" },
    {
      name: "an unknown resources field",
      body: sandbox({ resources: { gpu: "1" } }),
      field: "sandbox.resources.gpu",
    },
  ];
  for (const tc of cases) {
    it(`${tc.name} → INVALID_ARGUMENT on ${tc.field ?? "no field"}`, () => {
      assertInvalid(() => parseCreateRequest(tc.body), tc.field);
    });
  }

  it("names the field in the message too", () => {
    assert.throws(
      () => parseCreateRequest(sandbox({ exposedPorts: [80, 80] })),
      (err) => {
        assert.ok(err instanceof FsbError);
        assert.match(err.message, /^sandbox\.exposedPorts\[1\]: port 80 is listed twice/);
        return true;
      },
    );
  });
});

describe("parseDeleteRequest", () => {
  const accepted: Array<{ name: string; body: unknown; want: ReturnType<typeof parseDeleteRequest> }> = [
    {
      name: "an id alone",
      body: { sandboxId: "sbx-1" },
      want: { sandboxId: "sbx-1", gracePeriodSeconds: undefined, keepLog: false },
    },
    {
      name: "grace period 0",
      body: { sandboxId: "sbx-1", gracePeriodSeconds: 0 },
      want: { sandboxId: "sbx-1", gracePeriodSeconds: 0, keepLog: false },
    },
    {
      name: "grace period 3600",
      body: { sandboxId: "sbx-1", gracePeriodSeconds: 3600 },
      want: { sandboxId: "sbx-1", gracePeriodSeconds: 3600, keepLog: false },
    },
    {
      name: "keepLog",
      body: { sandboxId: "sbx-1", keepLog: true },
      want: { sandboxId: "sbx-1", gracePeriodSeconds: undefined, keepLog: true },
    },
  ];
  for (const tc of accepted) {
    it(`accepts ${tc.name}`, () => {
      assert.deepEqual(parseDeleteRequest(tc.body), tc.want);
    });
  }

  const rejected: Array<{ name: string; body: unknown; field: string | undefined }> = [
    { name: "a null body", body: null, field: undefined },
    { name: "a missing sandboxId", body: {}, field: "sandboxId" },
    { name: 'the sandboxId "../x"', body: { sandboxId: "../x" }, field: "sandboxId" },
    { name: "an uppercase sandboxId", body: { sandboxId: "SBX" }, field: "sandboxId" },
    {
      name: "gracePeriodSeconds -1",
      body: { sandboxId: "sbx-1", gracePeriodSeconds: -1 },
      field: "gracePeriodSeconds",
    },
    {
      name: "gracePeriodSeconds 3601",
      body: { sandboxId: "sbx-1", gracePeriodSeconds: 3601 },
      field: "gracePeriodSeconds",
    },
    {
      name: 'gracePeriodSeconds "10"',
      body: { sandboxId: "sbx-1", gracePeriodSeconds: "10" },
      field: "gracePeriodSeconds",
    },
    {
      name: "gracePeriodSeconds 1.5",
      body: { sandboxId: "sbx-1", gracePeriodSeconds: 1.5 },
      field: "gracePeriodSeconds",
    },
    { name: "an unknown field", body: { sandboxId: "sbx-1", force: true }, field: "force" },
  ];
  for (const tc of rejected) {
    it(`rejects ${tc.name} → INVALID_ARGUMENT on ${tc.field ?? "no field"}`, () => {
      assertInvalid(() => parseDeleteRequest(tc.body), tc.field);
    });
  }
});

describe("parsePrewarmRequest", () => {
  const LIMIT = 10;
  it("accepts the empty set", () => {
    assert.deepEqual(parsePrewarmRequest({ templates: [] }, LIMIT), []);
  });

  it("normalises the image, defaults lists and env, and keys each template", () => {
    const [t] = parsePrewarmRequest({ templates: [{ image: "busybox", count: 2 }] }, LIMIT);
    assert.deepEqual(t, {
      key: prewarmKey({ image: "busybox" }),
      image: "docker.io/library/busybox:latest",
      command: [],
      args: [],
      env: {},
      count: 2,
    });
  });

  it("accepts counts that add up to exactly the limit", () => {
    const templates = [
      { image: "busybox", args: ["a"], count: 6 },
      { image: "busybox", args: ["b"], count: 4 },
    ];
    assert.equal(parsePrewarmRequest({ templates }, LIMIT).length, 2);
  });

  const t = (extra: Record<string, unknown>) => ({ image: "busybox", count: 1, ...extra });
  const rejected: Array<{ name: string; body: unknown; field: string | undefined; limit?: number }> = [
    { name: "a null body", body: null, field: undefined },
    { name: "no templates", body: {}, field: "templates" },
    { name: "templates not a list", body: { templates: {} }, field: "templates" },
    { name: "an unknown top-level field", body: { templates: [], force: true }, field: "force" },
    {
      name: "an unknown template field",
      body: { templates: [t({ workingDir: "/" })] },
      field: "templates[0].workingDir",
    },
    { name: "a missing image", body: { templates: [{ count: 1 }] }, field: "templates[0].image" },
    {
      name: "a bad image",
      body: { templates: [t({}), t({ image: "Bad Image" })] },
      field: "templates[1].image",
    },
    { name: "a missing count", body: { templates: [{ image: "busybox" }] }, field: "templates[0].count" },
    { name: "count -1", body: { templates: [t({ count: -1 })] }, field: "templates[0].count" },
    { name: "count 21", body: { templates: [t({ count: 21 })] }, field: "templates[0].count", limit: 100 },
    { name: "count 1.5", body: { templates: [t({ count: 1.5 })] }, field: "templates[0].count" },
    { name: 'count "2"', body: { templates: [t({ count: "2" })] }, field: "templates[0].count" },
    {
      name: "a command that is not a list",
      body: { templates: [t({ command: "sleep 1" })] },
      field: "templates[0].command",
    },
    { name: "an arg with NUL", body: { templates: [t({ args: ["a\0"] })] }, field: "templates[0].args[0]" },
    {
      name: "a bad env name",
      body: { templates: [t({ env: { "1X": "y" } })] },
      field: "templates[0].env.1X",
    },
    {
      name: "env as a list",
      body: { templates: [t({ env: [{ name: "A", value: "1" }] })] },
      field: "templates[0].env",
    },
    {
      name: "the same template twice, however the image is spelled",
      body: { templates: [t({}), t({ image: "docker.io/library/busybox:latest", count: 2 })] },
      field: "templates[1]",
    },
    {
      name: "counts adding up to more than the limit",
      body: { templates: [t({ args: ["a"], count: 6 }), t({ args: ["b"], count: 5 })] },
      field: "templates",
    },
    { name: "any count when the limit is 0", body: { templates: [t({})] }, field: "templates", limit: 0 },
    {
      name: "17 templates",
      body: { templates: Array.from({ length: 17 }, (_, i) => t({ args: [`${i}`], count: 0 })) },
      field: "templates",
    },
  ];
  for (const tc of rejected) {
    it(`rejects ${tc.name} → INVALID_ARGUMENT on ${tc.field ?? "no field"}`, () => {
      assertInvalid(() => parsePrewarmRequest(tc.body, tc.limit ?? LIMIT), tc.field);
    });
  }

  it("names the limit and the flag when the counts are too many", () => {
    assert.throws(
      () => parsePrewarmRequest({ templates: [t({ count: 11 })] }, LIMIT),
      /add up to 11, above this agent's prewarm limit of 10 \(--max-prewarm\)/,
    );
  });
});

describe("parseExecRequest", () => {
  it("fills the defaults: no stdin, no terminal", () =>
    assert.deepEqual(parseExecRequest({ sandboxId: "sb-1", command: ["ls"] }), {
      sandboxId: "sb-1",
      command: ["ls"],
      env: undefined,
      cwd: undefined,
      user: undefined,
      tty: undefined,
      stdin: false,
      timeoutMs: undefined,
    }));

  it("gives a terminal without a size 80x24", () =>
    assert.deepEqual(parseExecRequest({ sandboxId: "sb-1", command: ["sh"], tty: true }).tty, {
      cols: 80,
      rows: 24,
    }));

  it("reads a timeout of 0 as none and a size of 0 as 80x24, as the Process API does", () => {
    const r = parseExecRequest({
      sandboxId: "sb-1",
      command: ["sh"],
      tty: true,
      cols: 0,
      rows: 50,
      timeoutMs: 0,
    });
    assert.deepEqual([r.tty, r.timeoutMs], [{ cols: 80, rows: 50 }, undefined]);
  });

  const bad: Array<[string, unknown, string]> = [
    ["an empty command", { sandboxId: "sb-1", command: [] }, "command"],
    ["an empty program", { sandboxId: "sb-1", command: [""] }, "command[0]"],
    ["a relative cwd", { sandboxId: "sb-1", command: ["ls"], cwd: "tmp" }, "cwd"],
    ["a timeout over a day", { sandboxId: "sb-1", command: ["ls"], timeoutMs: 86_400_001 }, "timeoutMs"],
    ["a size without a terminal", { sandboxId: "sb-1", command: ["ls"], cols: 100 }, "cols"],
    ["a user with a space", { sandboxId: "sb-1", command: ["ls"], user: "a b" }, "user"],
    ["no sandbox id", { command: ["ls"] }, "sandboxId"],
    ["an unknown field", { sandboxId: "sb-1", command: ["ls"], shell: true }, ""],
  ];
  for (const [name, body, field] of bad) {
    it(`refuses ${name}`, () =>
      assert.throws(
        () => parseExecRequest(body),
        (err: FsbError) => {
          assert.equal(err.code, ErrorCode.InvalidArgument);
          if (field) assert.equal(err.field, field);
          return true;
        },
      ));
  }
});

describe("the process routes' bodies", () => {
  it("decode input data from base64", () =>
    assert.deepEqual(
      parseInputRequest({ sandboxId: "sb-1", processId: "p-1", data: "aGk=" }).data,
      Buffer.from("hi"),
    ));
  it("refuse data that is not base64", () =>
    assert.throws(() => parseInputRequest({ sandboxId: "sb-1", processId: "p-1", data: "a b" }), {
      code: ErrorCode.InvalidArgument,
      field: "data",
    }));
  it("take a signal by name or number", () => {
    assert.equal(
      parseSignalRequest({ sandboxId: "sb-1", processId: "p-1", signal: "SIGTERM" }).signal,
      "SIGTERM",
    );
    assert.equal(parseSignalRequest({ sandboxId: "sb-1", processId: "p-1", signal: 9 }).signal, 9);
  });
  it("refuse a process id with a slash", () =>
    assert.throws(() => parseProcessRef({ sandboxId: "sb-1", processId: "../x" }), { field: "processId" }));
  it("bound a terminal's size", () =>
    assert.throws(() => parseResizeRequest({ sandboxId: "sb-1", processId: "p-1", cols: 70000, rows: 1 }), {
      field: "cols",
    }));
});
