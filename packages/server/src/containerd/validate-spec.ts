// Rejects specs runc 1.1.5 would fail on, since containerd stores them without checking.
import { ErrorCode, FsbError, invalidArgument } from "@fast-sandbox/api";
import { DEFAULT_CAPABILITIES, type OciCapabilities, type OciSpec } from "./oci-spec.ts";

const ENV_ENTRY = /^[^=\0]+=[^\0]*$/;

const REQUIRED_NAMESPACES = ["pid", "mount"] as const;

const CAPABILITY_SETS = [
  "bounding",
  "effective",
  "permitted",
  "inheritable",
  "ambient",
] as const satisfies readonly (keyof OciCapabilities)[];

function internal(field: string, message: string): FsbError {
  return new FsbError(ErrorCode.Internal, message, { field });
}

function isId(id: unknown): boolean {
  return typeof id === "number" && Number.isInteger(id) && id >= 0;
}

function validateProcess(spec: OciSpec): void {
  const { process } = spec;
  if (!process) throw internal("process", "is missing");
  if (!Array.isArray(process.args) || process.args.length === 0) {
    throw invalidArgument("process.args", "must not be empty");
  }
  process.args.forEach((arg, i) => {
    if (typeof arg !== "string" || arg.includes("\0")) {
      throw invalidArgument(`process.args[${i}]`, "must be a string without NUL");
    }
  });
  if (process.args[0] === "") throw invalidArgument("process.args[0]", "program must not be empty");
  if (typeof process.cwd !== "string" || !process.cwd.startsWith("/")) {
    throw invalidArgument("process.cwd", `must be an absolute path, got "${process.cwd}"`);
  }
  if (!process.user) throw internal("process.user", "is missing");
  if (!isId(process.user.uid) || !isId(process.user.gid)) {
    throw invalidArgument("process.user", "uid and gid must be non-negative integers");
  }
  (process.env ?? []).forEach((entry, i) => {
    if (typeof entry !== "string" || !ENV_ENTRY.test(entry)) {
      throw invalidArgument(`process.env[${i}]`, "must be K=V with a non-empty K and no NUL");
    }
  });
  // Sandboxes never run privileged; anything beyond the default set means an option misbehaved.
  const allowed = new Set(DEFAULT_CAPABILITIES);
  for (const set of CAPABILITY_SETS) {
    const extra = (process.capabilities?.[set] ?? []).filter((cap) => !allowed.has(cap));
    if (extra.length > 0) {
      throw internal(`process.capabilities.${set}`, `grants capabilities outside the default set: ${extra}`);
    }
  }
}

function validateLinux(spec: OciSpec): void {
  const { linux } = spec;
  if (!linux) throw internal("linux", "is missing");
  const namespaces = linux.namespaces ?? [];
  for (const type of REQUIRED_NAMESPACES) {
    if (!namespaces.some((ns) => ns.type === type)) {
      throw internal("linux.namespaces", `must include a ${type} namespace`);
    }
  }
  if (spec.hostname !== undefined && !namespaces.some((ns) => ns.type === "uts" && ns.path === undefined)) {
    throw internal("hostname", "needs a private uts namespace");
  }
  if (linux.cgroupsPath !== undefined && !linux.cgroupsPath.startsWith("/")) {
    throw internal("linux.cgroupsPath", `must be an absolute path, got "${linux.cgroupsPath}"`);
  }
}

/**
 * Throws an {@link FsbError} if runc would reject `spec` at create or start time: INVALID_ARGUMENT
 * for values that came from the caller, INTERNAL for structure our own options should have produced.
 */
export function validateSpec(spec: OciSpec): void {
  validateProcess(spec);
  if (!spec.root?.path) throw internal("root.path", "must be set");
  if (!(spec.mounts ?? []).some((m) => m.destination === "/proc" && m.type === "proc")) {
    throw internal("mounts", "must include a proc mount at /proc");
  }
  validateLinux(spec);
  if (Object.keys(spec.annotations ?? {}).some((key) => key === "")) {
    throw invalidArgument("annotations", "keys must not be empty");
  }
}
