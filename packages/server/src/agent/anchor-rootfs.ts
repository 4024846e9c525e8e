/** The anchor's root filesystem: a directory holding one static busybox, made once per node and shared. */
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { ErrorCode, FsbError } from "@fast-sandbox/api";

/**
 * The static busybox the anchor runs (Debian's busybox-static; the agent image installs it). A static
 * binary needs no libraries in the rootfs, so the rootfs is this one file and two mount points.
 */
export const ANCHOR_BUSYBOX = "/bin/busybox";
/** Hex digits of the binary's SHA-256 in the directory name: a new busybox gets a new directory. */
const HASH_DIGITS = 16;

/**
 * Makes (or finds) `<dir>/rootfs-<hash of the binary>` with `bin/busybox`, `proc/` and `dev/`, and
 * returns its path. It is named by content and made under a temporary name then renamed, so agents
 * of one node can share it and race to make it safely: the first rename wins, the others find it.
 * Everything is read-only for all but root; the anchor mounts it read-only besides.
 */
export async function prepareAnchorRootfs(dir: string, source = ANCHOR_BUSYBOX): Promise<string> {
  const binary = await readFile(source).catch((err: NodeJS.ErrnoException) => {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      `the shim anchor needs a static busybox at ${source} (Debian: apt-get install busybox-static): ${err.code ?? err.message}`,
      { cause: err },
    );
  });
  const hash = createHash("sha256").update(binary).digest("hex").slice(0, HASH_DIGITS);
  const rootfs = path.join(dir, `rootfs-${hash}`);
  if (await isFile(path.join(rootfs, "bin/busybox"))) return rootfs;

  await mkdir(dir, { recursive: true, mode: 0o755 });
  const temporary = await mkdtemp(path.join(dir, ".tmp-rootfs-"));
  try {
    for (const sub of ["bin", "proc", "dev"]) await mkdir(path.join(temporary, sub), { mode: 0o755 });
    await writeFile(path.join(temporary, "bin/busybox"), binary, { mode: 0o555 });
    await chmod(temporary, 0o755);
    await rename(temporary, rootfs);
  } catch (err) {
    await rm(temporary, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    // Another agent renamed its copy into place first: the same bytes, so use that one.
    if ((code === "ENOTEMPTY" || code === "EEXIST") && (await isFile(path.join(rootfs, "bin/busybox")))) {
      return rootfs;
    }
    throw err;
  }
  return rootfs;
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}
