/** Checks the per-RPC code table of docs/api.md against the codes the API was seen to answer. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Code } from "@connectrpc/connect";
import { FastPathService } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { FileService } from "../../packages/api/gen/fastsandbox/v1/files_pb.ts";
import { SandboxPoolService } from "../../packages/api/gen/fastsandbox/v1/pool_pb.ts";
import { ProcessService } from "../../packages/api/gen/fastsandbox/v1/process_pb.ts";

const root = path.resolve(import.meta.dirname, "../..");
const docPath = path.join(root, "docs/api.md");
const SECTION = "## Codes per RPC";
/** The table's RPC cell for a row that holds for every RPC. */
const EVERY_RPC = "every RPC";

const allRpcs = [
  ...FastPathService.methods,
  ...SandboxPoolService.methods,
  ...ProcessService.methods,
  ...FileService.methods,
].map((m) => m.name);

/** Codes seen per RPC (method name, e.g. `CreateSandbox`). */
export type ObservedCodes = Map<string, Set<Code>>;

/**
 * (RPC, code) pairs the table lists that api-bad-input.test.ts cannot cause with input alone, each
 * with the test that does cause it (the file must exist and name the code). `*` is every RPC.
 */
export const coveredElsewhere: Array<{ rpc: string; code: Code; test: string }> = [
  // Write conflicts that outlast the retries (a store that keeps losing the race).
  { rpc: "UpdateSandbox", code: Code.Aborted, test: "packages/server/src/controller/fast-path.test.ts" },
  { rpc: "DeleteSandbox", code: Code.Aborted, test: "packages/server/src/controller/fast-path.test.ts" },
  { rpc: "ApplyPool", code: Code.Aborted, test: "packages/server/src/controller/pool/pool-api.test.ts" },
  { rpc: "DeletePool", code: Code.Aborted, test: "packages/server/src/controller/pool/pool-api.test.ts" },
  // A bug: any RPC's unexpected error becomes INTERNAL with a reference id ("hides unexpected errors").
  { rpc: "*", code: Code.Internal, test: "packages/server/src/api-server/api-server.test.ts" },
  // The server shutting down ends calls with UNAVAILABLE; a store or agent that is down does too.
  { rpc: "*", code: Code.Unavailable, test: "packages/server/src/api-server/api-server.test.ts" },
  // No room in a pool that cannot grow.
  { rpc: "CreateSandbox", code: Code.ResourceExhausted, test: "test/e2e/controller-scheduling.test.ts" },
  // An image only another pool's agents have, a pool of another namespace (the bad-input cases
  // cause these too); a port an undeclared process holds is in controller-scheduling.test.ts.
  { rpc: "CreateSandbox", code: Code.FailedPrecondition, test: "test/e2e/pools.test.ts" },
  // The client's deadline passing while the pool grows.
  { rpc: "CreateSandbox", code: Code.DeadlineExceeded, test: "test/e2e/pool-growth.test.ts" },
  // Agents that fail the create, or cannot be reached.
  { rpc: "CreateSandbox", code: Code.Unavailable, test: "test/e2e/controller-recovery.test.ts" },
  // A sandbox being deleted (the lifecycle's Expired cases add theirs).
  {
    rpc: "UpdateSandbox",
    code: Code.FailedPrecondition,
    test: "packages/server/src/controller/fast-path.test.ts",
  },
  // A sandbox without a container yet.
  {
    rpc: "GetSandboxLogs",
    code: Code.FailedPrecondition,
    test: "packages/server/src/controller/fast-path.test.ts",
  },
  // A pool being deleted.
  {
    rpc: "ApplyPool",
    code: Code.FailedPrecondition,
    test: "packages/server/src/controller/pool/pool-api.test.ts",
  },
  // A sandbox that is not Running, for every process RPC; a process without a terminal, one that exited.
  ...["Exec", "AttachProcess", "SendInput", "CloseInput", "ResizePty", "SignalProcess", "ListProcesses"].map(
    (rpc) => ({
      rpc,
      code: Code.FailedPrecondition,
      test: "packages/server/src/controller/process/process-rpc.test.ts",
    }),
  ),
  // A sandbox that is not Running, for every file RPC.
  ...["Stat", "List", "MakeDir", "Remove", "Move", "ReadFile", "WriteFile"].map((rpc) => ({
    rpc,
    code: Code.FailedPrecondition,
    test: "test/e2e/files.test.ts",
  })),
  // A second reader of a process ends the first one's stream.
  { rpc: "Exec", code: Code.Aborted, test: "test/e2e/exec.test.ts" },
  { rpc: "AttachProcess", code: Code.Aborted, test: "test/e2e/exec.test.ts" },
];

interface Row {
  rpc: string;
  code: Code;
  line: number;
}

/** The rows of the "Codes per RPC" table: `| RPC | code | cause |`, the code in backticks. */
export function parseCodeTable(markdown: string): Row[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim() === SECTION);
  if (start < 0) throw new Error(`docs/api.md has no "${SECTION}" section`);
  const rows: Row[] = [];
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith("## "); i++) {
    const cells = lines[i]!.split("|").map((c) => c.trim());
    if (cells.length < 4 || !/^`[A-Z_]+`$/.test(cells[2] ?? "")) continue;
    const name = cells[2]!.slice(1, -1);
    const code = codeByName(name);
    if (code === undefined) throw new Error(`docs/api.md:${i + 1}: ${name} is not a gRPC code`);
    const rpc = cells[1]!.replaceAll("`", "");
    if (rpc !== EVERY_RPC && !allRpcs.includes(rpc)) throw new Error(`docs/api.md:${i + 1}: no RPC ${rpc}`);
    rows.push({ rpc, code, line: i + 1 });
  }
  if (rows.length === 0) throw new Error(`the "${SECTION}" section has no rows`);
  return rows;
}

/** `INVALID_ARGUMENT` as a Code; CANCELLED is spelt Canceled in connect-es. */
function codeByName(name: string): Code | undefined {
  const camel = name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const key = (camel === "cancelled" ? "canceled" : camel).replace(/^./, (c) => c.toUpperCase());
  const code = (Code as unknown as Record<string, Code>)[key];
  return typeof code === "number" ? code : undefined;
}

/** The problems: codes seen but not listed for their RPC, and listed pairs no test causes. */
export async function checkCodesAgainstDocs(observed: ObservedCodes): Promise<string[]> {
  const rows = parseCodeTable(await readFile(docPath, "utf8"));
  const listed = (rpc: string, code: Code) =>
    rows.some((r) => r.code === code && (r.rpc === rpc || r.rpc === EVERY_RPC));
  const problems: string[] = [];
  for (const [rpc, codes] of observed) {
    for (const code of codes) {
      if (!listed(rpc, code))
        problems.push(`${rpc} answered ${Code[code]}, which docs/api.md does not list for it`);
    }
  }
  for (const row of rows) {
    for (const rpc of row.rpc === EVERY_RPC ? allRpcs : [row.rpc]) {
      if (observed.get(rpc)?.has(row.code)) continue;
      const other = coveredElsewhere.find((c) => c.code === row.code && (c.rpc === rpc || c.rpc === "*"));
      if (!other) {
        problems.push(`docs/api.md:${row.line} lists ${Code[row.code]} for ${rpc}, which no test causes`);
        continue;
      }
      const text = await readFile(path.join(root, other.test), "utf8").catch(() => "");
      if (!text.includes(`Code.${Code[row.code]}`)) {
        problems.push(
          `${other.test}, named for ${rpc} ${Code[row.code]}, does not mention Code.${Code[row.code]}`,
        );
      }
    }
  }
  return problems;
}
