// fsb-ctl run's input paths end to end: a scripted $EDITOR, the declarative YAML, and a real terminal (tmux).
import assert from "node:assert/strict";
import { chmod, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  buildCli,
  type CliResult,
  type CliWorkspace,
  cliWorkspace,
  FSB_CTL,
  shellQuote,
  startTerminal,
} from "../harness/cli.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

/** The flat form the editor template uses. */
const EDITED = `image: busybox
command: ["sh", "-c", "trap exit TERM; echo edited; sleep 600 & wait"]
env:
  WHO: editor
ports: [9091]
labels:
  made-by: editor
expireIn: 10m
`;

/** The seed's declarative YAML, as is (with the image the test agents hold). */
const DECLARATIVE = `apiVersion: sandbox.fast.io/v1alpha1
kind: Sandbox
metadata:
  name: declared
  namespace: default
spec:
  image: busybox
  command: ["sleep", "600"]
  exposedPorts: [8081]
  poolRef: default-pool
  consistencyMode: fast  # or strong
  failurePolicy: AutoRecreate
`;

describe("fsb-ctl run: editor, files and the terminal", () => {
  let ctl: ControllerProcess;
  let ws: CliWorkspace;
  let env: Record<string, string>;
  const conn = testConnection();
  const cli = (args: string[], extra: Record<string, string> = {}, input?: string) =>
    ws.run(args, { env: { ...env, ...extra }, ...(input !== undefined ? { input } : {}) });

  /** An $EDITOR that saves what it was shown, then writes `yaml` into the file it is given. */
  async function scriptedEditor(name: string, yaml: string): Promise<{ editor: string; shown: string }> {
    const editor = path.join(ws.cwd, `${name}.sh`);
    const shown = path.join(ws.cwd, `${name}.shown`);
    const content = path.join(ws.cwd, `${name}.yaml`);
    await writeFile(content, yaml);
    await writeFile(editor, `#!/bin/sh\ncp "$1" ${shellQuote(shown)}\ncat ${shellQuote(content)} > "$1"\n`);
    await chmod(editor, 0o755);
    return { editor, shown };
  }

  before(async () => {
    await buildCli();
    [ctl, ws] = await Promise.all([
      conn.then((c) => startControllerProcess({ socketPath: c.socketPath, localAgents: 2, capacity: 3 })),
      cliWorkspace(),
    ]);
    env = { FSB_ENDPOINT: ctl.url, FSB_TOKEN: ctl.token };
  });
  after(async () => {
    await ctl?.cleanup();
    await ws?.cleanup();
    (await conn).close();
  });

  it("creates what the scripted $EDITOR wrote (with --yes), from the template, and caches the edit", async () => {
    const { editor, shown } = await scriptedEditor("edit", EDITED);
    const created = ok(await cli(["run", "edited", "--yes"], { EDITOR: editor }));
    assert.match(created.stdout, /^sandbox edited created in \d+ ms$/m);
    const template = await readFile(shown, "utf8");
    for (const field of [
      "image:",
      "command:",
      "args:",
      "env:",
      "ports:",
      "pool:",
      "mode:",
      "failurePolicy:",
      "expireIn:",
    ])
      assert.match(template, new RegExp(`^#? ?${field}`, "m"), `the template shows ${field}`);
    const got = JSON.parse(ok(await cli(["get", "edited", "-o", "json"])).stdout);
    assert.deepEqual(
      { env: got.env, ports: got.exposedPorts, labels: got.labels, expires: got.expireTime !== undefined },
      {
        env: [{ name: "WHO", value: "editor" }],
        ports: [9091],
        labels: { "made-by": "editor" },
        expires: true,
      },
    );
    assert.equal(
      await readFile(path.join(ws.home, ".fsb/cache/run/default/edited.yaml"), "utf8"),
      EDITED,
      "the edit is cached under ~/.fsb/cache",
    );
    ok(await cli(["rm", "edited", "--wait"]));

    // The next run of the same name opens on the cached edit: an editor that changes nothing recreates it.
    const again = ok(await cli(["run", "edited", "--yes", "-o", "json"], { EDITOR: "true" }));
    assert.deepEqual(JSON.parse(again.stdout).labels, { "made-by": "editor" });
    ok(await cli(["rm", "edited", "--wait"]));
  });

  it("refuses to edit without a terminal unless --yes, before the editor opens", async () => {
    const marker = path.join(ws.cwd, "editor-ran");
    const result = await cli(["run", "no-tty"], { EDITOR: `touch ${shellQuote(marker)}; true` });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      "Error: cannot ask for confirmation without a terminal\nhint: pass --yes to create without asking\n",
    );
    await assert.rejects(readFile(marker), "the editor never opened");
  });

  it("an emptied file cancels (exit 1); invalid YAML names the problem, keeps the edit, exit 2", async () => {
    const empty = await scriptedEditor("empty", "# nothing\n");
    const cancelled = await cli(["run", "empty", "--yes"], { EDITOR: empty.editor });
    assert.equal(cancelled.code, 1);
    assert.match(cancelled.stderr, /^Error: the file was empty: sandbox empty not created$/m);

    const broken = await scriptedEditor("broken", "image: busybox\nports: [http]\n");
    const refused = await cli(["run", "broken", "--yes"], { EDITOR: broken.editor });
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr,
      'Error: your edit of broken: ports[0]: "http" is not a port number (1-65535)\nhint: your edit is kept: run `fsb-ctl run broken` again to fix it\n',
    );
    const { sandboxes } = await ctl.client.listSandboxes({});
    assert.deepEqual(sandboxes, [], "nothing was created");
  });

  it("-f takes the seed's declarative YAML as is, and the flat form from stdin", async () => {
    const file = path.join(ws.cwd, "declared.yaml");
    await writeFile(file, DECLARATIVE);
    const declared = JSON.parse(ok(await cli(["run", "-f", file, "-o", "json"])).stdout);
    assert.deepEqual(
      {
        name: declared.name,
        ports: declared.exposedPorts,
        policy: declared.failurePolicy,
        pool: declared.pool,
      },
      { name: "declared", ports: [8081], policy: "AutoRecreate", pool: "default-pool" },
    );
    const piped = ok(await cli(["run", "piped", "-f", "-", "--label", "via=stdin"], {}, EDITED));
    assert.match(
      piped.stdout,
      /^ {2}labels +made-by=editor,via=stdin$/m,
      "flags merge into the file's labels",
    );
    const bad = await cli(["run", "-f", "-"], {}, "apiVersion: v2\nkind: Sandbox\nspec: {image: busybox}\n");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^Error: stdin: apiVersion must be sandbox\.fast\.io\/v1alpha1$/m);
    ok(await cli(["rm", "declared", "piped", "--wait", "--grace-period", "0"]));
  });

  it("in a real terminal it asks for confirmation, and y creates", async () => {
    const { editor } = await scriptedEditor("tty", EDITED);
    const vars = { ...ws.env, ...env, EDITOR: editor };
    const assignments = Object.entries(vars)
      .filter(([key]) => /^(HOME|PATH|FSB_\w+|EDITOR)$/.test(key))
      .map(([key, value]) => `${key}=${shellQuote(value)}`)
      .join(" ");
    const fsbCtl = `env -i TERM="$TERM" ${assignments} ${FSB_CTL}`;
    // env -i: only what the test chose, plus the TERM tmux gives the pane. Then a list without colour.
    const terminal = await startTerminal(
      `cd ${shellQuote(ws.cwd)} && ${fsbCtl} run in-tty; echo "exit=$?"; ${fsbCtl.replace("env -i", "env -i NO_COLOR=1")} ls; echo "listed=$?"`,
    );
    try {
      await terminal.waitFor(/Create sandbox in-tty\? \[y\/N\]/);
      await terminal.sendKeys("y", "Enter");
      const screen = await terminal.waitFor(/listed=\d+/);
      const all = await terminal.capture();
      assert.equal(screen, "listed=0", all);
      assert.match(all, /^exit=0$/m);
      assert.match(all, /^sandbox in-tty created in \d+ ms$/m);
      assert.match(all, /^ {2}endpoints +[\d.]+:9091$/m);
      // On a terminal the name is bold and the phase green; NO_COLOR turns that off.
      const [created, listed] = (await terminal.capture({ escapes: true })).split("exit=0");
      assert.ok(
        created?.includes("\x1b[1min-tty") && created.includes("\x1b[32mRunning"),
        JSON.stringify(created),
      );
      assert.match(listed ?? "", /NAME +PHASE/);
      assert.ok(!listed?.includes("\x1b["), JSON.stringify(listed));
    } finally {
      await terminal.kill();
    }
    ok(await cli(["rm", "in-tty", "--wait"]));
  });
});
