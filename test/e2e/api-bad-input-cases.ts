/** The cases of api-bad-input.test.ts: bad input for every RPC, written out and generated from the schemas. */
import type { DescMethod } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { FastPathService } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { FileService } from "../../packages/api/gen/fastsandbox/v1/files_pb.ts";
import { SandboxPoolService } from "../../packages/api/gen/fastsandbox/v1/pool_pb.ts";
import { ProcessService } from "../../packages/api/gen/fastsandbox/v1/process_pb.ts";
import { fileCases } from "./api-bad-input-file-cases.ts";
import { jsonCase, perRpcCases, schemaCases, truncated } from "./api-bad-input-generated.ts";
import { processCases } from "./api-bad-input-process-cases.ts";

/**
 * How a case's request travels: a message goes through the generated clients (Connect JSON, Connect
 * binary, gRPC); JSON text over Connect JSON and gRPC's JSON codec; bytes over Connect binary and gRPC.
 */
export type CaseRequest = { message: Record<string, unknown> } | { json: string } | { binary: Uint8Array };

export interface BadInputCase {
  name: string;
  method: DescMethod;
  request: CaseRequest;
  code: Code;
  /** The field the BadRequest detail must name; undefined = the error has no field detail. */
  field?: string;
  /** Sends a wrong token instead of the right one. */
  wrongToken?: boolean;
}

/** A sandbox the test creates first, so that update, conflict and busy-pool cases have something to hit. */
export const KEPT_SANDBOX = "kept";
export const keptSandbox = { name: KEPT_SANDBOX, image: "busybox", command: ["sleep", "600"] };

const fp = FastPathService.method;
const pools = SandboxPoolService.method;
export const allMethods: DescMethod[] = [
  ...FastPathService.methods,
  ...SandboxPoolService.methods,
  ...ProcessService.methods,
  ...FileService.methods,
];

const past = timestampFromDate(new Date("2000-01-01T00:00:00Z"));
const times = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
const manyLabels = (n: number) => Object.fromEntries(times(n, (i) => `k${i}`).map((k) => [k, "v"]));
const bigArgs = (n: number) => times(n, () => "a".repeat(8 * 1024));
const env = (n: number, bytes: number) =>
  times(n, (i) => `V${i}`).map((name) => ({ name, value: "x".repeat(bytes) }));

const invalid = (
  name: string,
  method: DescMethod,
  message: Record<string, unknown>,
  field?: string,
): BadInputCase => ({
  name,
  method,
  request: { message },
  code: Code.InvalidArgument,
  ...(field === undefined ? {} : { field }),
});

