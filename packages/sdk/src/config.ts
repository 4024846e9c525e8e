/** Where a client finds Fast Sandbox: options > env > ./.fsb/config.yaml > ~/.fsb/config.yaml, with named contexts. */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";

/** The endpoint a standalone system (`npm start`) serves on. */
export const DEFAULT_ENDPOINT = "http://127.0.0.1:9090";
export const DEFAULT_NAMESPACE = "default";

/** One named target: a standalone system, a cluster, ... */
export interface ContextConfig {
  endpoint?: string;
  /** The token itself; prefer `tokenFile` so the config can be shared. */
  token?: string;
  /** A file holding the token (as `npm start` writes it). */
  tokenFile?: string;
  namespace?: string;
}

/** The config file: contexts by name, and which one is current. */
export interface ConfigFile {
  "current-context"?: string;
  contexts?: Record<string, ContextConfig>;
}

/** What a client ends up using, and where each part came from (for `config view` and error hints). */
export interface ResolvedConfig {
  endpoint: string;
  token: string | undefined;
  namespace: string;
  context: string | undefined;
  /** The config files that were read, nearest first. */
  files: string[];
  /**
   * Where each setting came from: `flag`, `env FSB_TOKEN`, `context NAME in FILE`, `tokenFile FILE (…)`,
   * `current-context in FILE` or `default`; undefined when unset.
   */
  sources: Record<"endpoint" | "token" | "namespace" | "context", string | undefined>;
}

/** Explicit settings (flags, constructor options); they win over everything else. */
export interface ConfigOverrides {
  endpoint?: string | undefined;
  token?: string | undefined;
  namespace?: string | undefined;
  context?: string | undefined;
}

/** The outside world config resolution reads; injectable so resolution is testable. */
export interface ConfigEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  home: string;
  readFile: (file: string) => string | undefined;
}

export function defaultEnvironment(): ConfigEnvironment {
  return {
    env: process.env,
    cwd: process.cwd(),
    home: os.homedir(),
    readFile: (file) => {
      try {
        return readFileSync(file, "utf8");
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * The two config file locations, nearest first.
 *
 * @example
 * configPaths({ cwd: process.cwd(), home: os.homedir() }); // [".../.fsb/config.yaml", "~/.fsb/config.yaml"]
 */
export function configPaths(environment: Pick<ConfigEnvironment, "cwd" | "home">): string[] {
  return [
    path.join(environment.cwd, ".fsb", "config.yaml"),
    path.join(environment.home, ".fsb", "config.yaml"),
  ];
}

/**
 * Parses a config file; a file that is not valid YAML of the right shape throws with its path.
 *
 * @example
 * const config = parseConfigFile("current-context: local\ncontexts:\n  local: {endpoint: http://127.0.0.1:9090}\n", "config.yaml");
 */
export function parseConfigFile(text: string, file: string): ConfigFile {
  let parsed: unknown;
  try {
    parsed = parse(text) ?? {};
  } catch (err) {
    throw new Error(`${file} is not valid YAML: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error(`${file} must hold a YAML mapping`);
  const config = parsed as ConfigFile;
  if (
    config.contexts !== undefined &&
    (typeof config.contexts !== "object" || Array.isArray(config.contexts))
  ) {
    throw new Error(`${file}: contexts must be a mapping of name to settings`);
  }
  return config;
}

/**
 * Serialises a config file (what `fsb-ctl config set` writes).
 *
 * @example
 * await writeFile(".fsb/config.yaml", formatConfigFile({ "current-context": "local", contexts: { local: { endpoint } } }));
 */
export function formatConfigFile(config: ConfigFile): string {
  return stringify(config);
}

/**
 * Resolves each setting separately, so the token may come from a file while the namespace comes
 * from the environment. The context is the one named (override, FSB_CONTEXT) or the nearest file's
 * current-context.
 *
 * @example
 * const { endpoint, token, namespace } = resolveConfig({ context: "cluster" });
 */
export function resolveConfig(
  overrides: ConfigOverrides = {},
  environment = defaultEnvironment(),
): ResolvedConfig {
  const files: Array<{ file: string; config: ConfigFile }> = [];
  for (const file of configPaths(environment)) {
    const text = environment.readFile(file);
    if (text !== undefined) files.push({ file, config: parseConfigFile(text, file) });
  }
  const currentIn = files.find((f) => f.config["current-context"]);
  const contextName =
    overrides.context ?? environment.env.FSB_CONTEXT ?? currentIn?.config["current-context"];
  const contextSource =
    overrides.context !== undefined
      ? "flag"
      : environment.env.FSB_CONTEXT !== undefined
        ? "env FSB_CONTEXT"
        : currentIn && `current-context in ${currentIn.file}`;
  const contexts = contextName
    ? files.map((f) => f.config.contexts?.[contextName]).filter((c) => c !== undefined)
    : [];
  if (overrides.context && contexts.length === 0) {
    throw new Error(
      `no context "${overrides.context}" in ${files.map((f) => f.file).join(" or ") || "any config file"}`,
    );
  }
  /** The nearest file's value for `key` in the chosen context, and where it was found. */
  const fromContext = (key: keyof ContextConfig) => {
    for (const { file, config } of files) {
      const value = contextName ? config.contexts?.[contextName]?.[key] : undefined;
      if (value !== undefined) return { value, source: `context ${contextName} in ${file}` };
    }
    return undefined;
  };
  const pick = (
    key: "endpoint" | "token" | "namespace",
    envName: string,
    ...rest: Array<{ value: string | undefined; source: string } | undefined>
  ) =>
    [
      { value: overrides[key], source: "flag" },
      { value: environment.env[envName], source: `env ${envName}` },
      ...rest,
    ].find((c) => c?.value);
  const tokenFile = fromContext("tokenFile");
  const tokenFromFile = tokenFile?.value
    ? environment.readFile(tokenFile.value)?.trim() || undefined
    : undefined;
  const endpoint = pick("endpoint", "FSB_ENDPOINT", fromContext("endpoint"));
  const token = pick(
    "token",
    "FSB_TOKEN",
    fromContext("token"),
    tokenFile && { value: tokenFromFile, source: `tokenFile ${tokenFile.value} (${tokenFile.source})` },
  );
  const namespace = pick("namespace", "FSB_NAMESPACE", fromContext("namespace"));
  return {
    endpoint: endpoint?.value || DEFAULT_ENDPOINT,
    token: token?.value,
    namespace: namespace?.value || DEFAULT_NAMESPACE,
    context: contextName,
    files: files.map((f) => f.file),
    sources: {
      endpoint: endpoint?.source ?? "default",
      token: token?.source,
      namespace: namespace?.source ?? "default",
      context: contextSource,
    },
  };
}
