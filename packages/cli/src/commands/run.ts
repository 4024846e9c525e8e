/** `fsb-ctl run`: create a sandbox from flags, from a YAML file, or by editing a template. */
import type { CreateSandboxOptions } from "@fast-sandbox/sdk";
import { type Command, Option } from "commander";
import type { CliContext } from "../cli-context.ts";
import { CliError, UsageError } from "../cli-error.ts";
import { confirm } from "../confirm.ts";
import { parseDuration, parseSeconds } from "../duration.ts";
import { cacheDir, EditCache } from "../edit-cache.ts";
import { editManifest } from "../edit-manifest.ts";
import { withExamples } from "../examples.ts";
import { flagParser } from "../flag-parser.ts";
import { collectKeyValues, collectList } from "../key-value.ts";
import { declareOutputs, outputFormat } from "../output-format.ts";
import { readInput } from "../read-input.ts";
import { parseSandboxManifest, type SandboxManifest } from "../sandbox-manifest.ts";
import { parseFailurePolicy, parsePort } from "../sandbox-values.ts";
import { sandboxSummary } from "../sandbox-view.ts";
import { withSpinner } from "../spinner.ts";
import { formatStructured } from "../structured-output.ts";

interface RunFlags {
  file?: string;
  image?: string;
  pool?: string;
  mode?: "fast" | "strong";
  port?: number[];
  env?: Record<string, string>;
  workdir?: string;
  expireIn?: number;
  failurePolicy?: "Manual" | "AutoRecreate";
  recoveryTimeout?: number;
  label?: Record<string, string>;
  network?: "isolated" | "none" | "agent";
  egress?: "allow" | "deny";
  allowCidr?: string[];
  denyCidr?: string[];
  yes?: boolean;
}

export function registerRun(program: Command, ctx: CliContext): void {
  const command = declareRun(program);
  declareOutputs(command, ["json", "yaml"]);
  withExamples(command, [
    [
      "fsb-ctl run hello --image busybox -- sh -c 'echo hello; sleep 3600'",
      "a sandbox running a shell command",
    ],
    [
      "fsb-ctl run web --image busybox -p 8080 -e GREETING=hi --expire-in 1h -- httpd -f -p 8080",
      "a web server with a port, an env var and an expiry",
    ],
    [
      "fsb-ctl run -f sandbox.yaml",
      "from the declarative YAML (apiVersion sandbox.fast.io/v1alpha1, kind Sandbox)",
    ],
    ["fsb-ctl run my-sandbox", "edit a template in $EDITOR, then confirm"],
    ["fsb-ctl run my-sandbox --yes", "edit, and create without asking (no terminal needed)"],
    ["fsb-ctl run web --image busybox -o json -- sleep 600", "print the created sandbox as JSON"],
  ]);
  command.action((_name: string | undefined, _rest: string[], flags: RunFlags, cmd: Command) =>
    run(ctx, flags, cmd),
  );
}

