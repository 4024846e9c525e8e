/** The ProcessService cases of api-bad-input.test.ts: rules the controller checks before routing, and what the agent refuses. */
import { Code } from "@connectrpc/connect";
import { ProcessService } from "../../packages/api/gen/fastsandbox/v1/process_pb.ts";
import type { BadInputCase } from "./api-bad-input-cases.ts";

const proc = ProcessService.method;

/** `kept` is the running sandbox api-bad-input.test.ts creates first (KEPT_SANDBOX). */
export function processCases(kept: string): BadInputCase[] {
  const invalid = (
    name: string,
    method: BadInputCase["method"],
    message: Record<string, unknown>,
    field: string,
  ) => ({
    name,
    method,
    request: { message },
    code: Code.InvalidArgument,
    field,
  });
  const missing = (
    name: string,
    method: BadInputCase["method"],
    message: Record<string, unknown>,
    field?: string,
  ): BadInputCase => ({
    name,
    method,
    request: { message },
    code: Code.NotFound,
    ...(field ? { field } : {}),
  });
  const p = { name: kept, processId: "p-nope" };
  return [
    invalid("exec: no name", proc.exec, { command: ["true"] }, "name"),
    invalid("exec: no command", proc.exec, { name: kept }, "command"),
    invalid("exec: an empty program", proc.exec, { name: kept, command: [""] }, "command[0]"),
    invalid("exec: NUL in command", proc.exec, { name: kept, command: ["a\0b"] }, "command[0]"),
    invalid("exec: 257 command entries", proc.exec, { name: kept, command: Array(257).fill("a") }, "command"),
    invalid("exec: bad env name", proc.exec, { name: kept, command: ["true"], env: { "1X": "v" } }, "env.1X"),
    invalid("exec: relative cwd", proc.exec, { name: kept, command: ["true"], cwd: "tmp" }, "cwd"),
    invalid("exec: bad user", proc.exec, { name: kept, command: ["true"], user: "a b" }, "user"),
    invalid("exec: cols without tty", proc.exec, { name: kept, command: ["true"], cols: 80 }, "cols"),
    invalid(
      "exec: rows over 65535",
      proc.exec,
      { name: kept, command: ["sh"], tty: true, rows: 70_000 },
      "rows",
    ),
    invalid(
      "exec: timeout over a day",
      proc.exec,
      { name: kept, command: ["true"], timeoutMs: 86_400_001 },
      "timeoutMs",
    ),
    invalid(
      "exec: bad namespace",
      proc.exec,
      { name: kept, namespace: "Bad NS", command: ["true"] },
      "namespace",
    ),
    missing("exec: missing sandbox", proc.exec, { name: "nope", command: ["true"] }),
    {
      name: "exec: a command that is not in the image",
      method: proc.exec,
      request: { message: { name: kept, command: ["/no/such/program"] } },
      code: Code.FailedPrecondition,
      field: "command",
    },
    invalid("attach: no process id", proc.attachProcess, { name: kept }, "processId"),
    missing("attach: missing sandbox", proc.attachProcess, { name: "nope", processId: "p-1" }),
    missing("attach: missing process", proc.attachProcess, p, "processId"),
    invalid("sendInput: no name", proc.sendInput, { processId: "p-1" }, "name"),
    invalid("sendInput: bad process id", proc.sendInput, { name: kept, processId: "../x" }, "processId"),
    invalid("sendInput: over 1 MiB", proc.sendInput, { ...p, data: new Uint8Array(1024 * 1024 + 1) }, "data"),
    missing("sendInput: missing sandbox", proc.sendInput, { name: "nope", processId: "p-1" }),
    missing("sendInput: missing process", proc.sendInput, p, "processId"),
    invalid("closeInput: no process id", proc.closeInput, { name: kept }, "processId"),
    missing("closeInput: missing sandbox", proc.closeInput, { name: "nope", processId: "p-1" }),
    missing("closeInput: missing process", proc.closeInput, p, "processId"),
    invalid("resizePty: cols 0", proc.resizePty, { ...p, cols: 0, rows: 24 }, "cols"),
    invalid("resizePty: rows over 65535", proc.resizePty, { ...p, cols: 80, rows: 65_536 }, "rows"),
    missing("resizePty: missing sandbox", proc.resizePty, {
      name: "nope",
      processId: "p-1",
      cols: 80,
      rows: 24,
    }),
    missing("resizePty: missing process", proc.resizePty, { ...p, cols: 80, rows: 24 }, "processId"),
    invalid("signalProcess: no signal", proc.signalProcess, p, "signal"),
    invalid("signalProcess: unknown signal", proc.signalProcess, { ...p, signal: "SIGSTOP" }, "signal"),
    invalid("signalProcess: signal 65", proc.signalProcess, { ...p, signal: "65" }, "signal"),
    missing("signalProcess: missing sandbox", proc.signalProcess, {
      name: "nope",
      processId: "p-1",
      signal: "9",
    }),
    missing("signalProcess: missing process", proc.signalProcess, { ...p, signal: "SIGTERM" }, "processId"),
    invalid("listProcesses: no name", proc.listProcesses, {}, "name"),
    missing("listProcesses: missing sandbox", proc.listProcesses, { name: "nope" }),
  ];
}
