/** `fsb-ctl config view|set|use-context`: what the CLI connects to, and changing it. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  configPaths,
  currentContextOf,
  parseConfigFile,
  resolveConfig,
  setContextSettings,
  setCurrentContext,
} from "@fast-sandbox/sdk";
import { Argument, type Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { UsageError } from "../cli-error.ts";
import { CONFIG_KEYS, isConfigKey } from "../config-keys.ts";
import { withExamples } from "../examples.ts";
import { declareOutputs, outputFormat } from "../output-format.ts";
import { formatStructured } from "../structured-output.ts";
import { formatTable } from "../table.ts";

/** Enough of a token to tell two apart, not enough to use one. */
const SHOWN_TOKEN_CHARS = 4;

export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program
    .command("config")
    .summary("show or change where fsb-ctl connects")
    .description(
      "Settings resolve per setting as: flags > env (FSB_ENDPOINT, FSB_TOKEN, FSB_NAMESPACE, " +
        "FSB_CONTEXT) > ./.fsb/config.yaml > ~/.fsb/config.yaml. A config file holds named contexts " +
        "(endpoint, token or tokenFile, namespace) and a current-context; `npm start` writes " +
        "./.fsb/config.yaml for the standalone system, so fsb-ctl needs no flags there.",
    );
  withExamples(config, [
    ["fsb-ctl config view", "what fsb-ctl would use now, and where each value comes from"],
    ["fsb-ctl config set endpoint https://fsb.example.com:9090 --context cluster", "add a context"],
    ["fsb-ctl config use-context cluster", "switch to it"],
  ]);
  registerView(config, ctx);
  registerSet(config, ctx);
  registerUseContext(config, ctx);
}

function registerView(config: Command, ctx: CliContext): void {
  const view = config
    .command("view")
    .description("Show the resolved endpoint, token (masked), namespace and context, with their sources.");
  declareOutputs(view, ["json", "yaml"]);
  withExamples(view, [
    ["fsb-ctl config view", "as a table"],
    ["fsb-ctl config view -o json", "as JSON"],
  ]);
  view.action((_flags: unknown, cmd: Command) => showConfig(ctx, cmd));
}

/** `config view`: the resolved settings with their sources, as a table or structured. */
function showConfig(ctx: CliContext, cmd: Command): void {
  const format = outputFormat(cmd);
  const { endpoint, token, namespace, context } = ctx.globals(cmd);
  let resolved: ReturnType<typeof resolveConfig>;
  try {
    resolved = resolveConfig({ endpoint, token, namespace, context });
  } catch (err) {
    throw new UsageError(
      (err as Error).message,
      "check the config files, or create the context with `fsb-ctl config set`",
    );
  }
  const contexts = listContexts(ctx);
  const masked = maskToken(resolved.token);
  if (format) {
    ctx.print(
      formatStructured(
        {
          context: resolved.context,
          endpoint: resolved.endpoint,
          token: masked,
          namespace: resolved.namespace,
          sources: resolved.sources,
          files: resolved.files,
          contexts,
        },
        format === "json" ? "json" : "yaml",
      ),
    );
    return;
  }
  const style = ctx.style(cmd);
  const from = (source: string | undefined) => ({
    text: source ? `from ${source}` : "",
    colour: style.dim,
  });
  const [local, user] = configPaths({ cwd: ctx.io.cwd, home: ctx.io.home });
  const fileLine = (file: string) => `${file}${existsSync(file) ? "" : " (none)"}`;
  ctx.print(
    formatTable([
      ["context", resolved.context ?? "(none)", from(resolved.sources.context)],
      ["endpoint", resolved.endpoint, from(resolved.sources.endpoint)],
      ["token", masked ?? "(none)", from(resolved.sources.token)],
      ["namespace", resolved.namespace, from(resolved.sources.namespace)],
      ["files", fileLine(local!), ""],
      ["", fileLine(user!), ""],
      [
        "contexts",
        contexts.map((c) => `${c.name}${c.name === resolved.context ? "*" : ""}`).join(", ") || "(none)",
        "",
      ],
    ]),
  );
}

