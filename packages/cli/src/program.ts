/** The fsb-ctl command tree: global flags, every command, and how commander reports to us. */
import { Command } from "commander";
import type { CliContext } from "./cli-context.ts";
import { CLIENT_VERSION } from "./client-version.ts";
import { registerApply } from "./commands/apply.ts";
import { registerCompletion } from "./commands/completion.ts";
import { registerConfig } from "./commands/config.ts";
import { registerCp } from "./commands/cp.ts";
import { registerDelete } from "./commands/delete.ts";
import { registerExec } from "./commands/exec.ts";
import { registerGet } from "./commands/get.ts";
import { registerList } from "./commands/list.ts";
import { registerLogs } from "./commands/logs.ts";
import { registerPools } from "./commands/pools.ts";
import { registerReset } from "./commands/reset.ts";
import { registerRun } from "./commands/run.ts";
import { registerUpdate } from "./commands/update.ts";
import { registerVersion } from "./commands/version.ts";
import { withExamples } from "./examples.ts";
import { outputFormat } from "./output-format.ts";

/** The program, plus the top-level command that ran (for error hints). */
export interface Program {
  command: Command;
  activeCommand(): string | undefined;
}

export function buildProgram(ctx: CliContext): Program {
  let active: string | undefined;
  const program = new Command("fsb-ctl")
    .description(
      "Create and manage Fast Sandbox sandboxes (isolated containers in milliseconds) and the pools " +
        "of agents they run on.\n\n" +
        "With no flags it finds the system `npm start` runs (./.fsb/config.yaml). Settings resolve as " +
        "flags > env (FSB_ENDPOINT, FSB_TOKEN, FSB_NAMESPACE, FSB_CONTEXT) > ./.fsb/config.yaml > " +
        "~/.fsb/config.yaml.\n\n" +
        "Exit codes: 0 success; 2 invalid input, whether fsb-ctl or the server caught it (a bad flag, " +
        "argument, YAML file or config file, or the server's INVALID_ARGUMENT); 1 any other failure.",
    )
    .version(CLIENT_VERSION, "--version", "print the client version")
    .option("--endpoint <url>", "the Fast-Path API, such as http://127.0.0.1:9090")
    .option("--token <token>", "the API token")
    .option("-n, --namespace <namespace>", "the namespace (default: default)")
    .option("--context <name>", "the config context to use")
    .option("-o, --output <format>", "json or yaml (list also: wide, name)")
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => void ctx.io.stdout.write(text),
      writeErr: (text) => void ctx.io.stderr.write(text),
      // Errors are reported once, by the entry point, in the CLI's own format.
      outputError: () => {},
    })
    .exitOverride()
    .hook("preSubcommand", (_program, sub) => {
      active = sub.name();
    })
    // Refuse an -o the command cannot print before it does anything.
    .hook("preAction", (_program, action) => {
      outputFormat(action);
    });
  withExamples(program, [
    ["fsb-ctl run hello --image busybox -- sh -c 'echo hello; sleep 3600'", "create a sandbox"],
    ["fsb-ctl ls", "list sandboxes"],
    ["fsb-ctl logs hello -f", "follow its output"],
    ["fsb-ctl exec -it hello -- sh", "a shell inside it"],
    ["fsb-ctl rm hello", "delete it"],
    ["fsb-ctl apply -f pool.yaml && fsb-ctl pools ls", "declare a pool of agents, then list pools"],
    ["fsb-ctl COMMAND --help", "every command's flags, with examples"],
  ]);
  for (const register of [
    registerRun,
    registerList,
    registerGet,
    registerLogs,
    registerExec,
    registerCp,
    registerDelete,
    registerUpdate,
    registerReset,
    registerApply,
    registerPools,
    registerConfig,
    registerVersion,
    registerCompletion,
  ]) {
    register(program, ctx);
  }
  return { command: program, activeCommand: () => active };
}
