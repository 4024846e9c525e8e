/** The controller's configuration in a standalone system: its defaults there, then the user's flags. */
import path from "node:path";
import { invalidArgument } from "@fast-sandbox/api";
import { type ParsedControllerArgs, parseControllerConfig } from "../controller/controller-config.ts";
import { DEFAULT_HEALTH_PROBES, type StandaloneConfig } from "./standalone-config.ts";
import { STANDALONE_NAMESPACE } from "./standalone-system.ts";

/**
 * The default pool `npm start` creates on first start: 1 to 4 agents of 5 slots, keeping 2 slots
 * free for the next creates and draining agents when more than 7 sit idle.
 */
const DEFAULT_POOL_FLAGS = [
  "--local-agents",
  "1",
  "--pool-max",
  "4",
  "--local-agent-capacity",
  "5",
  "--pool-buffer-min",
  "2",
  "--pool-buffer-max",
  "7",
];

/**
 * Parses the controller's flags as the standalone runs it: data under the state directory, the
 * default pool, probes off the agents' ports; the user's flags come last and win. The containerd
 * socket is the standalone's to choose (`--containerd`), so the controller's flag for it is refused;
 * so is `--log-format`, which would be read by nothing: every log of the system goes to a file
 * under the state directory, as JSON.
 */
export function standaloneControllerConfig(
  config: StandaloneConfig,
  tokens: { token: string; agentToken: string },
  env: Readonly<Record<string, string | undefined>>,
): ParsedControllerArgs {
  if (
    config.controllerArgs.some((a) => a === "--containerd-socket" || a.startsWith("--containerd-socket="))
  ) {
    throw invalidArgument("--containerd-socket", "fsb-standalone picks its containerd with --containerd");
  }
  if (config.controllerArgs.some((a) => a === "--log-format" || a.startsWith("--log-format="))) {
    throw invalidArgument(
      "--log-format",
      "fsb-standalone writes every log to a file under --state-dir, as JSON (run fsb-controller for text logs on a terminal)",
    );
  }
  return parseControllerConfig(
    [
      "--data-dir",
      path.join(config.stateDir, "controller"),
      "--containerd-namespace",
      STANDALONE_NAMESPACE,
      ...DEFAULT_POOL_FLAGS,
      "--health-probe-bind-address",
      DEFAULT_HEALTH_PROBES,
      ...config.controllerArgs,
    ],
    { ...env, FSB_TOKEN: tokens.token, FSB_AGENT_TOKEN: tokens.agentToken },
    // No token file is read: the tokens are given.
    (p) => p,
  );
}
