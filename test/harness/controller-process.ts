/** Runs a real fsb-controller process (with its local agents) for end-to-end tests, and a client for it. */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { FastPathService } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { FileService } from "../../packages/api/gen/fastsandbox/v1/files_pb.ts";
import { SandboxPoolService } from "../../packages/api/gen/fastsandbox/v1/pool_pb.ts";
import { ProcessService } from "../../packages/api/gen/fastsandbox/v1/process_pb.ts";
import { freePort } from "./agent-process.ts";
import { TEST_NAMESPACE } from "./constants.ts";
import { trackLogs } from "./failure-logs.ts";

const root = path.resolve(import.meta.dirname, "../..");
const entry = path.join(root, "packages/server/src/bin/fsb-controller.ts");
const READY_TIMEOUT_MS = 60_000;

export interface ControllerProcessOptions {
  socketPath: string;
  localAgents?: number;
  capacity?: number;
  /** The seed pool's network mode (`--pool-network`); isolated when unset, as in production. */
  poolNetwork?: "isolated" | "none" | "agent";
  mode?: "fast" | "strong";
  orphanTimeout?: string;
  probeInterval?: string;
  lossTimeout?: string;
  /** Reuse the data dir, ports and agent prefix of an earlier run (a restart). */
  reuse?: ControllerProcess;
  /** The API and agent tokens of another replica, so both accept the same clients and agents. */
  tokensOf?: ControllerProcess;
  /**
   * What start waits for: /readyz and the seed pool's local agents answering (default), /readyz
   * alone ("ready": the controller serves without waiting for its agents), or only /healthz ("live":
   * a follower replica is never ready).
   */
  waitFor?: "agents" | "ready" | "live";
  extraArgs?: string[];
}

export interface ControllerProcess {
  url: string;
  token: string;
  agentToken: string;
  dataDir: string;
  agentPrefix: string;
  ports: { api: number; metrics: number; health: number };
  pid: number;
  options: ControllerProcessOptions;
  /** A Connect (JSON over HTTP/1.1) client with the token. */
  client: Client<typeof FastPathService>;
  /** A gRPC (HTTP/2) client with the token. */
  grpc: Client<typeof FastPathService>;
  /** A Connect client of the SandboxPoolService with the token. */
  pools: Client<typeof SandboxPoolService>;
  /** Connect clients of the ProcessService and the FileService with the token. */
  processes: Client<typeof ProcessService>;
  files: Client<typeof FileService>;
  /** A client with the given token (or none). */
  clientWithToken(token: string | undefined): Client<typeof FastPathService>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  output(): string;
  /** Deletes every sandbox, waits until they are gone, stops the controller and removes its data. */
  cleanup(): Promise<void>;
}

/** Free ports are picked before the controller binds them; another process may win the race. */
const PORT_RACE_ATTEMPTS = 3;

export async function startControllerProcess(options: ControllerProcessOptions): Promise<ControllerProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (options.reuse || attempt >= PORT_RACE_ATTEMPTS || !/EADDRINUSE|is already in use/.test(String(err)))
        throw err;
    }
  }
}

