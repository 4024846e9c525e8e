// The command tree without a server: help with examples everywhere, -o checks, and how errors read.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { FastSandboxError, InvalidArgumentError, NotFoundError } from "@fast-sandbox/sdk";
import { CommanderError } from "commander";
import { type CliIo, createCliContext } from "./cli-context.ts";
import { CliError, ExitCode, exitCodeOfAll } from "./cli-error.ts";
import { buildProgram } from "./program.ts";
import { describeError, reportError } from "./report-error.ts";

function fakeIo(args: string[] = []): CliIo & { out(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  stderr.on("data", (d: Buffer) => (out += d.toString()));
  return {
    stdin: new PassThrough(),
    stdout,
    stderr,
    env: {},
    cwd: "/nowhere",
    home: "/nowhere",
    args,
    out: () => out,
  };
}

async function help(path: string[]): Promise<string> {
  const io = fakeIo();
  const { command } = buildProgram(createCliContext(io));
  await assert.rejects(command.parseAsync([...path, "--help"], { from: "user" }), (err: unknown) => {
    assert.ok(err instanceof CommanderError && err.exitCode === 0, String(err));
    return true;
  });
  return io.out();
}

describe("fsb-ctl program", () => {
  const { command: program } = buildProgram(createCliContext(fakeIo()));
  const paths = program.commands.flatMap((c) =>
    c.commands.length ? [[c.name()], ...c.commands.map((s) => [c.name(), s.name()])] : [[c.name()]],
  );

  it("has the commands of the issue", () => {
    assert.deepEqual(
      program.commands.map((c) => [c.name(), ...c.aliases()].join("|")),
      [
        "run",
        "list|ls",
        "get",
        "logs",
        "exec",
        "cp",
        "delete|rm",
        "update",
        "reset",
        "apply",
        "pools",
        "config",
        "version",
        "completion",
      ],
    );
  });

  for (const path of paths) {
    it(`shows examples and the global flags in \`${path.join(" ")} --help\``, async () => {
      const text = await help(path);
      assert.match(text, /\nExamples:\n {2}# .+\n {2}\$ .*fsb-ctl /);
      for (const flag of ["--endpoint", "--token", "--namespace", "--context", "--output"])
        assert.ok(text.includes(flag), `${path.join(" ")} --help lacks ${flag}`);
    });
  }

  it("says how to remove a label in update's help", async () => {
    assert.match(await help(["update"]), /remove it with KEY-/);
  });

  it("has pools list|ls, get and delete|rm", () => {
    const pools = program.commands.find((c) => c.name() === "pools");
    assert.deepEqual(
      pools?.commands.map((c) => [c.name(), ...c.aliases()].join("|")),
      ["list|ls", "get", "delete|rm"],
    );
  });

  it("shows a SandboxPool document in apply's help", async () => {
    assert.match(await help(["apply"]), /kind: SandboxPool\n[\s\S]*capacity: \{poolMin: 1, poolMax: 10/);
  });

  it("refuses an -o that pools list cannot print, and any -o for pools delete", async () => {
    const { command } = buildProgram(createCliContext(fakeIo()));
    await assert.rejects(
      command.parseAsync(["pools", "ls", "-o", "table"], { from: "user" }),
      /pools list cannot print "-o table"/,
    );
    await assert.rejects(
      command.parseAsync(["pools", "rm", "p", "-o", "json"], { from: "user" }),
      /pools delete does not take -o/,
    );
  });

  it("refuses apply without -f as a usage error", async () => {
    const { command } = buildProgram(createCliContext(fakeIo()));
    await assert.rejects(command.parseAsync(["apply"], { from: "user" }), (err: unknown) => {
      assert.ok(err instanceof CliError && err.exitCode === ExitCode.invalidInput, String(err));
      return true;
    });
  });

  it("refuses -o for a command that prints no data, before running it", async () => {
    const io = fakeIo();
    const { command } = buildProgram(createCliContext(io));
    await assert.rejects(
      command.parseAsync(["logs", "x", "-o", "json"], { from: "user" }),
      /logs does not take -o/,
    );
  });
});

describe("describeError", () => {
  it("turns commander's messages into one line with a hint for the command", () => {
    const report = describeError(
      new CommanderError(1, "commander.unknownOption", "error: unknown option '--x'"),
      "run",
    );
    assert.deepEqual(report, {
      message: "unknown option '--x'",
      hint: "see `fsb-ctl run --help`",
      exitCode: ExitCode.invalidInput,
    });
  });

  it("keeps commander's suggestion as the hint", () => {
    const err = new CommanderError(
      1,
      "commander.unknownCommand",
      "error: unknown command 'lst'\n(Did you mean ls?)",
    );
    assert.equal(describeError(err, undefined).hint, "did you mean ls?");
  });

  it("keeps the SDK's hint and exits 1", () => {
    const err = new NotFoundError("sandbox default/x not found", {
      code: "not_found",
      hint: "check the name",
    });
    assert.deepEqual(describeError(err, "get"), {
      message: "sandbox default/x not found",
      hint: "check the name",
      exitCode: 1,
    });
  });

  it("exits 2 for the server's INVALID_ARGUMENT, as for a bad flag, and 1 for other refusals", () => {
    const invalid = new InvalidArgumentError("is not a valid label key", {
      code: "invalid_argument",
      field: "labels",
      hint: "fix the request",
    });
    assert.deepEqual(describeError(invalid, "update"), {
      message: "labels: is not a valid label key",
      hint: "fix the request",
      exitCode: ExitCode.invalidInput,
    });
    const precondition = new FastSandboxError("the sandbox has expired", { code: "failed_precondition" });
    assert.equal(describeError(precondition, "reset").exitCode, ExitCode.failure);
    assert.equal(describeError(new Error("a bug"), "run").exitCode, ExitCode.failure);
  });

  it("several failures exit 2 only when every one is invalid input", () => {
    const invalid = new InvalidArgumentError("bad name", { code: "invalid_argument", field: "name" });
    const missing = new NotFoundError("not found", { code: "not_found" });
    assert.equal(exitCodeOfAll([invalid, invalid]), ExitCode.invalidInput);
    assert.equal(exitCodeOfAll([invalid, missing]), ExitCode.failure);
    assert.equal(exitCodeOfAll([]), ExitCode.failure);
  });

  it("writes one Error line and one hint line, without colour off a terminal", () => {
    const io = fakeIo();
    const code = reportError(new CliError("two\nlines", { hint: "do this" }), "run", io.stderr, {});
    assert.equal(code, 1);
    assert.equal(io.out(), "Error: two; lines\nhint: do this\n");
  });
});