/** The `run` command with its arguments and flags. */
function declareRun(program: Command): Command {
  return program
    .command("run")
    .summary("create a sandbox")
    .description(
      "Create a sandbox and print its name, id, agent, endpoints and how long the create took.\n\n" +
        "With --image or -f it creates at once. With neither, it opens $EDITOR (vi if unset) on a " +
        "commented YAML template, or on your last edit of NAME, then asks before creating. " +
        "Flags override the file's values; env and labels are merged.",
    )
    .argument("[name]", "the sandbox's name (generated when omitted with --image)")
    .argument("[command...]", "after --: the command to run and its arguments (replace the entrypoint)")
    .option(
      "-f, --file <file>",
      "create from YAML: the declarative Sandbox resource or the template's form (- for stdin)",
    )
    .option("--image <image>", "the image to run, such as busybox")
    .option("--pool <pool>", "the pool whose agents run it (default: default-pool)")
    .addOption(
      new Option(
        "--mode <mode>",
        "answer once the container runs (fast) or once it is also recorded (strong)",
      ).choices(["fast", "strong"]),
    )
    .option(
      "-p, --port <port>",
      "a port to expose as an endpoint (repeatable)",
      flagParser(collectList(parsePort)),
    )
    .option(
      "-e, --env <NAME=VALUE>",
      "an environment variable (repeatable)",
      flagParser(collectKeyValues("NAME")),
    )
    .option("-w, --workdir <dir>", "the working directory inside the sandbox")
    .option(
      "--expire-in <duration>",
      "delete it after this long, such as 30s, 10m or 2h",
      flagParser(parseDuration),
    )
    .option(
      "--failure-policy <policy>",
      "Manual (stays Failed) or AutoRecreate",
      flagParser(parseFailurePolicy),
    )
    .option(
      "--recovery-timeout <duration>",
      "how long AutoRecreate keeps trying, such as 60s",
      flagParser(parseSeconds),
    )
    .option("--label <KEY=VALUE>", "a label (repeatable)", flagParser(collectKeyValues("KEY")))
    .addOption(
      new Option(
        "--network <mode>",
        "isolated (own address and firewall), none (loopback only) or agent (the agent's network); default: the pool's",
      ).choices(["isolated", "none", "agent"]),
    )
    .addOption(
      new Option("--egress <default>", "allow or deny connections no --allow-cidr/--deny-cidr names").choices(
        ["allow", "deny"],
      ),
    )
    .option("--allow-cidr <CIDR>", "an IPv4 network the sandbox may reach (repeatable)", collectList(String))
    .option(
      "--deny-cidr <CIDR>",
      "an IPv4 network the sandbox may not reach (repeatable)",
      collectList(String),
    )
    .option("-y, --yes", "create an edited sandbox without asking");
}

/** The action of `run`: the spec from file, editor or flags, a confirmation after an edit, the create. */
async function run(ctx: CliContext, flags: RunFlags, cmd: Command): Promise<void> {
  const format = outputFormat(cmd);
  const { name, command: trailing } = splitOperands(cmd.args, ctx.io.args);
  const fromFlags = flagOptions(flags, trailing);
  const { base, edited } = await baseManifest(ctx, flags, name, cmd);
  const options = merge(base ?? {}, fromFlags, name, ctx.globals(cmd).namespace);
  if (!options.image)
    throw new UsageError("no image given", "pass --image IMAGE, -f FILE, or neither to edit a template");
  const label = options.name ?? "sandbox";
  if (edited && !flags.yes && !(await confirm(`Create sandbox ${label}?`, ctx.io.stdin, ctx.io.stderr))) {
    throw new CliError(`cancelled: sandbox ${label} not created`, {
      hint: `your edit is kept for the next \`fsb-ctl run ${label}\``,
    });
  }
  const client = ctx.client(cmd);
  const started = performance.now();
  const box = await withSpinner(
    ctx.io.stdout,
    ctx.interactive(cmd),
    `creating ${label}`,
    client.sandboxes.create(options as CreateSandboxOptions),
  );
  const createMs = Math.round(performance.now() - started);
  if (format) {
    ctx.print(
      formatStructured(
        { ...box.details, created: box.created, createMs },
        format === "json" ? "json" : "yaml",
      ),
    );
    return;
  }
  const style = ctx.style(cmd);
  ctx.print(
    box.created
      ? `sandbox ${style.bold(box.name)} created in ${createMs} ms\n`
      : `sandbox ${style.bold(box.name)} already exists with this spec (answered in ${createMs} ms)\n`,
  );
  ctx.print(sandboxSummary(box.details, style));
}

/**
 * The spec the flags apply to: the file's with -f, an edited template when neither -f nor --image
 * is given (after checks that fail before the editor opens), else none.
 */
async function baseManifest(
  ctx: CliContext,
  flags: RunFlags,
  name: string | undefined,
  cmd: Command,
): Promise<{ base: SandboxManifest | undefined; edited: boolean }> {
  if (flags.file !== undefined) return { base: await readManifest(flags.file, ctx.io.stdin), edited: false };
  if (flags.image !== undefined) return { base: undefined, edited: false };
  if (!name)
    throw new UsageError(
      "give the sandbox a name to edit it",
      "`fsb-ctl run NAME`, or pass --image or -f FILE",
    );
  // Fail before the editor opens, not after the user has typed the whole spec.
  if (!flags.yes && !ctx.io.stdin.isTTY)
    throw new UsageError(
      "cannot ask for confirmation without a terminal",
      "pass --yes to create without asking",
    );
  const base = edit(name, ctx.globals(cmd).namespace ?? ctx.client(cmd).namespace, ctx);
  if (!base) throw new CliError(`the file was empty: sandbox ${name} not created`);
  return { base, edited: true };
}

