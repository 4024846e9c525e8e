/** Files in sandboxes, in domain terms: find the sandbox, check it runs, and route the call to its agent's file routes. */
import type { Sandbox } from "@fast-sandbox/api";
import { runningSandbox, unreachableAgent } from "../running-sandbox.ts";
import type { AgentFilesClient } from "./agent-files-client.ts";

/** Which sandbox a call is about, as the request names it. */
export interface FileTarget {
  namespace: string;
  name: string;
}

export interface SandboxFileAccessOptions {
  /** Reads a sandbox (NOT_FOUND when it does not exist); the fast path's get. */
  getSandbox(namespace: string, name: string): Promise<Sandbox>;
  /** The file client of a registered agent; undefined when it is not registered. */
  agentFiles(agentId: string): AgentFilesClient | undefined;
}

/** The agent that runs a sandbox, and the sandbox's id there. */
export interface FilePlacement {
  files: AgentFilesClient;
  sandboxId: string;
}

/**
 * Every call re-reads the sandbox, so files are only ever touched in a sandbox that is Running on
 * its current container; the agent answers for the files themselves.
 */
export class SandboxFileAccess {
  readonly #o: SandboxFileAccessOptions;

  constructor(options: SandboxFileAccessOptions) {
    this.#o = options;
  }

  async placement(target: FileTarget): Promise<FilePlacement> {
    const sandbox = await this.#o.getSandbox(target.namespace, target.name);
    const placed = runningSandbox(sandbox, "files are reachable only in a Running sandbox");
    const files = this.#o.agentFiles(placed.agentId);
    if (!files) throw unreachableAgent(placed);
    return { files, sandboxId: placed.sandboxId };
  }
}
