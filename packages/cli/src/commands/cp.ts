/** `fsb-ctl cp`: copy files and directories between the local machine and a sandbox (tar streams for directories, as `docker cp`). */
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { NotFoundError, type Sandbox } from "@fast-sandbox/sdk";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { CliError } from "../cli-error.ts";
import { completeSandboxNames } from "../completion-script.ts";
import { landingPath, planCopy, type RemoteOperand } from "../cp-paths.ts";
import { withExamples } from "../examples.ts";

export function registerCp(program: Command, ctx: CliContext): void {
  const command = program
    .command("cp")
    .summary("copy files between the local machine and a sandbox")
    .description(
      "Copy a file or a directory into a sandbox (DEST is NAME:/path) or out of one (SOURCE is " +
        "NAME:/path). As with docker cp, a copy into an existing directory lands inside it under " +
        "the source's name; otherwise it takes the destination's name. Directories travel as tar " +
        "streams (the local tar program packs and unpacks them); files stream as they are.",
    )
    .argument("<source>", "a local path, or NAME:/path in a sandbox")
    .argument("<dest>", "a local path, or NAME:/path in a sandbox");
  completeSandboxNames(command);
  withExamples(command, [
    ["fsb-ctl cp ./app.py web:/srv/app.py", "upload a file"],
    ["fsb-ctl cp ./src web:/srv", "upload a directory (to /srv/src, /srv existing)"],
    ["fsb-ctl cp web:/var/log ./logs", "download a directory"],
  ]);
  command.action((source: string, dest: string, _flags: unknown, cmd: Command) =>
    copy(ctx, source, dest, cmd),
  );
}

async function copy(ctx: CliContext, source: string, dest: string, cmd: Command): Promise<void> {
  const plan = planCopy(source, dest, ctx.io.cwd);
  const box = await ctx.client(cmd).sandboxes.get(plan.remote.sandbox);
  if (plan.direction === "upload") await upload(box, plan.local, plan.remote);
  else await download(box, plan.remote, plan.local);
}

async function upload(box: Sandbox, local: string, remote: RemoteOperand): Promise<void> {
  const info = await stat(local).catch(() => {
    throw new CliError(`${local}: no such file or directory`);
  });
  const remoteIsDir = await remoteType(box, remote.path).then((t) => t === "directory");
  const target = landingPath(local, remote.path, remoteIsDir, path.posix.join);
  if (!info.isDirectory()) {
    await box.files.upload(target, Readable.from(createReadStream(local)), { mode: info.mode & 0o7777 });
    return;
  }
  const tar = spawnTar(["-c", "-f", "-", "-C", local, "."], "ignore", "pipe");
  await Promise.all([box.files.upload(target, tar.child.stdout!, { archive: "tar" }), tar.done]);
}

async function download(box: Sandbox, remote: RemoteOperand, local: string): Promise<void> {
  const type = await remoteType(box, remote.path);
  if (type === undefined) throw new CliError(`${remote.sandbox}:${remote.path}: no such file or directory`);
  const localIsDir = await stat(local).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const target = landingPath(remote.path, local, localIsDir, path.join);
  if (type !== "directory") {
    const content = await box.files.download(remote.path);
    await pipeline(
      Readable.fromWeb(content as import("node:stream/web").ReadableStream),
      createWriteStream(target),
    );
    return;
  }
  await mkdir(target, { recursive: true });
  const content = await box.files.download(remote.path, { archive: "tar" });
  // The archive's top entry is the directory itself: its contents land in `target`.
  const tar = spawnTar(["-x", "-f", "-", "-C", target, "--strip-components=1"], "pipe", "ignore");
  await Promise.all([
    pipeline(Readable.fromWeb(content as import("node:stream/web").ReadableStream), tar.child.stdin!),
    tar.done,
  ]);
}

/** The type of a sandbox path, undefined when it does not exist. */
async function remoteType(box: Sandbox, remotePath: string): Promise<string | undefined> {
  try {
    return (await box.files.stat(remotePath)).type;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

function spawnTar(args: string[], stdin: "pipe" | "ignore", stdout: "pipe" | "ignore") {
  const child = spawn("tar", args, { stdio: [stdin, stdout, "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", (err) => reject(new CliError(`cannot run tar: ${err.message}`)));
    child.once("close", (code) =>
      code === 0
        ? resolve()
        : reject(new CliError(`tar ${args[0]} failed: ${stderr.trim() || `exit ${code}`}`)),
    );
  });
  return { child, done };
}
