/** `fsb-ctl list` (`ls`): the sandboxes of a namespace as a table, data, or a stream of changes. */
import type { SandboxEvent } from "@fast-sandbox/sdk";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { UsageError } from "../cli-error.ts";
import { withExamples } from "../examples.ts";
import { interruptSignal } from "../interrupt.ts";
import { declareOutputs, outputFormat } from "../output-format.ts";
import { type SandboxTableOptions, sandboxHeader, sandboxRow, watchMinimumWidths } from "../sandbox-table.ts";
import { formatStructured, toPlain } from "../structured-output.ts";
import { type Cell, columnWidths, formatRow, formatTable } from "../table.ts";

interface ListFlags {
  allNamespaces?: boolean;
  selector?: string;
  watch?: boolean;
}

export function registerList(program: Command, ctx: CliContext): void {
  const command = program
    .command("list")
    .alias("ls")
    .summary("list sandboxes")
    .description(
      "List sandboxes: NAME, PHASE, IMAGE, AGENT, ENDPOINTS and AGE (-o wide adds ID, POOL, MODE, " +
        "EXPIRES and LABELS; -o name prints names only). With --watch it keeps printing a row for " +
        "every change (PHASE `Deleted` once one is gone) until Ctrl-C; -o json then prints one " +
        "{type, sandbox} object per line.",
    )
    .option("-A, --all-namespaces", "list every namespace")
    .option("-l, --selector <selector>", "only sandboxes whose labels match, such as team=a,tier!=db")
    .option("-w, --watch", "after the list, print each change until Ctrl-C");
  declareOutputs(command, ["json", "yaml", "wide", "name"]);
  withExamples(command, [
    ["fsb-ctl ls", "the sandboxes of the current namespace"],
    ["fsb-ctl ls -A -o wide", "every namespace, with ids, pools, modes, expiries and labels"],
    ["fsb-ctl ls -l team=a -o json", "those labelled team=a, as JSON"],
    ["fsb-ctl ls -w", "watch changes as they happen (Ctrl-C to stop)"],
    ["fsb-ctl ls -o name | xargs fsb-ctl rm", "delete every sandbox of the namespace"],
  ]);
  command.action(async (flags: ListFlags, cmd: Command) => {
    const format = outputFormat(cmd);
    const client = ctx.client(cmd);
    const scope = {
      ...(flags.allNamespaces ? { allNamespaces: true } : {}),
      ...(flags.selector ? { labelSelector: flags.selector } : {}),
    };
    const table: SandboxTableOptions = {
      wide: format === "wide",
      allNamespaces: flags.allNamespaces === true,
      style: ctx.style(cmd),
      now: Date.now(),
    };
    if (flags.watch) {
      if (format === "name")
        throw new UsageError("--watch cannot print -o name", "use -o wide, -o json or -o yaml");
      await watch(ctx, client.sandboxes.watch({ ...scope, signal: interruptSignal() }), format, table);
      return;
    }
    const sandboxes = (await client.sandboxes.list(scope)).map((s) => s.details);
    if (format === "json" || format === "yaml") {
      ctx.print(formatStructured(sandboxes, format));
    } else if (format === "name") {
      ctx.print(sandboxes.map((s) => `${flags.allNamespaces ? `${s.namespace}/` : ""}${s.name}\n`).join(""));
    } else if (sandboxes.length === 0) {
      // stderr, so `ls | wc -l` still counts sandboxes.
      ctx.io.stderr.write(
        flags.allNamespaces ? "No sandboxes.\n" : `No sandboxes in namespace ${client.namespace}.\n`,
      );
    } else {
      ctx.print(formatTable([sandboxHeader(table), ...sandboxes.map((s) => sandboxRow(s, table))]));
    }
  });
}

/** Rows for the initial list, printed together once it is complete, then one row per change. */
async function watch(
  ctx: CliContext,
  events: AsyncIterable<SandboxEvent>,
  format: string | undefined,
  table: SandboxTableOptions,
): Promise<void> {
  let widths: number[] | undefined;
  const initial: Cell[][] = [];
  for await (const event of events) {
    if (format === "json" || format === "yaml") {
      if (event.type === "synced") continue;
      const plain = toPlain({ type: event.type, sandbox: event.sandbox });
      ctx.print(format === "json" ? `${JSON.stringify(plain)}\n` : `---\n${formatStructured(plain, "yaml")}`);
      continue;
    }
    if (event.type === "synced") {
      const header = sandboxHeader(table);
      widths = columnWidths([header, ...initial], watchMinimumWidths(table));
      ctx.print([header, ...initial].map((row) => `${formatRow(row, widths!)}\n`).join(""));
      continue;
    }
    table.now = Date.now();
    const row = sandboxRow(event.sandbox, table, event.type === "deleted" ? "Deleted" : event.sandbox.phase);
    if (widths) ctx.print(`${formatRow(row, widths)}\n`);
    else initial.push(row);
  }
}
