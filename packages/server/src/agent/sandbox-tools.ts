/**
 * The node's static busybox, bind-mounted read-only into every sandbox at {@link BUSYBOX_IN_SANDBOX},
 * so helpers (file operations, the passwd lookup of exec's `user`) run inside the sandbox's own root
 * and namespaces, confined by the kernel (or gVisor), even in images without a shell.
 */
import type { Logger } from "pino";
import { prepareAnchorRootfs } from "./anchor-rootfs.ts";

/** Where the busybox appears inside every sandbox. */
export const BUSYBOX_IN_SANDBOX = "/.fsb/busybox";

/** Finds (or makes) the host copy of the busybox: the one in the shim anchor's rootfs, under the anchor dir. */
export class SandboxTools {
  readonly #anchorDir: string;
  readonly #log: Logger;
  #busybox: string | undefined;

  constructor(anchorDir: string, logger: Logger) {
    this.#anchorDir = anchorDir;
    this.#log = logger;
  }

  /** The host path to bind-mount; undefined when the node has no static busybox (sandboxes then get none). */
  get busyboxPath(): string | undefined {
    return this.#busybox;
  }

  async start(): Promise<void> {
    try {
      this.#busybox = `${await prepareAnchorRootfs(this.#anchorDir)}/bin/busybox`;
    } catch (err) {
      this.#log.warn({ err }, `no busybox for sandboxes: ${BUSYBOX_IN_SANDBOX} will be missing in them`);
    }
  }
}
