/**
 * The two host tools the agent's networking runs: iproute2's `ip` and `nft`. Each call is one
 * process fed a batch on stdin, so any number of changes costs one fork, and nft applies its batch
 * as one transaction. No netlink library: these run off the create path (namespaces are prepared
 * ahead), where a few milliseconds per batch do not matter.
 */
import { spawn } from "node:child_process";
import { ErrorCode, FsbError } from "@fast-sandbox/api";

/** Runs `ip` (with `-n NETNS` when given) on a batch of commands; rejects with INTERNAL on failure. */
export type RunIp = (lines: readonly string[], netns?: string) => Promise<void>;
/** Runs iproute2's `bridge` on a batch of commands (forwarding entries); rejects with INTERNAL on failure. */
export type RunBridge = (lines: readonly string[]) => Promise<void>;
/** Applies an nft script as one transaction; rejects with INTERNAL on failure. */
export type RunNft = (script: string) => Promise<void>;
/** Runs `ip` or `nft` with arguments and answers its standard output (a JSON listing, say). */
export type Query = (command: "ip" | "nft", args: readonly string[]) => Promise<string>;

/** The host tools, injectable so pure planning and error paths test without root. */
export interface NetTools {
  ip: RunIp;
  bridge: RunBridge;
  nft: RunNft;
  query: Query;
}

export const hostNetTools: NetTools = {
  ip: (lines, netns) =>
    run("ip", [...(netns ? ["-n", netns] : []), "-batch", "-"], lines.join("\n")).then(() => {}),
  bridge: (lines) => run("bridge", ["-batch", "-"], lines.join("\n")).then(() => {}),
  nft: (script) => run("nft", ["-f", "-"], script).then(() => {}),
  query: (command, args) => run(command, args, ""),
};

function run(command: string, args: readonly string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", (cause) => {
      const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
      const hint = missing ? ` (install ${command === "ip" ? "iproute2" : "nftables"})` : "";
      reject(
        new FsbError(ErrorCode.FailedPrecondition, `cannot run ${command}${hint}: ${cause.message}`, {
          cause,
        }),
      );
    });
    child.on("close", (code) => {
      if (code === 0) return resolve(Buffer.concat(out).toString("utf8"));
      const detail = Buffer.concat(err).toString("utf8").trim().split("\n").slice(0, 6).join("; ");
      reject(new FsbError(ErrorCode.Internal, `${command} ${args.join(" ")} exited with ${code}: ${detail}`));
    });
    // A tool that exits before reading all of its input must not crash the agent with EPIPE.
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}
