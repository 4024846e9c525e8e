/** fsb-standalone's own flags (state directory, containerd, janitor port, CLI config), parsed with no side effects. */
import path from "node:path";
import { invalidArgument } from "@fast-sandbox/api";
import { type BindAddress, bindAddress } from "../core/bind-address.ts";

/** Which containerd the system runs on. */
export type ContainerdChoice =
  /** The node's (/run/containerd/containerd.sock) when it answers, else a private one. */
  | { kind: "auto" }
  /** Always a private one under the state directory. */
  | { kind: "private" }
  /** This socket, as it is. */
  | { kind: "socket"; socketPath: string };

export interface StandaloneConfig {
  /** Holds the instance lock, tokens, the private containerd, the controller's data and every log. */
  stateDir: string;
  containerd: ContainerdChoice;
  /** The janitor's metrics and health endpoint. */
  janitorMetrics: BindAddress;
  /** Where the fsb-ctl config (endpoint and token file) is written. */
  cliConfigFile: string;
  /** Every other argument, for fsb-controller's parser (which refuses what it does not know). */
  controllerArgs: string[];
}

export type ParsedStandaloneArgs = { help: true; usage: string } | { help: false; config: StandaloneConfig };

/** The janitor's metrics, beside the controller's (:9091) and its probes (:9092). */
export const DEFAULT_JANITOR_METRICS = "127.0.0.1:9093";
/** The controller's probes: the agents take :5758 and up, so the probes (also on the API port) move out of their way. */
export const DEFAULT_HEALTH_PROBES = "127.0.0.1:9092";

export function usage(root: string): string {
  return `Usage: npm start [-- flags]   (node packages/server/src/bin/fsb-standalone.ts [flags])

Runs all of Fast Sandbox on this machine, in the foreground: containerd (the node's if its socket
answers, else a private one), fsb-controller with its embedded store, the default pool's agents and
the janitor. Ctrl-C stops them in order; sandboxes keep running and the next start adopts them.
One instance per state directory: a second start beside a live one is refused (exit 2).

Flags:
  --state-dir DIR                     instance lock, tokens, private containerd, controller data and
                                      logs (env FSB_STATE_DIR; default ${path.join(root, ".fsb-dev")})
  --containerd auto|private|SOCKET    which containerd: the node's if it answers else a private one
                                      (auto), always a private one, or this socket (env
                                      FSB_CONTAINERD_SOCKET; default auto)
  --janitor-metrics-bind-address ADDR the janitor's /metrics and /healthz (default ${DEFAULT_JANITOR_METRICS})
  --cli-config PATH                   the fsb-ctl config written for this system (default
                                      ${path.join(root, ".fsb/config.yaml")})
  -h, --help                          show this help

Every other flag goes to fsb-controller (bin/fsb-controller --help lists them). Ports, with the flag
that moves each: --api-bind-address (default :9090), --metrics-bind-address (:9091),
--health-probe-bind-address (${DEFAULT_HEALTH_PROBES}), --janitor-metrics-bind-address (${DEFAULT_JANITOR_METRICS}),
--agent-port (5758 and up; 0 = any free port).

Environment: FSB_TOKEN and FSB_AGENT_TOKEN replace the token files; FSB_CONTAINERD_STATE is the
state directory of a containerd given by socket (for the janitor; default /run/containerd);
--log-level (or LOG_LEVEL) sets the log level of <state-dir>/standalone.log. Every log of the system is a JSON-lines
file under the state dir, so the controller's --log-format is refused here.
`;
}

/** The standalone's flags; each takes a value, as `--flag value` or `--flag=value`. */
const OWN_FLAGS = ["state-dir", "containerd", "janitor-metrics-bind-address", "cli-config"] as const;
type OwnFlag = (typeof OWN_FLAGS)[number];

/**
 * Takes the standalone's own flags out of `argv` and leaves the rest, in order, for the controller.
 * `root` is the repository, where the default state directory and CLI config live.
 */
export function parseStandaloneArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  root: string,
): ParsedStandaloneArgs {
  const own = new Map<OwnFlag, string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") return { help: true, usage: usage(root) };
    const [name, inline] = arg.startsWith("--") ? splitOnce(arg.slice(2), "=") : [undefined, undefined];
    const flag = OWN_FLAGS.find((f) => f === name);
    if (!flag) {
      rest.push(arg);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith("--"))) {
      throw invalidArgument(`--${flag}`, "needs a value");
    }
    own.set(flag, value);
  }

  return {
    help: false,
    config: {
      // Relative paths are taken from the working directory, as a shell user expects.
      stateDir: path.resolve(own.get("state-dir") ?? env.FSB_STATE_DIR ?? path.join(root, ".fsb-dev")),
      containerd: containerdChoice(own.get("containerd") ?? env.FSB_CONTAINERD_SOCKET ?? "auto"),
      janitorMetrics: bindAddress(
        own.get("janitor-metrics-bind-address") ?? DEFAULT_JANITOR_METRICS,
        "--janitor-metrics-bind-address",
      ),
      cliConfigFile: path.resolve(own.get("cli-config") ?? path.join(root, ".fsb/config.yaml")),
      controllerArgs: rest,
    },
  };
}

function containerdChoice(raw: string): ContainerdChoice {
  if (raw === "auto" || raw === "private") return { kind: raw };
  if (raw.startsWith("/")) return { kind: "socket", socketPath: raw };
  throw invalidArgument("--containerd", `"${raw}" is not auto, private or an absolute socket path`);
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const at = s.indexOf(sep);
  return at < 0 ? [s, undefined] : [s.slice(0, at), s.slice(at + 1)];
}
