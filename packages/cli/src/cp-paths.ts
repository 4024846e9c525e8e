/** `fsb-ctl cp` operands: which side is the sandbox (`NAME:/path`), and where a copy lands (as `docker cp` decides). */
import path from "node:path";
import { UsageError } from "./cli-error.ts";

/** A sandbox operand, `NAME:/abs/path`. */
export interface RemoteOperand {
  sandbox: string;
  path: string;
}

export type CopyPlan =
  | { direction: "upload"; local: string; remote: RemoteOperand }
  | { direction: "download"; remote: RemoteOperand; local: string };

/** `NAME:` then an absolute path; a local path with a colon can be written `./a:b`. */
const remotePattern = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?):(.*)$/;

export function parseRemote(operand: string): RemoteOperand | undefined {
  const match = remotePattern.exec(operand);
  if (!match) return undefined;
  const remotePath = match[3] ?? "";
  if (!remotePath.startsWith("/")) {
    throw new UsageError(
      `the path in ${operand} is not absolute`,
      `write it from the sandbox's root, as in ${match[1]}:/tmp/file`,
    );
  }
  return { sandbox: match[1]!, path: remotePath };
}

/** Exactly one operand is in the sandbox. */
export function planCopy(source: string, destination: string, cwd: string): CopyPlan {
  const from = parseRemote(source);
  const to = parseRemote(destination);
  if (from && to) throw new UsageError("both operands are in a sandbox", "copy through a local directory");
  if (to) return { direction: "upload", local: path.resolve(cwd, source), remote: to };
  if (from) return { direction: "download", remote: from, local: path.resolve(cwd, destination) };
  throw new UsageError("neither operand is in a sandbox", "name one as NAME:/path");
}

/**
 * Where a copy of `sourcePath` lands given `destination`: inside it, under the source's name, when
 * it is an existing directory; else at `destination` itself (a new name).
 */
export function landingPath(
  sourcePath: string,
  destination: string,
  destinationIsDir: boolean,
  join: (a: string, b: string) => string,
): string {
  if (!destinationIsDir) return destination;
  const name = sourcePath.replace(/\/+$/, "").split("/").pop() || "root";
  return join(destination, name);
}
