// The flag-table engine: where a value comes from, whom an error blames, lazy parsing and the help text.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { absolute, choice, duration, httpUrl, int, text, toggle } from "./flag-rows.ts";
import { flagUsage, readFlags } from "./flag-table.ts";

const table = {
  port: int("PORT", "port to listen on", { default: 80, min: 1, max: 65535 }),
  slots: int("N", "how many", { env: ["SLOTS"], blameEnv: true, default: 5, min: 1, max: 9 }),
  name: text("NAME", "a name", { env: ["FIRST", "SECOND"], shows: "the hostname" }),
  dir: absolute("DIR", "a directory", { default: "/var/x" }),
  wait: duration("how long", { default: "10s", atLeastMs: 1000 }),
  mode: choice("M", "fast or slow", ["fast", "slow"], "fast or slow", { default: "fast" }),
  url: httpUrl("where to call", { env: ["URL"], blankIsUnset: true }),
  verbose: toggle("say more"),
};
const usage = flagUsage({ head: "Usage: demo [flags]\n\nDoes nothing." }, table);

function values(argv: string[], env: Record<string, string> = {}) {
  const parsed = readFlags(table, argv, env, usage);
  if (parsed.help) throw new Error("unexpected help");
  return parsed.values;
}

function fieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof FsbError && err.code === ErrorCode.InvalidArgument, String(err));
    return err.field;
  }
  assert.fail("expected INVALID_ARGUMENT");
}

describe("readFlags", () => {
  it("gives each row's default when nothing is given", () => {
    const v = values([]);
    assert.deepEqual(
      [v.port, v.slots, v.name, v.dir, v.wait, v.mode, v.url, v.verbose],
      [80, 5, undefined, "/var/x", 10_000, "fast", undefined, false],
    );
  });

  it("takes the flag over the environment, and environment variables in order", () => {
    assert.equal(values(["--name", "flag"], { FIRST: "a", SECOND: "b" }).name, "flag");
    assert.equal(values([], { FIRST: "a", SECOND: "b" }).name, "a");
    assert.equal(values([], { SECOND: "b" }).name, "b");
    assert.equal(values(["--slots=7", "--verbose"], { SLOTS: "2" }).slots, 7);
    assert.equal(values(["--verbose"]).verbose, true);
  });

  it("blames the environment variable only for a blameEnv row whose value came from it", () => {
    assert.equal(
      fieldOf(() => values([], { SLOTS: "99" }).slots),
      "SLOTS",
    );
    assert.equal(
      fieldOf(() => values(["--slots", "99"], { SLOTS: "2" }).slots),
      "--slots",
    );
    assert.equal(
      fieldOf(() => values([], { URL: "ftp://x" }).url),
      "--url",
    );
  });

  it("checks a value only when it is read", () => {
    const v = values(["--port", "0", "--wait", "10ms"]);
    assert.equal(v.mode, "fast");
    assert.equal(
      fieldOf(() => v.port),
      "--port",
    );
    assert.equal(
      fieldOf(() => v.wait),
      "--wait",
    );
  });

  it("counts a blank URL as none when the row says so", () => {
    assert.equal(values([], { URL: "" }).url, undefined);
  });

  it("answers help before reading any value, and refuses unknown flags with the usage", () => {
    assert.equal(readFlags(table, ["--port", "x", "-h"], {}, usage).help, true);
    assert.throws(
      () => readFlags(table, ["--nope"], {}, usage),
      (err) => err instanceof FsbError && /--nope/.test(err.message) && err.message.endsWith(usage),
    );
  });
});

describe("flagUsage", () => {
  it("lists every row with its environment, default and range, then -h", () => {
    const lines = usage.split("\n");
    assert.equal(lines[0], "Usage: demo [flags]");
    assert.ok(lines.includes("Flags:"));
    assert.ok(usage.includes("--slots N"));
    assert.match(usage, /how many \(env SLOTS; default 5; 1-9\)/);
    assert.match(usage, /a name \(env FIRST or SECOND; default the hostname\)/);
    assert.match(usage, /--verbose +say more\n/);
    assert.match(usage, / {2}-h, --help +show this help\n$/);
  });

  it("wraps long help under its own column", () => {
    const long = { flag: text("X", "word ".repeat(60).trim()) };
    const lines = flagUsage({ head: "Usage: x" }, long).split("\n");
    const rows = lines.slice(lines.indexOf("Flags:") + 1, -2);
    assert.ok(rows.length > 1);
    for (const row of rows) assert.ok(row.length <= 110, row);
    const column = rows[0]!.indexOf("word");
    for (const row of rows.slice(1)) assert.equal(row.indexOf("word"), column);
  });
});