function registerSet(config: Command, ctx: CliContext): void {
  const set = config
    .command("set")
    .description(
      "Set a setting of the current context (or of --context NAME, created if new) in\n" +
        "./.fsb/config.yaml if it exists, else ~/.fsb/config.yaml. An empty value removes the setting.",
    )
    .addArgument(new Argument("<key>", "the setting").choices(Object.keys(CONFIG_KEYS)))
    .argument("<value>", "its value (a token-file path is made absolute)");
  withExamples(set, [
    ["fsb-ctl config set namespace team-a", "use namespace team-a in the current context"],
    [
      "fsb-ctl config set token-file ~/.fsb/cluster-token --context cluster",
      "read the cluster's token from a file",
    ],
    ["fsb-ctl config set token ''", "remove the token setting"],
  ]);
  set.action((key: string, value: string, _flags: unknown, cmd: Command) => {
    if (!isConfigKey(key)) throw new UsageError(`unknown setting ${key}`);
    const file = targetFile(ctx);
    const text = read(file);
    const name =
      ctx.globals(cmd).context ?? ctx.io.env.FSB_CONTEXT ?? currentContextOf(text, file) ?? "default";
    const stored = key === "token-file" && value ? path.resolve(ctx.io.cwd, value) : value;
    let updated = edit(() => setContextSettings(text, file, name, { [CONFIG_KEYS[key]]: stored }));
    // A file's first context becomes its current one, so the setting takes effect at once.
    if (!currentContextOf(updated, file)) updated = edit(() => setCurrentContext(updated, file, name));
    write(file, updated);
    ctx.print(
      value ? `set ${key} of context ${name} in ${file}\n` : `removed ${key} of context ${name} in ${file}\n`,
    );
  });
}

function registerUseContext(config: Command, ctx: CliContext): void {
  const use = config
    .command("use-context")
    .description(
      "Make a context the current one (in ./.fsb/config.yaml if it exists, else ~/.fsb/config.yaml).",
    )
    .argument("<name>", "a context defined in either config file");
  withExamples(use, [["fsb-ctl config use-context standalone", "back to the system `npm start` runs"]]);
  use.action((name: string) => {
    const known = listContexts(ctx);
    if (!known.some((c) => c.name === name)) {
      throw new UsageError(
        `no context "${name}" (known: ${known.map((c) => c.name).join(", ") || "none"})`,
        `create it with \`fsb-ctl config set endpoint URL --context ${name}\``,
      );
    }
    const file = targetFile(ctx);
    write(
      file,
      edit(() => setCurrentContext(read(file), file, name)),
    );
    ctx.print(`current context is ${name} (in ${file})\n`);
  });
}

/** The project's config if there is one (as `npm start` writes), else the user's. */
function targetFile(ctx: CliContext): string {
  const [local, user] = configPaths({ cwd: ctx.io.cwd, home: ctx.io.home });
  return existsSync(local!) ? local! : user!;
}

function listContexts(ctx: CliContext): Array<{ name: string; file: string }> {
  const found: Array<{ name: string; file: string }> = [];
  for (const file of configPaths({ cwd: ctx.io.cwd, home: ctx.io.home })) {
    const text = read(file);
    if (text === undefined) continue;
    const config = edit(() => parseConfigFile(text, file));
    for (const name of Object.keys(config.contexts ?? {}))
      if (!found.some((c) => c.name === name)) found.push({ name, file });
  }
  return found;
}

function maskToken(token: string | undefined): string | undefined {
  if (!token) return undefined;
  return token.length > SHOWN_TOKEN_CHARS * 3 ? `****${token.slice(-SHOWN_TOKEN_CHARS)}` : "****";
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Tokens live in these files: a new one is readable by its owner only. */
function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text, { mode: 0o600 });
}

/** A broken config file is the user's to fix: say which, without a stack. */
function edit<T>(change: () => T): T {
  try {
    return change();
  } catch (err) {
    throw new UsageError((err as Error).message, "fix or remove that file");
  }
}
