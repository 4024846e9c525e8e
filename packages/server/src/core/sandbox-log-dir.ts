/** Where a node keeps its sandboxes' logs by default: the agent writes there, the janitor cleans there, the agent Pod mounts it. */

/** The host directory of sandbox log files when `--log-dir` is not given (agent and janitor alike). */
export const DEFAULT_LOG_DIR = "/var/log/fast-sandbox";
