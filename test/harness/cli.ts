/** Runs bin/fsb-ctl for end-to-end tests: in a private HOME and cwd, to completion, until Ctrl-C, or in tmux. */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const root = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
export const FSB_CTL = path.join(root, "bin/fsb-ctl");
/** A CLI call that takes longer than this is hung, not slow. */
const RUN_TIMEOUT_MS = 30_000;
const WAIT_TIMEOUT_MS = 15_000;

/** Makes bin/fsb-ctl; idempotent, and `npm test` has usually done it already (scripts/setup.sh). */
export async function buildCli(): Promise<void> {
  await run("make", ["--no-print-directory", "--silent", "build"], { cwd: root });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Written to stdin, which is then closed; without it stdin is /dev/null (no terminal). */
  input?: string;
}

/** A fsb-ctl left running (`logs -f`, `ls -w`): wait for output, then Ctrl-C it. */
export interface CliProcess {
  output(): string;
  waitFor(pattern: RegExp): Promise<string>;
  /** Sends SIGINT, as Ctrl-C does, and resolves with how it ended. */
  interrupt(): Promise<CliResult>;
}

/** A private HOME and working directory, and an environment free of the developer's FSB_* settings. */
export interface CliWorkspace {
  home: string;
  cwd: string;
  env: Record<string, string>;
  run(args: string[], options?: CliOptions): Promise<CliResult>;
  start(args: string[], options?: CliOptions): CliProcess;
  /** Writes ./.fsb/config.yaml as `npm start` does: a context with the endpoint and a token file. */
  writeStandaloneConfig(target: { url: string; token: string }): Promise<void>;
  cleanup(): Promise<void>;
}

export async function cliWorkspace(): Promise<CliWorkspace> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fsb-ctl-cli-"));
  const home = path.join(dir, "home");
  const cwd = path.join(dir, "work");
  await mkdir(home);
  await mkdir(cwd);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith("FSB_")) continue;
    if (["XDG_CACHE_HOME", "NO_COLOR", "EDITOR", "VISUAL"].includes(key)) continue;
    env[key] = value;
  }
  env.HOME = home;
  const withEnv = (o: CliOptions) => ({ ...env, ...o.env });
  return {
    home,
    cwd,
    env,
    run: (args, o = {}) => runCli(args, { ...o, cwd: o.cwd ?? cwd, env: withEnv(o) }),
    start: (args, o = {}) => startCli(args, { ...o, cwd: o.cwd ?? cwd, env: withEnv(o) }),
    async writeStandaloneConfig(target) {
      const tokenFile = path.join(dir, "api-token");
      await writeFile(tokenFile, `${target.token}\n`);
      await mkdir(path.join(cwd, ".fsb"), { recursive: true });
      await writeFile(
        path.join(cwd, ".fsb/config.yaml"),
        [
          "# Written like `npm start` writes it.",
          "current-context: standalone",
          "contexts:",
          "  standalone:",
          `    endpoint: ${target.url}`,
          `    tokenFile: ${tokenFile}`,
          "    namespace: default",
          "",
        ].join("\n"),
      );
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Without `undefined` values, which spawn would pass as the string "undefined". */
function cleanEnv(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(FSB_CTL, args, {
      cwd: options.cwd ?? root,
      env: cleanEnv(options.env ?? process.env),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`fsb-ctl ${args.join(" ")} hung:\n${stdout}\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function startCli(args: string[], options: CliOptions = {}): CliProcess {
  const child = spawn(FSB_CTL, args, {
    cwd: options.cwd ?? root,
    env: cleanEnv(options.env ?? process.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<CliResult>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return {
    output: () => stdout,
    waitFor: (pattern) =>
      poll(
        () => pattern.exec(stdout)?.[0],
        () => `no ${pattern} in the output of fsb-ctl ${args.join(" ")}:\n${stdout}\n${stderr}`,
      ),
    async interrupt() {
      // The launcher execs node, so the child's PID is fsb-ctl itself.
      child.kill("SIGINT");
      return closed;
    },
  };
}

/** A tmux session on a private server socket: a real terminal for prompts, spinners and colour. */
export interface TerminalSession {
  /** The screen as text; with `escapes`, with its colours and attributes as SGR sequences. */
  capture(options?: { escapes?: boolean }): Promise<string>;
  sendKeys(...keys: string[]): Promise<void>;
  waitFor(pattern: RegExp): Promise<string>;
  /** Kills this session (by its name) and with it the private server. */
  kill(): Promise<void>;
}

/** Runs `command` (a shell line) in a 200x50 terminal; the pane stays open after it ends. */
export async function startTerminal(command: string): Promise<TerminalSession> {
  const name = `fsb-ctl-test-${process.pid}-${randomBytes(3).toString("hex")}`;
  const tmux = (...args: string[]) => run("tmux", ["-L", name, ...args]);
  // The trailing sleep keeps the pane (and its output) until the test kills the session.
  await tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", `${command}; sleep 600`);
  const capture = async (o: { escapes?: boolean } = {}) =>
    (await tmux("capture-pane", "-p", ...(o.escapes ? ["-e"] : []), "-t", name)).stdout;
  return {
    capture,
    async sendKeys(...keys) {
      await tmux("send-keys", "-t", name, ...keys);
    },
    async waitFor(pattern) {
      let screen = "";
      return poll(
        async () => {
          screen = await capture();
          return pattern.exec(screen)?.[0];
        },
        () => `no ${pattern} on the terminal:\n${screen}`,
      );
    },
    async kill() {
      await tmux("kill-session", "-t", name).catch(() => {});
    },
  };
}

/** Single-quotes a word for a shell line. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

async function poll<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  describe: () => string,
): Promise<T> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((r) => setTimeout(r, 50));
  }
}