/**
 * Commander cannot tell `run NAME -- CMD` from `run -- CMD`: both give operands. The raw arguments
 * can, so everything after the first `--` is the command and at most one operand comes before it.
 */
function splitOperands(operands: string[], rawArgs: string[]): { name?: string; command?: string[] } {
  const dashes = rawArgs.indexOf("--");
  const command = dashes >= 0 ? rawArgs.slice(dashes + 1) : undefined;
  const before = command ? operands.slice(0, operands.length - command.length) : operands;
  if (before.length > 1)
    throw new UsageError(
      `unexpected argument "${before[1]}"`,
      "put the command after --, as in `fsb-ctl run web --image busybox -- sleep 600`",
    );
  if (command && command.length === 0) throw new UsageError("no command after --");
  return { ...(before[0] ? { name: before[0] } : {}), ...(command ? { command } : {}) };
}

function flagOptions(flags: RunFlags, command: string[] | undefined): SandboxManifest {
  const options: Partial<SandboxManifest> = {
    image: flags.image,
    pool: flags.pool,
    mode: flags.mode,
    exposedPorts: flags.port,
    env: flags.env,
    workingDir: flags.workdir,
    expireInMs: flags.expireIn,
    failurePolicy: flags.failurePolicy,
    recoveryTimeoutSeconds: flags.recoveryTimeout,
    labels: flags.label,
    network: networkFlags(flags),
    command,
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as SandboxManifest;
}

/** --network and the egress flags as create options; undefined when none is given. */
function networkFlags(flags: RunFlags): SandboxManifest["network"] {
  const egress = {
    ...(flags.egress ? { default: flags.egress } : {}),
    ...(flags.allowCidr ? { allow: flags.allowCidr } : {}),
    ...(flags.denyCidr ? { deny: flags.denyCidr } : {}),
  };
  const hasEgress = Object.keys(egress).length > 0;
  if (!flags.network && !hasEgress) return undefined;
  return { ...(flags.network ? { mode: flags.network } : {}), ...(hasEgress ? { egress } : {}) };
}

/** Flags over the file; env and labels merge key by key; a name on the command line wins; -n beats the file. */
function merge(
  file: Partial<SandboxManifest>,
  flags: Partial<SandboxManifest>,
  name: string | undefined,
  namespaceFlag: string | undefined,
): Partial<SandboxManifest> {
  const merged: Partial<SandboxManifest> = { ...file, ...flags };
  if (file.env || flags.env) merged.env = { ...file.env, ...flags.env };
  if (file.labels || flags.labels) merged.labels = { ...file.labels, ...flags.labels };
  // An expiry from the flags replaces the file's, whichever form either used.
  if (flags.expireInMs !== undefined) delete merged.expireAt;
  if (name) merged.name = name;
  if (namespaceFlag) merged.namespace = namespaceFlag;
  return merged;
}

function edit(name: string, namespace: string, ctx: CliContext): SandboxManifest | undefined {
  const cache = new EditCache(cacheDir(ctx.io.env, ctx.io.home));
  const text = editManifest({ name, namespace, cache, env: ctx.io.env });
  try {
    return parseSandboxManifest(text, `your edit of ${name}`);
  } catch (err) {
    throw new UsageError(
      (err as Error).message,
      `your edit is kept: run \`fsb-ctl run ${name}\` again to fix it`,
    );
  }
}

async function readManifest(file: string, stdin: NodeJS.ReadableStream): Promise<SandboxManifest> {
  const { text, source } = await readInput(file, stdin);
  let manifest: SandboxManifest | undefined;
  try {
    manifest = parseSandboxManifest(text, source);
  } catch (err) {
    throw new UsageError((err as Error).message, "see `fsb-ctl run --help` for the YAML forms");
  }
  if (!manifest) throw new UsageError(`${source} is empty`);
  return manifest;
}
