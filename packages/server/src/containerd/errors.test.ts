// containerd failures become FsbError codes: a missing socket is UNAVAILABLE, gRPC codes map across,
// and each condition a task create can meet gets its own code from containerd's and runc's words.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorCode } from "@fast-sandbox/api";
import { ContainerdConnection } from "./connection.ts";
import { fromContainerdError, fromTaskError, taskFailures } from "./errors.ts";

describe("fromContainerdError", () => {
  it("reports a containerd that is not there as UNAVAILABLE", async () => {
    const conn = new ContainerdConnection({ socketPath: "/nonexistent/containerd.sock", namespace: "x" });
    try {
      const err = await conn.version.version({}).then(
        () => undefined,
        (e: unknown) => e,
      );
      const translated = fromContainerdError(err, "get version");
      assert.equal(translated.code, ErrorCode.Unavailable);
      assert.match(translated.message, /containerd: get version: socket unreachable \(ENOENT\); retry/);
      assert.equal(translated.cause, err);
    } finally {
      conn.close();
    }
  });

  const cases: Array<{ code: Code; want: ErrorCode }> = [
    { code: Code.NotFound, want: ErrorCode.NotFound },
    { code: Code.AlreadyExists, want: ErrorCode.AlreadyExists },
    { code: Code.FailedPrecondition, want: ErrorCode.FailedPrecondition },
    { code: Code.Unavailable, want: ErrorCode.Unavailable },
    { code: Code.DeadlineExceeded, want: ErrorCode.DeadlineExceeded },
    { code: Code.Unknown, want: ErrorCode.Internal },
    { code: Code.DataLoss, want: ErrorCode.Internal },
  ];
  for (const tc of cases) {
    it(`maps ${Code[tc.code]} to ${tc.want} and keeps the message`, () => {
      const err = fromContainerdError(new ConnectError("boom", tc.code), "act");
      assert.equal(err.code, tc.want);
      assert.equal(err.message, "containerd: act: boom");
    });
  }
});

/** The status text of a runc failure inside Tasks.Create, as containerd 1.6 wraps it. */
const runc = (detail: string) =>
  `failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${detail}: unknown`;
const SHIM_SOCKET = "/run/containerd/s/b62774c506bd16bdfc52eaf847bc62c9bb61825e2a3fb071271c7e077d440384";

