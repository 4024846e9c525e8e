/** `fsb-ctl apply -f FILE`: create or update the SandboxPools and Sandboxes a YAML file declares, like kubectl. */
import { CapacityError, type FastSandbox, type Sandbox } from "@fast-sandbox/sdk";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { CliError, exitCodeOf, UsageError } from "../cli-error.ts";
import { parseDuration } from "../duration.ts";
import { withExamples } from "../examples.ts";
import { flagParser } from "../flag-parser.ts";
import { collectList } from "../key-value.ts";
import {
  describeOrigin,
  type ManifestDocument,
  ManifestError,
  parseManifestDocuments,
} from "../manifest-documents.ts";
import { poolIsComingUp } from "../pool-readiness.ts";
import { readInput } from "../read-input.ts";
import type { SandboxManifest } from "../sandbox-manifest.ts";
import { withSpinner } from "../spinner.ts";

/** How long a Sandbox waits, by default, for the agents of a pool that is still coming up. */
const DEFAULT_POOL_WAIT_MS = 60_000;
/** Between two create attempts while the pool comes up: agents start in about a second. */
const RETRY_INTERVAL_MS = 250;
/** The pool a Sandbox without `poolRef` goes to (the API's default). */
const DEFAULT_POOL = "default-pool";

interface ApplyFlags {
  file?: string[];
  timeout?: number;
}

export function registerApply(program: Command, ctx: CliContext): void {
  const command = program
    .command("apply")
    .summary("create or update pools and sandboxes from YAML")
    .description(
      "Apply the objects of YAML files, in order: each document is a SandboxPool or a Sandbox with " +
        "apiVersion sandbox.fast.io/v1alpha1. A SandboxPool is created or its spec replaced " +
        "(sandboxpool/NAME created, configured or unchanged); a Sandbox is created unless one of " +
        "that name with the same spec exists (sandbox/NAME created or unchanged). Every document is " +
        "checked first, strictly (an unknown field is an error), and nothing is applied if one is " +
        "bad. metadata.namespace defaults to the current namespace. A Sandbox whose pool is still " +
        "starting its agents waits for them, up to --timeout.",
    )
    .option(
      "-f, --file <file>",
      "a YAML file of one or more documents (- for stdin; repeatable)",
      collectList((file: string) => file),
    )
    .option(
      "--timeout <duration>",
      "how long a Sandbox waits for its pool's agents to come up (default: 60s)",
      flagParser(parseDuration),
    );
  command.addHelpText(
    "after",
    `
A SandboxPool (every spec field is optional; the defaults are shown):
  apiVersion: sandbox.fast.io/v1alpha1
  kind: SandboxPool
  metadata:
    name: small-pool
  spec:
    capacity: {poolMin: 1, poolMax: 10, bufferMin: 0, bufferMax: 10}
    maxSandboxesPerPod: 5
    runtimeType: container   # or gvisor
    prewarm: [{image: busybox, command: [sleep, "3600"], count: 2}]   # default: none`,
  );
  withExamples(command, [
    ["fsb-ctl apply -f pool.yaml", "create or update the pools (and sandboxes) in pool.yaml"],
    ["fsb-ctl pools get small-pool -o yaml | fsb-ctl apply -f -", "apply from stdin"],
    ["fsb-ctl apply -f pools.yaml -f sandboxes.yaml", "several files, in order"],
  ]);
  command.action(async (flags: ApplyFlags, cmd: Command) => {
    if (!flags.file?.length) throw new UsageError("no file given", "pass -f FILE (or -f - to read stdin)");
    const documents: ManifestDocument[] = [];
    for (const file of flags.file) documents.push(...parseDocuments(await readInput(file, ctx.io.stdin)));
    if (documents.length === 0) throw new UsageError(`no objects in ${flags.file.join(", ")}`);
    const namespaceFlag = ctx.globals(cmd).namespace;
    if (namespaceFlag) for (const doc of documents) checkNamespace(doc, namespaceFlag);

    const client = ctx.client(cmd);
    const progress = (text: string, work: Promise<string>) =>
      withSpinner(ctx.io.stdout, ctx.interactive(cmd), text, work);
    for (const doc of documents) {
      const name = doc.kind === "SandboxPool" ? doc.pool.metadata.name : doc.sandbox.name;
      const what = `${doc.kind.toLowerCase()}/${name}`;
      try {
        const outcome = await progress(
          `applying ${what}`,
          applyDocument(client, doc, flags.timeout ?? DEFAULT_POOL_WAIT_MS),
        );
        ctx.print(`${what} ${outcome}\n`);
      } catch (err) {
        const hint = (err as { hint?: string }).hint;
        throw new CliError(`${describeOrigin(doc.origin)} (${what}): ${(err as Error).message}`, {
          ...(hint ? { hint } : {}),
          exitCode: exitCodeOf(err),
        });
      }
    }
  });
}

function parseDocuments({ text, source }: { text: string; source: string }): ManifestDocument[] {
  try {
    return parseManifestDocuments(text, source);
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    throw new UsageError(err.message, "see `fsb-ctl apply --help` for the document forms");
  }
}

/** As kubectl: a document's own namespace must not contradict an explicit --namespace. */
function checkNamespace(doc: ManifestDocument, namespaceFlag: string): void {
  const own = doc.kind === "SandboxPool" ? doc.pool.metadata.namespace : doc.sandbox.namespace;
  if (own !== undefined && own !== namespaceFlag) {
    throw new UsageError(
      `${describeOrigin(doc.origin)}: metadata.namespace ${own} does not match --namespace ${namespaceFlag}`,
      "drop --namespace, or the namespace in the document",
    );
  }
}

async function applyDocument(client: FastSandbox, doc: ManifestDocument, waitMs: number): Promise<string> {
  if (doc.kind === "SandboxPool") return (await client.pools.apply(doc.pool)).outcome;
  const box = await createWhenPoolIsUp(client, doc.sandbox, Date.now() + waitMs);
  return box.created ? "created" : "unchanged";
}

/**
 * Creates the sandbox; while its pool is still bringing agents up (just applied, say), a refusal
 * for want of capacity is retried until `deadline`. Any other refusal is final.
 */
async function createWhenPoolIsUp(
  client: FastSandbox,
  sandbox: SandboxManifest,
  deadline: number,
): Promise<Sandbox> {
  for (;;) {
    try {
      return await client.sandboxes.create(sandbox);
    } catch (err) {
      if (!(err instanceof CapacityError) || Date.now() >= deadline) throw err;
      const pool = await client.pools
        .get(sandbox.pool ?? DEFAULT_POOL, sandbox.namespace ? { namespace: sandbox.namespace } : {})
        .catch(() => undefined);
      if (!pool || !poolIsComingUp(pool)) throw err;
      await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL_MS));
    }
  }
}