/** Bad values the services themselves refuse (the messages are well formed), one per rule. */
const ruleCases: BadInputCase[] = [
  invalid("create: name not a DNS label", fp.createSandbox, { name: "Bad_Name", image: "busybox" }, "name"),
  invalid(
    "create: namespace not a DNS label",
    fp.createSandbox,
    { namespace: "Bad NS", image: "busybox" },
    "namespace",
  ),
  invalid("create: no image", fp.createSandbox, { name: "x" }, "image"),
  invalid("create: bad image", fp.createSandbox, { image: "Bad Image" }, "image"),
  invalid("create: NUL in command", fp.createSandbox, { image: "busybox", command: ["a\0b"] }, "command[0]"),
  invalid("create: 257 args", fp.createSandbox, { image: "busybox", args: times(257, () => "a") }, "args"),
  invalid(
    "create: an arg over 8 KiB",
    fp.createSandbox,
    { image: "busybox", args: ["a".repeat(8193)] },
    "args[0]",
  ),
  invalid(
    "create: command over 256 KiB",
    fp.createSandbox,
    { image: "busybox", command: bigArgs(33) },
    "command",
  ),
  invalid(
    "create: command+args over 256 KiB",
    fp.createSandbox,
    { image: "busybox", command: bigArgs(20), args: bigArgs(20) },
    "args",
  ),
  invalid(
    "create: bad env name",
    fp.createSandbox,
    { image: "busybox", env: [{ name: "1X" }] },
    "env[0].name",
  ),
  invalid(
    "create: env name twice",
    fp.createSandbox,
    { image: "busybox", env: [{ name: "A" }, { name: "A" }] },
    "env[1].name",
  ),
  invalid("create: 257 env entries", fp.createSandbox, { image: "busybox", env: env(257, 1) }, "env"),
  invalid("create: env over 256 KiB", fp.createSandbox, { image: "busybox", env: env(9, 30 * 1024) }, "env"),
  invalid(
    "create: env value over 32 KiB",
    fp.createSandbox,
    { image: "busybox", env: env(1, 32 * 1024 + 1) },
    "env[0].value",
  ),
  invalid(
    "create: relative workingDir",
    fp.createSandbox,
    { image: "busybox", workingDir: "tmp" },
    "workingDir",
  ),
  invalid("create: port 0", fp.createSandbox, { image: "busybox", exposedPorts: [0] }, "exposedPorts[0]"),
  invalid(
    "create: port 70000",
    fp.createSandbox,
    { image: "busybox", exposedPorts: [70000] },
    "exposedPorts[0]",
  ),
  invalid(
    "create: port twice",
    fp.createSandbox,
    { image: "busybox", exposedPorts: [80, 80] },
    "exposedPorts[1]",
  ),
  invalid("create: bad poolRef", fp.createSandbox, { image: "busybox", poolRef: "Pool_1" }, "poolRef"),
  invalid(
    "create: unknown consistencyMode number",
    fp.createSandbox,
    { image: "busybox", consistencyMode: 7 },
    "consistencyMode",
  ),
  invalid(
    "create: unknown failurePolicy number",
    fp.createSandbox,
    { image: "busybox", failurePolicy: 9 },
    "failurePolicy",
  ),
  invalid(
    "create: recoveryTimeoutSeconds 0",
    fp.createSandbox,
    { image: "busybox", recoveryTimeoutSeconds: 0 },
    "recoveryTimeoutSeconds",
  ),
  invalid(
    "create: recoveryTimeoutSeconds over a day",
    fp.createSandbox,
    { image: "busybox", recoveryTimeoutSeconds: 86_401 },
    "recoveryTimeoutSeconds",
  ),
  invalid(
    "create: expireTime in the past",
    fp.createSandbox,
    { name: "v1", image: "busybox", expireTime: past },
    "expireTime",
  ),
  invalid(
    "create: bad cpu",
    fp.createSandbox,
    { image: "busybox", resources: { cpu: "lots" } },
    "resources.cpu",
  ),
  invalid(
    "create: memory too small",
    fp.createSandbox,
    { image: "busybox", resources: { memory: "1Mi" } },
    "resources.memory",
  ),
  invalid(
    "create: negative pids",
    fp.createSandbox,
    { image: "busybox", resources: { pids: -1 } },
    "resources.pids",
  ),
  invalid(
    "create: label key with a space",
    fp.createSandbox,
    { image: "busybox", labels: { "a b": "x" } },
    'labels["a b"]',
  ),
  invalid(
    "create: reserved label prefix",
    fp.createSandbox,
    { image: "busybox", labels: { "sandbox.fast.io/x": "y" } },
    'labels["sandbox.fast.io/x"]',
  ),
  invalid(
    "create: label value over 63",
    fp.createSandbox,
    { image: "busybox", labels: { app: "x".repeat(64) } },
    "labels.app",
  ),
  invalid("create: 1,000 labels", fp.createSandbox, { image: "busybox", labels: manyLabels(1000) }, "labels"),
  invalid("create: 65 labels", fp.createSandbox, { image: "busybox", labels: manyLabels(65) }, "labels"),
  {
    name: "create: the kept name with another spec",
    method: fp.createSandbox,
    request: { message: { ...keptSandbox, command: ["sleep", "601"] } },
    code: Code.AlreadyExists,
  },
  invalid("update: no name", fp.updateSandbox, { labels: { a: "b" } }, "name"),
  invalid(
    "update: bad namespace",
    fp.updateSandbox,
    { name: KEPT_SANDBOX, namespace: "Bad NS" },
    "namespace",
  ),
  invalid(
    "update: bad label key",
    fp.updateSandbox,
    { name: KEPT_SANDBOX, labels: { "a b": "x" } },
    'labels["a b"]',
  ),
  invalid("update: 65 labels", fp.updateSandbox, { name: KEPT_SANDBOX, labels: manyLabels(65) }, "labels"),
  invalid(
    "update: expireTime in the past",
    fp.updateSandbox,
    { name: KEPT_SANDBOX, expiry: { case: "expireTime", value: past } },
    "expireTime",
  ),
  invalid(
    "update: unknown failurePolicy number",
    fp.updateSandbox,
    { name: KEPT_SANDBOX, failurePolicy: 9 },
    "failurePolicy",
  ),
  invalid(
    "update: recoveryTimeoutSeconds 0",
    fp.updateSandbox,
    { name: KEPT_SANDBOX, recoveryTimeoutSeconds: 0 },
    "recoveryTimeoutSeconds",
  ),
  {
    name: "update: missing sandbox",
    method: fp.updateSandbox,
    request: { message: { name: "nope" } },
    code: Code.NotFound,
  },
  invalid("delete: no name", fp.deleteSandbox, {}, "name"),
  invalid("delete: bad namespace", fp.deleteSandbox, { name: "x", namespace: "Bad NS" }, "namespace"),
  {
    name: "delete: missing sandbox",
    method: fp.deleteSandbox,
    request: { message: { name: "nope" } },
    code: Code.NotFound,
  },
  invalid("get: no name", fp.getSandbox, {}, "name"),
  invalid("get: bad namespace", fp.getSandbox, { name: "x", namespace: "Bad NS" }, "namespace"),
  {
    name: "get: missing sandbox",
    method: fp.getSandbox,
    request: { message: { name: "nope" } },
    code: Code.NotFound,
  },
  invalid("list: bad namespace", fp.listSandboxes, { namespace: "Bad NS" }, "namespace"),
  invalid("list: bad label selector", fp.listSandboxes, { labelSelector: "a in" }, "labelSelector"),
  invalid("watch: bad namespace", fp.watchSandboxes, { namespace: "Bad NS" }, "namespace"),
  invalid("watch: bad label selector", fp.watchSandboxes, { labelSelector: "a in" }, "labelSelector"),
  invalid("logs: no name", fp.getSandboxLogs, {}, "name"),
  invalid("logs: bad namespace", fp.getSandboxLogs, { name: "x", namespace: "Bad NS" }, "namespace"),
  {
    name: "logs: missing sandbox",
    method: fp.getSandboxLogs,
    request: { message: { name: "nope" } },
    code: Code.NotFound,
  },
  invalid("applyPool: no name", pools.applyPool, { spec: {} }, "name"),
  invalid("applyPool: name not a DNS label", pools.applyPool, { name: "Bad_Pool" }, "name"),
  invalid("applyPool: bad namespace", pools.applyPool, { name: "p", namespace: "Bad NS" }, "namespace"),
  invalid(
    "applyPool: poolMin over poolMax",
    pools.applyPool,
    { name: "p", spec: { capacity: { poolMin: 3, poolMax: 2 } } },
    "spec.capacity.poolMin",
  ),
  invalid(
    "applyPool: maxSandboxesPerPod 0",
    pools.applyPool,
    { name: "p", spec: { maxSandboxesPerPod: 0 } },
    "spec.maxSandboxesPerPod",
  ),
  invalid(
    "applyPool: unknown runtimeType",
    pools.applyPool,
    { name: "p", spec: { runtimeType: "kata" } },
    "spec.runtimeType",
  ),
  invalid(
    "applyPool: prewarm count 21",
    pools.applyPool,
    { name: "p", spec: { prewarm: [{ image: "busybox", count: 21 }] } },
    "spec.prewarm[0].count",
  ),
  invalid(
    "applyPool: 17 prewarm templates",
    pools.applyPool,
    { name: "p", spec: { prewarm: times(17, () => "busybox").map((image) => ({ image, count: 1 })) } },
    "spec.prewarm",
  ),
  invalid(
    "applyPool: prewarm env over 256 KiB",
    pools.applyPool,
    { name: "p", spec: { prewarm: [{ image: "busybox", env: env(9, 30 * 1024), count: 1 }] } },
    "spec.prewarm[0].env",
  ),
  invalid(
    "applyPool: bad label key",
    pools.applyPool,
    { name: "p", labels: { "a b": "x" } },
    'labels["a b"]',
  ),
  invalid(
    "applyPool: bad annotation key",
    pools.applyPool,
    { name: "p", annotations: { "a b": "x" } },
    'annotations["a b"]',
  ),
  invalid(
    "applyPool: reserved annotation",
    pools.applyPool,
    { name: "p", annotations: { "sandbox.fast.io/x": "y" } },
    'annotations["sandbox.fast.io/x"]',
  ),
  invalid("applyPool: 65 labels", pools.applyPool, { name: "p", labels: manyLabels(65) }, "labels"),
  invalid("getPool: no name", pools.getPool, {}, "name"),
  {
    name: "getPool: missing pool",
    method: pools.getPool,
    request: { message: { name: "nope" } },
    code: Code.NotFound,
  },
  invalid("listPools: bad namespace", pools.listPools, { namespace: "Bad NS" }, "namespace"),
  invalid("deletePool: no name", pools.deletePool, {}, "name"),
  {
    name: "deletePool: missing pool",
    method: pools.deletePool,
    request: { message: { name: "nope" } },
    code: Code.NotFound,
  },
  {
    name: "deletePool: a pool that runs the kept sandbox, without force",
    method: pools.deletePool,
    request: { message: { name: "default-pool" } },
    code: Code.FailedPrecondition,
    field: "force",
  },
];