async function startOnce(options: ControllerProcessOptions): Promise<ControllerProcess> {
  const reuse = options.reuse;
  const dataDir = reuse?.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), "fsb-ctl-")));
  const tokens = reuse ?? options.tokensOf;
  const token = tokens?.token ?? randomBytes(16).toString("hex");
  const agentToken = tokens?.agentToken ?? randomBytes(16).toString("hex");
  const agentPrefix = reuse?.agentPrefix ?? `t${randomBytes(3).toString("hex")}`;
  const ports = reuse?.ports ?? {
    api: await freePort(),
    metrics: await freePort(),
    health: await freePort(),
  };
  const args = [
    entry,
    "--api-bind-address",
    `127.0.0.1:${ports.api}`,
    "--metrics-bind-address",
    `127.0.0.1:${ports.metrics}`,
    "--health-probe-bind-address",
    `127.0.0.1:${ports.health}`,
    "--data-dir",
    dataDir,
    "--local-agents",
    String(options.localAgents ?? 2),
    "--local-agent-capacity",
    String(options.capacity ?? 3),
    ...(options.poolNetwork ? ["--pool-network", options.poolNetwork] : []),
    "--local-agent-prefix",
    agentPrefix,
    // Parallel test controllers must not race for the same fixed agent ports.
    "--agent-port",
    "0",
    "--containerd-socket",
    options.socketPath,
    "--containerd-namespace",
    TEST_NAMESPACE,
    "--fastpath-consistency-mode",
    options.mode ?? "fast",
    "--fastpath-orphan-timeout",
    options.orphanTimeout ?? "10s",
    "--agent-probe-interval",
    options.probeInterval ?? "300ms",
    "--agent-loss-timeout",
    options.lossTimeout ?? "3s",
    "--log-level",
    "warn",
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, FSB_TOKEN: token, FSB_AGENT_TOKEN: agentToken },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  // A failed test prints this output and the agents' logs (in the data dir), as long as they exist.
  child.once(
    "exit",
    trackLogs({
      label: `controller pid ${child.pid}`,
      output: () => output,
      files: () => [path.join(dataDir, "agents")],
    }),
  );
  const url = `http://127.0.0.1:${ports.api}`;
  const probe = options.waitFor === "live" ? "healthz" : "readyz";
  await waitReady(`http://127.0.0.1:${ports.health}/${probe}`, child, () => output);

  const auth =
    (t: string | undefined): Interceptor =>
    (next) =>
    (req) => {
      if (t) req.header.set("authorization", `Bearer ${t}`);
      return next(req);
    };
  const clientWithToken = (t: string | undefined) =>
    createClient(
      FastPathService,
      createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [auth(t)] }),
    );
  const client = clientWithToken(token);
  const connect = createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [auth(token)] });
  const pools = createClient(SandboxPoolService, connect);
  const localAgents = options.localAgents ?? 2;
  if ((options.waitFor ?? "agents") === "agents" && localAgents > 0) {
    // Tests place sandboxes right after the start and expect every local agent to take part.
    const name = flagValue(options.extraArgs, "--pool") ?? "default-pool";
    const namespace = flagValue(options.extraArgs, "--pool-namespace") ?? "default";
    await waitForAgents(
      () => pools.getPool({ name, namespace }),
      localAgents,
      child,
      () => output,
    );
  }
  const grpc = createClient(
    FastPathService,
    createGrpcTransport({ baseUrl: url, interceptors: [auth(token)] }),
  );

  const proc: ControllerProcess = {
    url,
    token,
    agentToken,
    dataDir,
    agentPrefix,
    ports,
    pid: child.pid!,
    options,
    client,
    grpc,
    pools,
    processes: createClient(ProcessService, connect),
    files: createClient(FileService, connect),
    clientWithToken,
    stop: () => terminate(child, "SIGTERM"),
    kill9: () => terminate(child, "SIGKILL"),
    output: () => output,
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) {
        const { sandboxes } = await client.listSandboxes({ namespace: "*" });
        for (const s of sandboxes) {
          await client
            .deleteSandbox({ name: s.name, namespace: s.namespace, gracePeriodSeconds: 0 })
            .catch(() => {});
        }
        const deadline = Date.now() + 30_000;
        while (
          Date.now() < deadline &&
          (await client.listSandboxes({ namespace: "*" })).sandboxes.length > 0
        ) {
          await new Promise((r) => setTimeout(r, 100));
        }
        await terminate(child, "SIGTERM");
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return proc;
}

/** The value of `--flag V` or `--flag=V` in `args`. */
function flagValue(args: readonly string[] | undefined, flag: string): string | undefined {
  for (let i = 0; i < (args?.length ?? 0); i++) {
    const arg = args![i]!;
    if (arg === flag) return args![i + 1];
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  }
  return undefined;
}

async function waitForAgents(
  pool: () => Promise<{ readyAgents: number }>,
  want: number,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`controller exited with ${child.exitCode}:\n${output()}`);
    const ready = await pool().then(
      (p) => p.readyAgents,
      () => 0,
    );
    if (ready >= want) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  await terminate(child, "SIGKILL");
  throw new Error(
    `the seed pool's ${want} agents did not answer within ${READY_TIMEOUT_MS} ms:\n${output()}`,
  );
}

async function waitReady(readyz: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`controller exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(readyz)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await terminate(child, "SIGKILL");
  throw new Error(`controller not ready after ${READY_TIMEOUT_MS} ms:\n${output()}`);
}

function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}
