// Derives a sandbox's process from its image config and the user's overrides, with Kubernetes semantics.
import { ErrorCode, FsbError, invalidArgument } from "@fast-sandbox/api";
import type { SpecOption } from "./oci-spec.ts";
import { MAX_ID, withArgs, withCwd, withEnv, withUser } from "./spec-options.ts";

/** The process-related part of an OCI image config. */
export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  /** `K=V` entries. */
  env?: string[];
  workingDir?: string;
  /** "", "root", "uid" or "uid:gid"; names other than root need the image's /etc/passwd. */
  user?: string;
}

/** What the user may change of the image's defaults. Empty arrays count as not given, as in Kubernetes. */
export interface ProcessOverrides {
  /** Replaces the image entrypoint, and drops the image cmd unless `args` is given. */
  command?: string[];
  /** Replaces the image cmd. */
  args?: string[];
  /** Merged over the image env; the user's value wins. */
  env?: Record<string, string>;
  workingDir?: string;
}

const NUMERIC_ID = /^[0-9]+$/;

function nonEmpty(list: string[] | undefined): string[] | undefined {
  return list !== undefined && list.length > 0 ? list : undefined;
}

/** The final command line: Kubernetes' rules for combining command/args with entrypoint/cmd. */
export function resolveArgs(config: ImageConfig, overrides: ProcessOverrides): string[] {
  const command = nonEmpty(overrides.command);
  const args = nonEmpty(overrides.args);
  if (command) return [...command, ...(args ?? [])];
  return [...(config.entrypoint ?? []), ...(args ?? config.cmd ?? [])];
}

function parseId(text: string, user: string): number {
  const id = Number(text);
  if (id > MAX_ID) throw invalidArgument("image.user", `id ${text} in "${user}" is out of range`);
  return id;
}

/**
 * Parses the image's user. A bare uid runs with gid 0: finding the user's primary group
 * would need the image's /etc/passwd, which is not read yet.
 */
export function parseImageUser(user: string): { uid: number; gid: number } {
  if (user === "" || user === "root") return { uid: 0, gid: 0 };
  const [uidText = "", gidText, ...rest] = user.split(":");
  const numeric =
    rest.length === 0 && NUMERIC_ID.test(uidText) && (gidText === undefined || NUMERIC_ID.test(gidText));
  if (!numeric) {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      `image user "${user}": named users are not supported yet; use a numeric uid or uid:gid`,
    );
  }
  return { uid: parseId(uidText, user), gid: gidText === undefined ? 0 : parseId(gidText, user) };
}

function parseImageEnv(env: string[]): Record<string, string> {
  const parsed: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf("=");
    if (eq <= 0) {
      throw new FsbError(ErrorCode.FailedPrecondition, `image env entry "${entry}" is not of the form K=V`);
    }
    parsed[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return parsed;
}

/** Sets args, env, working directory and user from the image config, as overridden by the user. */
export function withImageConfig(config: ImageConfig, overrides: ProcessOverrides = {}): SpecOption {
  const args = resolveArgs(config, overrides);
  if (args.length === 0) {
    throw invalidArgument("command", "the image has no default command and none was given");
  }
  const imageCwd = config.workingDir || undefined;
  if (imageCwd !== undefined && !imageCwd.startsWith("/")) {
    throw new FsbError(ErrorCode.FailedPrecondition, `image working directory "${imageCwd}" is not absolute`);
  }
  const { uid, gid } = parseImageUser(config.user ?? "");
  const options: SpecOption[] = [
    withArgs(args),
    // Image env first, then the user's, so the user's value wins; entries named by neither keep their defaults.
    withEnv(parseImageEnv(config.env ?? [])),
    withEnv(overrides.env ?? {}),
    withCwd(overrides.workingDir || imageCwd || "/"),
    withUser(uid, gid),
  ];
  return (spec) => {
    for (const option of options) option(spec);
  };
}
