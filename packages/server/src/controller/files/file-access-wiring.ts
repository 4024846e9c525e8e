/** Builds the controller's file access from the fast path (sandbox lookup) and the agent monitor (agent endpoints). */
import type { Sandbox } from "@fast-sandbox/api";
import { AgentFilesClient } from "./agent-files-client.ts";
import { SandboxFileAccess } from "./sandbox-file-access.ts";

export function fileAccess(
  fastPath: { get(namespace: string, name: string): Promise<Sandbox> },
  monitor: { endpoint(agentId: string): { url: string; token: string | undefined } | undefined },
): SandboxFileAccess {
  return new SandboxFileAccess({
    getSandbox: (namespace, name) => fastPath.get(namespace, name),
    agentFiles: (agentId) => {
      const endpoint = monitor.endpoint(agentId);
      return endpoint && new AgentFilesClient(endpoint.url, endpoint.token);
    },
  });
}
