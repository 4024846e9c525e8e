/** Gives a test file the real containerd that scripts/run-tests.ts started for the suite. */
import { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { TEST_NAMESPACE } from "./constants.ts";

/** The socket of the suite's private containerd. */
export async function testContainerdSocket(): Promise<string> {
  const socket = process.env.FSB_TEST_CONTAINERD_SOCKET;
  if (!socket) {
    throw new Error(
      "FSB_TEST_CONTAINERD_SOCKET is not set: run integration tests through the runner, " +
        "e.g. `npm run test:only -- packages/server/src/agent/agent-lifecycle.test.ts`",
    );
  }
  return socket;
}

/** A connection to the test namespace. Close it in `after`, or its HTTP/2 session keeps the process alive. */
export async function testConnection(): Promise<ContainerdConnection> {
  return new ContainerdConnection({ socketPath: await testContainerdSocket(), namespace: TEST_NAMESPACE });
}