describe("fromTaskError", () => {
  // `seen`: the text was produced by the real containerd 1.6.20 / runc 1.1.5 here (see the notes in
  // errors.ts and container-runtime.test.ts); the others are quoted from their sources.
  const cases: Array<{
    name: string;
    text: string;
    seen: boolean;
    cwd?: string;
    code: ErrorCode;
    field?: string;
    message: RegExp;
  }> = [
    {
      name: "a create racing the exit of the group's shim: its socket is gone",
      text: `failed to start shim: start failed: dial unix ${SHIM_SOCKET}: connect: no such file or directory`,
      seen: true,
      code: ErrorCode.Unavailable,
      message: /^containerd: create task sb-1: the runc shim .* was exiting .*; retry$/,
    },
    {
      name: "the same race, lost while the new shim removed the old socket",
      text: `failed to start shim: start failed: io.containerd.runc.v2: remove pre-existing socket: remove ${SHIM_SOCKET}: no such file or directory: exit status 1`,
      seen: true,
      code: ErrorCode.Unavailable,
      message: /retry$/,
    },
    {
      name: "the shim exited while it created the task",
      text: "failed to create shim task: ttrpc: closed: unknown",
      seen: true,
      code: ErrorCode.Unavailable,
      message: /^containerd: create task sb-1: the runc shim exited while creating the task; retry$/,
    },
    {
      name: "a command that is not in the image",
      text: runc('exec: "nope": executable file not found in $PATH'),
      seen: true,
      code: ErrorCode.InvalidArgument,
      field: "command",
      message: /^command: "nope" was not found in the image$/,
    },
    {
      name: "an exec'd command that is not in a gVisor sandbox's image (runsc's words)",
      text: 'OCI runtime exec failed: executing processes for container: executing command "nope" in sandbox: error finding executable "nope" in PATH [/usr/local/sbin /usr/bin /bin]: no such file or directory: unknown',
      seen: true,
      code: ErrorCode.InvalidArgument,
      field: "command",
      message: /^command: "nope" was not found in the image$/,
    },
    {
      name: "an absolute command path that does not exist",
      text: runc('exec: "/bin/nope": stat /bin/nope: no such file or directory'),
      seen: false,
      code: ErrorCode.InvalidArgument,
      field: "command",
      message: /"\/bin\/nope" was not found in the image/,
    },
    {
      name: "a command that is not executable",
      text: runc('exec: "/etc/passwd": permission denied'),
      seen: true,
      code: ErrorCode.InvalidArgument,
      field: "command",
      message: /"\/etc\/passwd" is not executable/,
    },
    {
      name: "a working directory that is a file in the image",
      text: runc("error during container init: mkdir /bin/sh: not a directory"),
      seen: true,
      cwd: "/bin/sh",
      code: ErrorCode.InvalidArgument,
      field: "workingDir",
      message: /^workingDir: "\/bin\/sh" cannot be a directory in the image: "\/bin\/sh" is a file$/,
    },
    {
      name: "a working directory below a file in the image",
      text: runc("error during container init: mkdir /bin/sh: not a directory"),
      seen: false,
      cwd: "/bin/sh/work",
      code: ErrorCode.InvalidArgument,
      field: "workingDir",
      message: /"\/bin\/sh\/work" cannot be a directory in the image: "\/bin\/sh" is a file/,
    },
    {
      name: "the same mkdir failure on a path that is not the working directory stays unexplained",
      text: runc("error during container init: mkdir /etc/hosts: not a directory"),
      seen: false,
      cwd: "/",
      code: ErrorCode.Internal,
      message:
        /^containerd: create task sb-1: failed to create shim task: .*mkdir \/etc\/hosts: not a directory/,
    },
    {
      name: "a memory limit below what runc init already uses",
      text: runc(
        "error during container init: error setting cgroup config for procHooks process: unable to set memory limit to 1048576 (current usage: 1970176, peak usage: 2174976)",
      ),
      seen: true,
      code: ErrorCode.InvalidArgument,
      field: "resources.memory",
      message: /1048576 bytes is less than the container uses while it starts \(1970176 bytes\)/,
    },
    {
      name: "an init process the memory limit killed",
      text: runc("container init was OOM-killed (memory limit too low?)"),
      seen: false,
      code: ErrorCode.InvalidArgument,
      field: "resources.memory",
      message: /too low for the container to start/,
    },
    {
      name: "more CPU than cpu.shares can express",
      text: runc(
        "error during container init: error setting cgroup config for procHooks process: the maximum allowed cpu-shares is 262144",
      ),
      seen: true,
      code: ErrorCode.InvalidArgument,
      field: "resources.cpu",
      message: /at most 256 cores/,
    },
    {
      name: "a node that cannot start another process",
      text: runc("fork/exec /proc/self/exe: resource temporarily unavailable"),
      seen: false,
      code: ErrorCode.ResourceExhausted,
      message: /could not start another process.*retry later$/,
    },
    {
      name: "a containerd timeout inside the call",
      text: "failed to start shim: start failed: context deadline exceeded: unknown",
      seen: false,
      code: ErrorCode.DeadlineExceeded,
      message: /timed out starting the task; retry$/,
    },
    {
      name: "a runc failure nobody named is reported as it is",
      text: runc("error during container init: something new"),
      seen: false,
      code: ErrorCode.Internal,
      message: /^containerd: create task sb-1: failed to create shim task: .*something new: unknown$/,
    },
  ];
  for (const tc of cases) {
    it(`${tc.name} → ${tc.code}${tc.field ? ` on ${tc.field}` : ""}${tc.seen ? "" : " (text from the source)"}`, () => {
      const cause = new ConnectError(tc.text, Code.Unknown);
      const err = fromTaskError(cause, "create task sb-1", tc.cwd === undefined ? {} : { cwd: tc.cwd });
      assert.equal(err.code, tc.code);
      assert.equal(err.field, tc.field);
      assert.match(err.message, tc.message);
      assert.equal(err.cause, cause);
    });
  }

  it("has a case above for every rule", () => {
    const matched = new Set<string>();
    for (const tc of cases) {
      const rule = taskFailures.find((f) => f.pattern.test(tc.text));
      if (rule) matched.add(rule.name);
    }
    assert.deepEqual([...matched].sort(), taskFailures.map((f) => f.name).sort());
  });

  it("keeps gRPC codes and unreachable sockets as fromContainerdError does", () => {
    assert.equal(
      fromTaskError(new ConnectError("gone", Code.NotFound), "start task x").code,
      ErrorCode.NotFound,
    );
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    assert.equal(fromTaskError(refused, "create task x").code, ErrorCode.Unavailable);
  });
});
