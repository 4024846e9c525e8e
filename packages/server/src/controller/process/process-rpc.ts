/** ProcessService over Connect: wire messages in, validated domain calls, ExecEvents out. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  invalidArgument,
  parseProcessSignal,
  validateExecSpec,
  validateProcessId,
  validateProcessInput,
  validatePtySize,
} from "@fast-sandbox/api";
import {
  type ExecEvent,
  ExecEventSchema,
  type ExecRequest,
  type ProcessInfo,
  ProcessInfoSchema,
  type ProcessService,
} from "@fast-sandbox/api/gen/fastsandbox/v1/process_pb.ts";
import type { AgentProcessView } from "./agent-process-api.ts";
import type { ExecStreamEvent } from "./exec-events.ts";
import type { ProcessTarget, SandboxProcesses } from "./sandbox-processes.ts";

/** The service implementation; errors are FsbErrors, which the server's error boundary maps to codes. */
export function processRpc(processes: SandboxProcesses): ServiceImpl<typeof ProcessService> {
  return {
    async *exec(req, context) {
      const target = targetOf(req);
      const spec = validateExecSpec(execSpecInput(req));
      for await (const event of processes.exec(target, spec, context.signal)) yield toExecEvent(event);
    },
    async *attachProcess(req, context) {
      const target = targetOf(req);
      const processId = validateProcessId(req.processId);
      for await (const event of processes.attach(target, processId, context.signal)) yield toExecEvent(event);
    },
    async sendInput(req, context) {
      const target = targetOf(req);
      const processId = validateProcessId(req.processId);
      await processes.sendInput(target, processId, validateProcessInput(req.data), context.signal);
      return {};
    },
    async closeInput(req, context) {
      const target = targetOf(req);
      await processes.closeInput(target, validateProcessId(req.processId), context.signal);
      return {};
    },
    async resizePty(req, context) {
      const target = targetOf(req);
      const processId = validateProcessId(req.processId);
      const size = validatePtySize({ cols: req.cols, rows: req.rows });
      await processes.resizePty(target, processId, size, context.signal);
      return {};
    },
    async signalProcess(req, context) {
      const target = targetOf(req);
      const processId = validateProcessId(req.processId);
      await processes.signalProcess(target, processId, parseProcessSignal(req.signal), context.signal);
      return {};
    },
    async listProcesses(req, context) {
      const list = await processes.list(targetOf(req), context.signal);
      return { processes: list.map(toProcessInfo) };
    },
  };
}

function targetOf(req: { name: string; namespace: string }): ProcessTarget {
  if (!req.name) throw invalidArgument("name", "is required");
  return { name: req.name, namespace: req.namespace };
}

/** The wire exec as the plain object the shared schema checks; zero values mean "not given". */
export function execSpecInput(req: ExecRequest): Record<string, unknown> {
  return {
    command: req.command,
    ...(Object.keys(req.env).length ? { env: req.env } : {}),
    ...(req.cwd ? { cwd: req.cwd } : {}),
    ...(req.user ? { user: req.user } : {}),
    ...(req.stdin ? { stdin: true } : {}),
    ...(req.tty ? { tty: true } : {}),
    ...(req.cols ? { cols: req.cols } : {}),
    ...(req.rows ? { rows: req.rows } : {}),
    ...(req.timeoutMs ? { timeoutMs: req.timeoutMs } : {}),
  };
}

export function toExecEvent(event: ExecStreamEvent): ExecEvent {
  switch (event.type) {
    case "started":
      return create(ExecEventSchema, {
        event: { case: "started", value: { processId: event.processId, pid: event.pid } },
      });
    case "stdout":
    case "stderr":
      return create(ExecEventSchema, { event: { case: event.type, value: event.data } });
    case "exited":
      return create(ExecEventSchema, {
        event: {
          case: "exited",
          value: { exitCode: event.exitCode, signal: event.signal, timedOut: event.timedOut },
        },
      });
    case "dropped":
      return create(ExecEventSchema, { event: { case: "dropped", value: BigInt(event.bytes) } });
  }
}

function toProcessInfo(view: AgentProcessView): ProcessInfo {
  const startedAt = new Date(view.startedAt);
  return create(ProcessInfoSchema, {
    processId: view.processId,
    pid: view.pid,
    command: view.command,
    tty: view.tty,
    ...(Number.isNaN(startedAt.getTime()) ? {} : { startedAt: timestampFromDate(startedAt) }),
    running: view.running,
    ...(view.exitCode === null ? {} : { exitCode: view.exitCode }),
    signal: view.signal,
  });
}