/** The inputs of issue 12 that were accepted silently or answered INTERNAL, as the issue wrote them. */
const issueCases: BadInputCase[] = [
  jsonCase(
    "issue: failurePolicy BOGUS",
    fp.createSandbox,
    '{"name":"v1","image":"busybox","failurePolicy":"BOGUS"}',
    "failurePolicy",
  ),
  jsonCase(
    "issue: consistencyMode WHATEVER",
    fp.createSandbox,
    '{"name":"v1","image":"busybox","consistencyMode":"WHATEVER"}',
    "consistencyMode",
  ),
  jsonCase("issue: bogus key", fp.createSandbox, '{"name":"v1","image":"busybox","bogus":1}', "bogus"),
  jsonCase(
    "issue: resources.gpu",
    fp.createSandbox,
    '{"name":"v1","image":"busybox","resources":{"gpu":1}}',
    "resources.gpu",
  ),
  jsonCase(
    "issue: 100,000-deep array under an unknown key",
    fp.createSandbox,
    `{"name":"v1","image":"busybox","bogus":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
    "bogus",
  ),
  jsonCase(
    "issue: expireTime 2000-01-01",
    fp.createSandbox,
    '{"name":"v1","image":"busybox","expireTime":"2000-01-01T00:00:00Z"}',
    "expireTime",
  ),
  {
    name: "issue: a pool that does not exist",
    method: fp.createSandbox,
    request: { message: { name: "v1", image: "busybox", poolRef: "no-such-pool" } },
    code: Code.FailedPrecondition,
    field: "poolRef",
  },
  {
    // The server's default-pool serves namespace default only.
    name: "issue: a pool of another namespace",
    method: fp.createSandbox,
    request: { message: { name: "v1", namespace: "elsewhere", image: "busybox" } },
    code: Code.FailedPrecondition,
    field: "poolRef",
  },
  {
    name: "issue: an image that is not on the node",
    method: fp.createSandbox,
    request: { message: { name: "v1", image: "localhost/on-no-node:1" } },
    code: Code.FailedPrecondition,
    field: "image",
  },
  {
    name: "issue: truncated binary protobuf",
    method: fp.createSandbox,
    request: { binary: truncated() },
    code: Code.InvalidArgument,
  },
];

export const badInputCases: BadInputCase[] = [
  ...issueCases,
  ...ruleCases,
  ...processCases(KEPT_SANDBOX),
  ...fileCases(KEPT_SANDBOX),
  ...allMethods.flatMap((method) => [
    ...schemaCases(method, method.input, (inner) => inner, ""),
    ...perRpcCases(method),
  ]),
];
