/** `fsb-ctl pools list|get|delete`: the SandboxPools (pools of agents) of a namespace. */
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { completePoolNames } from "../completion-script.ts";
import { withExamples } from "../examples.ts";
import { declareOutputs, outputFormat } from "../output-format.ts";
import { toPoolResource } from "../pool-resource.ts";
import { type PoolTableOptions, poolHeader, poolRow } from "../pool-table.ts";
import { poolSummary } from "../pool-view.ts";
import { formatStructured } from "../structured-output.ts";
import { formatTable } from "../table.ts";

export function registerPools(program: Command, ctx: CliContext): void {
  const pools = program
    .command("pools")
    .summary("list, show and delete pools of agents")
    .description(
      "SandboxPools are the pools of agents sandboxes run on: the pool controller keeps each pool " +
        "between poolMin and poolMax agents, with bufferMin free slots ready. Create or change one " +
        "with `fsb-ctl apply -f pool.yaml`.",
    );
  withExamples(pools, [
    ["fsb-ctl pools ls", "the pools of the current namespace"],
    ["fsb-ctl pools get default-pool", "one pool with its agents"],
    ["fsb-ctl apply -f pool.yaml", "create or change a pool"],
  ]);
  registerList(pools, ctx);
  registerGet(pools, ctx);
  registerDelete(pools, ctx);
}

function registerList(pools: Command, ctx: CliContext): void {
  const command = pools
    .command("list")
    .alias("ls")
    .summary("list pools")
    .description(
      "List pools: NAME, MIN and MAX agents, AGENTS (ready/current), SLOTS (allocated/total), " +
        "RUNTIME and AGE (-o wide adds BUFFER (min-max free slots), PER-AGENT (sandboxes per agent) " +
        "and PREWARM (image(count) per agent); -o name prints names only). -o json and -o yaml print " +
        "the SandboxPool objects `pools get` prints.",
    )
    .option("-A, --all-namespaces", "list every namespace");
  declareOutputs(command, ["json", "yaml", "wide", "name"]);
  withExamples(command, [
    ["fsb-ctl pools ls", "the pools of the current namespace"],
    ["fsb-ctl pools ls -A -o wide", "every namespace, with buffers, sandboxes per agent and prewarm"],
    ["fsb-ctl pools ls -o yaml", "as SandboxPool objects"],
  ]);
  command.action(async (flags: { allNamespaces?: boolean }, cmd: Command) => {
    const format = outputFormat(cmd);
    const client = ctx.client(cmd);
    const list = await client.pools.list(flags.allNamespaces ? { allNamespaces: true } : {});
    if (format === "json" || format === "yaml") {
      ctx.print(formatStructured(list.map(toPoolResource), format));
    } else if (format === "name") {
      ctx.print(list.map((p) => `${flags.allNamespaces ? `${p.namespace}/` : ""}${p.name}\n`).join(""));
    } else if (list.length === 0) {
      // stderr, so `pools ls | wc -l` still counts pools.
      ctx.io.stderr.write(
        flags.allNamespaces ? "No pools.\n" : `No pools in namespace ${client.namespace}.\n`,
      );
    } else {
      const table: PoolTableOptions = {
        wide: format === "wide",
        allNamespaces: flags.allNamespaces === true,
        style: ctx.style(cmd),
        now: Date.now(),
      };
      ctx.print(formatTable([poolHeader(table), ...list.map((p) => poolRow(p, table))]));
    }
  });
}

function registerGet(pools: Command, ctx: CliContext): void {
  const command = pools
    .command("get")
    .summary("show one pool")
    .description(
      "Show a pool: its capacity, runtime, prewarm, readiness and conditions, then its agents (ID, " +
        "NODE, HEALTHY, DRAINING, SLOTS allocated/capacity, PREWARM ready). -o yaml and -o json " +
        "print the SandboxPool object (apiVersion, kind, metadata, spec with defaults, status with " +
        "the agents), which `fsb-ctl apply -f` takes back.",
    )
    .argument("<name>", "the pool");
  completePoolNames(command);
  declareOutputs(command, ["yaml", "json"]);
  withExamples(command, [
    ["fsb-ctl pools get default-pool", "a summary and the agents"],
    ["fsb-ctl pools get default-pool -o yaml > pool.yaml", "the object, to edit and apply again"],
    ["fsb-ctl pools get default-pool -o json | jq .status", "the status as JSON"],
  ]);
  command.action(async (name: string, _flags: unknown, cmd: Command) => {
    const format = outputFormat(cmd);
    const pool = await ctx.client(cmd).pools.get(name);
    if (format === "json" || format === "yaml") {
      ctx.print(formatStructured(toPoolResource(pool), format));
      return;
    }
    ctx.print(poolSummary(pool, ctx.style(cmd)));
  });
}

function registerDelete(pools: Command, ctx: CliContext): void {
  const command = pools
    .command("delete")
    .alias("rm")
    .summary("delete a pool")
    .description(
      "Delete a pool: its agents are drained and stopped once empty. A pool whose agents still run " +
        "sandboxes is refused unless --force is given; then its agents stop as their sandboxes go.",
    )
    .argument("<name>", "the pool")
    .option("--force", "delete even while the pool's agents run sandboxes");
  completePoolNames(command);
  withExamples(command, [
    ["fsb-ctl pools rm small-pool", "delete an empty pool"],
    ["fsb-ctl pools rm small-pool --force", "delete it although sandboxes still run on it"],
  ]);
  command.action(async (name: string, flags: { force?: boolean }, cmd: Command) => {
    await ctx.client(cmd).pools.delete(name, flags.force ? { force: true } : {});
    ctx.print(`sandboxpool/${name} deleted\n`);
  });
}
