/** The agent's `--seccomp` setting: which filter every sandbox runs under, and the spec option for it. */
import { formatFieldPath, invalidArgument } from "@fast-sandbox/api";
import { withoutSeccomp, withSeccomp } from "../containerd/linux-options.ts";
import type { OciSeccomp, SpecOption } from "../containerd/oci-spec.ts";
import { runtimeDefaultSeccomp } from "../containerd/seccomp-profile.ts";
import { ociSeccompSchema } from "../containerd/seccomp-schema.ts";
import type { ReadFile } from "../core/config-values.ts";
import type { RuntimeType } from "./agent-config.ts";

/** The flag's words for the built-in profile and for none. */
export const SECCOMP_RUNTIME_DEFAULT = "runtime-default";
export const SECCOMP_UNCONFINED = "unconfined";

/** What `--seccomp` asked for, before a profile file is read. */
export type SeccompChoice =
  | { kind: "runtime-default" }
  | { kind: "unconfined" }
  | { kind: "localhost"; path: string };

/** The filter of every sandbox: the built-in profile, none, or one read from a file at start. */
export type SeccompSetting =
  | { kind: "runtime-default" }
  | { kind: "unconfined" }
  | { kind: "localhost"; path: string; profile: OciSeccomp };

/** Parses the flag's text: `runtime-default`, `unconfined` or an absolute path. */
export function seccompChoice(raw: string, field: string): SeccompChoice {
  if (raw === SECCOMP_RUNTIME_DEFAULT) return { kind: "runtime-default" };
  if (raw === SECCOMP_UNCONFINED) return { kind: "unconfined" };
  if (raw.startsWith("/") && !raw.includes("\0")) return { kind: "localhost", path: raw };
  throw invalidArgument(
    field,
    `"${raw}" is not ${SECCOMP_RUNTIME_DEFAULT}, ${SECCOMP_UNCONFINED} or an absolute path to a profile`,
  );
}

/**
 * The setting for `choice`, reading and checking a profile file with `readFile`: a file that is
 * missing, unreadable, not JSON or not an OCI seccomp object is INVALID_ARGUMENT on `field`, with the
 * path and what is wrong, so the agent refuses to start instead of failing every create later.
 */
export function loadSeccompSetting(choice: SeccompChoice, readFile: ReadFile, field: string): SeccompSetting {
  if (choice.kind !== "localhost") return choice;
  const { path } = choice;
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    // Node's message names the error and the path: "ENOENT: no such file or directory, open '/x.json'".
    throw invalidArgument(field, `cannot read the profile: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(field, `${path} is not JSON: ${(err as Error).message}`);
  }
  const parsed = ociSeccompSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = formatFieldPath(undefined, issue?.path ?? []);
    throw invalidArgument(
      field,
      `${path} is not an OCI seccomp profile (linux.seccomp): ${at ? `${at}: ` : ""}${issue?.message}`,
    );
  }
  return { kind: "localhost", path, profile: parsed.data };
}

/** Built once; the option still gives every spec its own copy of the profile. */
let runtimeDefaultOption: SpecOption | undefined;

/**
 * The spec option that puts a sandbox of `runtime` under `setting`.
 *
 * gVisor sandboxes get no filter whatever the setting. Their syscalls never reach the host kernel:
 * gVisor's own kernel (the sentry) serves them, and runsc confines the sentry with a host seccomp
 * filter of its own. runsc ignores `linux.seccomp` unless started with --oci-seccomp, and with it the
 * runsc in use (Debian's 20221219) filters only the container's first process and its children, not
 * the processes `runsc exec` starts, which is how every exec'd command runs: half a filter that
 * /proc would report as whole. Measured in agent-seccomp-gvisor.test.ts; docs/security.md says so.
 */
export function seccompOption(setting: SeccompSetting, runtime: RuntimeType): SpecOption {
  if (runtime === "gvisor") return withoutSeccomp();
  switch (setting.kind) {
    case "runtime-default":
      runtimeDefaultOption ??= withSeccomp(runtimeDefaultSeccomp());
      return runtimeDefaultOption;
    case "unconfined":
      return withoutSeccomp();
    case "localhost":
      return withSeccomp(setting.profile);
  }
}
