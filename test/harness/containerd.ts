/** Gives a test file a real containerd: the runner's, or (when a file runs alone) one of its own. */
import path from "node:path";
import { after } from "node:test";
import { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { PrivateContainerd } from "../../packages/server/src/standalone/private-containerd.ts";
import { TEST_IMAGE_BASE, TEST_IMAGE_TAR, TEST_NAMESPACE } from "./constants.ts";

const root = path.resolve(import.meta.dirname, "../..");

/** The socket of the containerd that tests use, starting one if this file runs on its own. */
export async function testContainerdSocket(): Promise<string> {
  const fromRunner = process.env.FSB_TEST_CONTAINERD_SOCKET;
  if (fromRunner) return fromRunner;
  const own = new PrivateContainerd({ dir: path.join(root, ".fsb-dev", `test-containerd-${process.pid}`) });
  await own.start();
  after(() => own.stop());
  await own.importImage(path.join(root, TEST_IMAGE_TAR), TEST_IMAGE_BASE, TEST_NAMESPACE);
  return own.socketPath;
}

/** A connection to the test namespace. */
export async function testConnection(): Promise<ContainerdConnection> {
  return new ContainerdConnection({ socketPath: await testContainerdSocket(), namespace: TEST_NAMESPACE });
}
