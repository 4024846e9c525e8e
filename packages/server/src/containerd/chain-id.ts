/** The OCI chain id of a layer stack: the key under which containerd stores its unpacked snapshot. */
import { createHash } from "node:crypto";

/**
 * chainId(L0) = diffId(L0); chainId(L0..Ln) = sha256(chainId(L0..Ln-1) + " " + diffId(Ln)).
 * containerd names the committed snapshot of an unpacked image by this value, so it is the
 * `parent` that a container's writable snapshot is prepared from.
 */
export function chainId(diffIds: readonly string[]): string {
  if (diffIds.length === 0) throw new Error("an image needs at least one layer to have a chain id");
  let chain = diffIds[0]!;
  for (const diffId of diffIds.slice(1)) {
    chain = `sha256:${createHash("sha256").update(`${chain} ${diffId}`).digest("hex")}`;
  }
  return chain;
}
