/**
 * Test fixtures for the isolated network, on the real kernel: an "outside" namespace standing in for
 * the internet and the node's private and metadata networks (so no test packet ever leaves the
 * machine), listeners, and a probe that connects from inside a namespace. Everything made here is
 * removed by {@link OutsideNetwork.remove}, which a test calls in `after`, failed or not.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";

/** What a connect attempt from inside a namespace came to, and how long it took. */
export interface ProbeResult {
  outcome: string;
  ms: number;
}

const SERVER = `
const net = require("node:net");
net.createServer((s) => s.end(process.argv[1] ?? "hello")).listen(Number(process.argv[2]), process.argv[3] ?? "0.0.0.0", () => console.log("listening"));
`;

const PROBE = `
const net = require("node:net");
const [host, port, source] = process.argv.slice(1);
const started = Date.now();
const done = (outcome) => { console.log(JSON.stringify({ outcome, ms: Date.now() - started })); process.exit(0); };
const socket = net.connect({ host, port: Number(port), ...(source ? { localAddress: source } : {}) });
socket.setTimeout(Number(process.env.PROBE_TIMEOUT_MS ?? 1500), () => done("timeout"));
let data = "";
socket.on("data", (d) => (data += d));
socket.on("end", () => done("read:" + data));
socket.on("error", (e) => done(e.code ?? e.message));
`;

export function sh(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { encoding: "utf8" });
}

/** Connects from inside `netns` to host:port (optionally from `source`); node runs the probe there. */
export async function probe(
  netns: string,
  host: string,
  port: number,
  source?: string,
): Promise<ProbeResult> {
  const child = spawn(
    "ip",
    ["netns", "exec", netns, process.execPath, "-e", PROBE, host, String(port), ...(source ? [source] : [])],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  await once(child, "close");
  return JSON.parse(out) as ProbeResult;
}

/** Connects from the host itself. */
export async function probeFromHost(host: string, port: number): Promise<ProbeResult> {
  const child = spawn(process.execPath, ["-e", PROBE, host, String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  await once(child, "close");
  return JSON.parse(out) as ProbeResult;
}

/** Starts a TCP server inside `netns` that answers `reply` and closes; resolves once it listens. */
export async function listenIn(
  netns: string | undefined,
  port: number,
  reply: string,
  host = "0.0.0.0",
): Promise<ChildProcess> {
  const argv = [process.execPath, "-e", SERVER, reply, String(port), host];
  const child = netns
    ? spawn("ip", ["netns", "exec", netns, ...argv], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
    child.once("exit", (code) => reject(new Error(`server in ${netns ?? "host"} exited with ${code}`)));
  });
  return child;
}

/**
 * A namespace reached from the host through a veth, holding the addresses the tests connect to:
 * a public-looking one (TEST-NET-2), a private one and the cloud metadata address. Routes send
 * those addresses here, so traffic to them stays on this machine whatever the firewall does. The
 * routes live in a routing table of their own, chosen by `ip rule`, not in the main table: an
 * agent restricts the networks of the main table (the node's own), and this stands in for the internet.
 */
export class OutsideNetwork {
  readonly name: string;
  readonly #hostVeth: string;
  readonly #table: string;
  /** The /30 of TEST-NET-2 between the host and this namespace, and the host's end of it. */
  readonly #link: { cidr: string; host: string };
  readonly addresses: { public: string; private: string; metadata: string };
  #servers: ChildProcess[] = [];

  /**
   * `slot` (0-63) picks the /30 of TEST-NET-2 (198.51.100.4·slot) and the private address
   * (10.99.slot.2), so suites that may run side by side each reach their own outside.
   */
  constructor(tag: string, slot = 0) {
    const base = 4 * slot;
    this.#link = { cidr: `198.51.100.${base}/30`, host: `198.51.100.${base + 1}` };
    this.addresses = {
      public: `198.51.100.${base + 2}`,
      private: `10.99.${slot}.2`,
      metadata: "169.254.169.254",
    };
    this.name = `fsbt-out-${tag}`;
    this.#hostVeth = `fsbto${tag}`.slice(0, 15);
    // A routing table per test process, so suites running side by side keep out of each other's way.
    this.#table = String(10_000 + (Number(tag.replace(/\D/g, "")) % 50_000));
  }

  async create(port: number): Promise<void> {
    sh("ip", ["netns", "add", this.name]);
    sh("ip", ["link", "add", this.#hostVeth, "type", "veth", "peer", "name", "eth0", "netns", this.name]);
    sh("ip", ["addr", "add", `${this.#link.host}/30`, "dev", this.#hostVeth, "noprefixroute"]);
    sh("ip", ["link", "set", this.#hostVeth, "up"]);
    sh("ip", ["route", "add", this.#link.cidr, "dev", this.#hostVeth, "table", this.#table]);
    sh("ip", ["rule", "add", "to", this.#link.cidr, "lookup", this.#table]);
    const inside = (...args: string[]) => sh("ip", ["-n", this.name, ...args]);
    inside("link", "set", "lo", "up");
    inside("addr", "add", `${this.addresses.public}/30`, "dev", "eth0");
    inside("addr", "add", `${this.addresses.private}/32`, "dev", "eth0");
    inside("addr", "add", `${this.addresses.metadata}/32`, "dev", "eth0");
    inside("link", "set", "eth0", "up");
    inside("route", "add", "default", "via", this.#link.host);
    for (const address of [this.addresses.private, this.addresses.metadata]) {
      sh("ip", [
        "route",
        "add",
        `${address}/32`,
        "via",
        this.addresses.public,
        "dev",
        this.#hostVeth,
        "table",
        this.#table,
      ]);
      sh("ip", ["rule", "add", "to", `${address}/32`, "lookup", this.#table]);
    }
    this.#servers.push(await listenIn(this.name, port, "outside"));
  }

  async remove(): Promise<void> {
    for (const server of this.#servers) server.kill("SIGKILL");
    for (const to of [this.#link.cidr, `${this.addresses.private}/32`, `${this.addresses.metadata}/32`]) {
      try {
        sh("ip", ["rule", "del", "to", to, "lookup", this.#table]);
      } catch {}
    }
    try {
      sh("ip", ["route", "flush", "table", this.#table]);
    } catch {}
    try {
      sh("ip", ["link", "del", this.#hostVeth]);
    } catch {}
    try {
      sh("ip", ["netns", "del", this.name]);
    } catch {}
  }
}
