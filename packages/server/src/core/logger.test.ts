// Text on a terminal, JSON anywhere else: in process, and for a real entry point's stdout.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";
import { createLogger, type LogFormat } from "./logger.ts";

/** A stream that records what is written, and claims to be a terminal or not. */
function sink(isTTY: boolean) {
  const lines: string[] = [];
  return { isTTY, lines, write: (text: string) => lines.push(text) };
}

function logOnce(format: LogFormat, isTTY: boolean, env: Record<string, string> = {}): string {
  const out = sink(isTTY);
  createLogger({ name: "fsb-test", level: "info", format, out, env, bindings: { agentId: "a1" } }).info(
    { pool: "p" },
    "hello",
  );
  assert.equal(out.lines.length, 1);
  return out.lines[0]!;
}

describe("createLogger", () => {
  it("auto: JSON when stdout is not a terminal (a file, a pipe, a Pod's log)", () => {
    const record = JSON.parse(logOnce("auto", false));
    assert.deepEqual(
      { name: record.name, agentId: record.agentId, pool: record.pool, msg: record.msg, level: record.level },
      { name: "fsb-test", agentId: "a1", pool: "p", msg: "hello", level: 30 },
    );
  });

  it("auto: coloured text on a terminal", () => {
    const text = logOnce("auto", true).replaceAll("\x1b[", "ESC[");
    assert.match(text, /^ESC\[2m\d\d:\d\d:\d\d\.\d{3}ESC\[0m ESC\[32mINFO ESC\[0m ESC\[36mfsb-test/);
    assert.match(text, / hello ESC\[2magentId=ESC\[0ma1 ESC\[2mpool=ESC\[0mp\n$/);
  });

  it("respects NO_COLOR on a terminal", () => {
    assert.match(
      logOnce("auto", true, { NO_COLOR: "1" }),
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}fsb-test hello agentId=a1 pool=p\n$/,
    );
  });

  it("json and text are taken as asked, whatever the stream", () => {
    assert.equal(JSON.parse(logOnce("json", true)).msg, "hello");
    assert.match(
      logOnce("text", false),
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}fsb-test hello agentId=a1 pool=p\n$/,
    );
  });
});

function withoutLogFormat(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { LOG_FORMAT: _, ...rest } = env;
  return rest;
}

describe("an entry point's log lines", () => {
  const agent = path.resolve(import.meta.dirname, "../bin/fsb-agent.ts");
  // A containerd socket that does not exist: the agent logs a warning and a failed start, then exits 1.
  const run = (extra: string[], env: Record<string, string> = {}) =>
    spawnSync(
      process.execPath,
      [
        agent,
        "--insecure",
        "--containerd-socket",
        "/nonexistent/containerd.sock",
        "--agent-id",
        "log-test",
        ...extra,
      ],
      { encoding: "utf8", env: { ...withoutLogFormat(process.env), ...env }, timeout: 20_000 },
    );

  it("are JSON through a pipe, every one of them (e2e tests and log collectors parse them)", () => {
    const result = run([]);
    assert.equal(result.status, 1, result.stderr);
    const records = result.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      records.map((r) => [r.level, r.agentId, r.msg]),
      [
        [
          40,
          "log-test",
          "running without an API token (--insecure): anyone who can reach the port controls it",
        ],
        [60, "log-test", "failed to start"],
      ],
    );
  });

  it("are text with --log-format text (or LOG_FORMAT=text), the stack below the failure", () => {
    for (const result of [run(["--log-format", "text"]), run([], { LOG_FORMAT: "text" })]) {
      assert.equal(result.status, 1, result.stderr);
      const lines = result.stdout.split("\n");
      assert.match(
        lines[0]!,
        /^\d\d:\d\d:\d\d\.\d{3} WARN {2}fsb-agent running without an API token .* agentId=log-test$/,
      );
      assert.match(lines[1]!, /^\d\d:\d\d:\d\d\.\d{3} FATAL fsb-agent failed to start agentId=log-test$/);
      assert.match(lines[2]!, /^ {4}FsbError: containerd: connect to \/nonexistent\/containerd\.sock/);
    }
  });

  it("refuses an unknown format in one line, exit 2", () => {
    const result = run(["--log-format", "pretty"]);
    assert.equal(result.status, 2);
    assert.equal(result.stderr, 'fsb-agent: --log-format: "pretty" is not auto, json or text\n');
  });
});
