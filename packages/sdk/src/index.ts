/**
 * @fast-sandbox/sdk: the TypeScript client of Fast Sandbox.
 *
 * @example
 * import { FastSandbox } from "@fast-sandbox/sdk";
 * const fsb = new FastSandbox({ endpoint: "http://127.0.0.1:9090", token: process.env.FSB_TOKEN });
 * const box = await fsb.sandboxes.create({ name: "hello", image: "busybox", command: ["sleep", "3600"] });
 * const { exitCode, stdout } = await box.exec("echo hi");
 * const { outcome } = await fsb.pools.apply({ name: "small-pool", spec: { capacity: { poolMax: 2 } } });
 */
export type { CallOptions } from "./call-options.ts";
export { FastSandbox, type FastSandboxOptions, type SandboxLogsOptions } from "./client.ts";
export {
  type ConfigFile,
  type ConfigOverrides,
  type ContextConfig,
  configPaths,
  DEFAULT_ENDPOINT,
  DEFAULT_NAMESPACE,
  formatConfigFile,
  parseConfigFile,
  type ResolvedConfig,
  resolveConfig,
} from "./config.ts";
export { currentContextOf, setContextSettings, setCurrentContext } from "./config-edit.ts";
export {
  AlreadyExistsError,
  AuthError,
  CapacityError,
  FastSandboxError,
  type FastSandboxErrorCode,
  type FastSandboxErrorOptions,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from "./errors.ts";
/** Processes in a sandbox: `sandbox.exec`, `sandbox.processes`, `sandbox.pty`. */
export type { ExecOptions, ExecResult } from "./exec.ts";
/** Files in a sandbox: `sandbox.files`. */
export type { FileInfo, SandboxFiles, TransferOptions, UploadSource, WriteFileOptions } from "./files.ts";
/** A pool as the server reports it: spec with defaults, status, and its live agents. */
export type {
  EnvVar,
  PoolAgent,
  PoolCapacity,
  PoolCondition,
  PoolDetails,
  PoolSpec,
  PoolStatus,
  PrewarmTemplate,
  RuntimeType,
} from "./pool-info.ts";
/** What `fsb.pools.apply` takes: a SandboxPool manifest or the flat form. */
export {
  POOL_API_VERSION,
  POOL_KIND,
  type PoolInput,
  type PoolManifest,
  type PoolSpecInput,
  type PrewarmTemplateInput,
} from "./pool-request.ts";
export type {
  ApplyOutcome,
  ApplyPoolResult,
  DeletePoolOptions,
  GetPoolOptions,
  ListPoolsOptions,
  Pools,
} from "./pools.ts";
export type { OutputSinks, ProcessExit, ProcessHandle, ProcessSignal } from "./process-handle.ts";
export type {
  AttachOptions,
  ProcessOptions,
  ProcessSummary,
  Pty,
  PtyOptions,
  SandboxProcesses,
  StartProcessOptions,
} from "./processes.ts";
export { type DeleteOptions, type LogsOptions, Sandbox, type WaitOptions } from "./sandbox.ts";
export type { Phase, SandboxCondition, SandboxDetails } from "./sandbox-info.ts";
export type {
  CreateSandboxOptions,
  DeleteSandboxOptions,
  GetSandboxOptions,
  ListSandboxesOptions,
  ResetSandboxOptions,
  SandboxEvent,
  Sandboxes,
  SandboxNetworkOptions,
  UpdateSandboxOptions,
  WatchSandboxesOptions,
} from "./sandboxes.ts";
