// The bash completion script, run by bash: commands, flags, subcommands and argument choices.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createCliContext } from "./cli-context.ts";
import { completionScript } from "./completion-script.ts";
import { buildProgram } from "./program.ts";

const io = {
  stdin: new PassThrough(),
  stdout: new PassThrough(),
  stderr: new PassThrough(),
  env: {},
  cwd: "/",
  home: "/",
  args: [],
};
const { command: program } = buildProgram(createCliContext(io));

/** What bash offers after `words` (the last one being the word under the cursor). */
function complete(...words: string[]): string[] {
  const script = completionScript(program, "bash");
  const line = `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _fsb_ctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
  // PATH without fsb-ctl: sandbox names then complete to nothing instead of calling a server.
  return execFileSync("bash", ["-c", `${script}\n${line}`], { env: { PATH: "/usr/bin:/bin" } })
    .toString()
    .split("\n")
    .filter(Boolean);
}

describe("bash completion", () => {
  const cases: Array<[string[], string[]]> = [
    [["fsb-ctl", "e"], ["exec"]],
    [
      ["fsb-ctl", "r"],
      ["run", "rm", "reset"],
    ],
    [
      ["fsb-ctl", "-n", "team", "l"],
      ["list", "ls", "logs"],
    ],
    [["fsb-ctl", "run", "--im"], ["--image"]],
    [
      ["fsb-ctl", "ls", "-o", ""],
      ["json", "yaml", "wide", "name"],
    ],
    [
      ["fsb-ctl", "run", "--mode", ""],
      ["fast", "strong"],
    ],
    [
      ["fsb-ctl", "config", ""],
      ["view", "set", "use-context"],
    ],
    [
      ["fsb-ctl", "config", "set", ""],
      ["endpoint", "token", "token-file", "namespace"],
    ],
    [
      ["fsb-ctl", "completion", ""],
      ["bash", "zsh"],
    ],
    [
      ["fsb-ctl", "logs", "--t"],
      ["--tail", "--token"],
    ],
    [["fsb-ctl", "a"], ["apply"]],
    [
      ["fsb-ctl", "exec", "--t"],
      ["--tty", "--timeout", "--token"],
    ],
    [
      ["fsb-ctl", "pools", ""],
      ["list", "get", "delete"],
    ],
    [["fsb-ctl", "pools", "ls", "--a"], ["--all-namespaces"]],
    [["fsb-ctl", "pools", "rm", "--f"], ["--force"]],
    [
      ["fsb-ctl", "apply", "-f", `${import.meta.dirname}/bin/fsb-c`],
      [`${import.meta.dirname}/bin/fsb-ctl.ts`],
    ],
  ];
  for (const [words, expected] of cases) {
    it(`offers ${expected.join(" ")} after "${words.slice(1).join(" ")}"`, () => {
      assert.deepEqual(complete(...words), expected);
    });
  }

  it("completes pool names from `pools list -o name` for pools get and delete", () => {
    const script = completionScript(program, "bash");
    assert.match(script, /get\) if .*compgen -W "\$\(fsb-ctl pools list -o name 2>\/dev\/null\)"/);
    assert.match(script, /delete\|rm\) if .*fsb-ctl pools list -o name/);
  });

  it("serves zsh through bashcompinit", () => {
    assert.match(
      completionScript(program, "zsh"),
      /bashcompinit && bashcompinit\n[\s\S]*complete -F _fsb_ctl fsb-ctl/,
    );
  });
});
