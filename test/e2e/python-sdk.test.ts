// The Python SDK (sdk/python, stdlib only) run with python3: its unit tests, its config reader
// against what the TypeScript side writes, its end-to-end tests against a real controller, agents
// and containerd, and the examples of its README as written.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { parseConfigFile, setContextSettings, setCurrentContext } from "@fast-sandbox/sdk";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { standaloneCliConfig } from "../../packages/server/src/standalone/standalone-cli-config.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";

const root = path.resolve(import.meta.dirname, "../..");
const sdkDir = path.join(root, "sdk/python");
/** Modules that need no server. */
const UNIT_MODULES = ["test_framing", "test_config", "test_errors", "test_exec_wire"];
/** Modules that run against the controller started below. */
const E2E_MODULES = ["test_pools_e2e", "test_sandboxes_e2e"];
/** A unittest run that takes longer than this is hung, not slow. */
const PYTHON_TIMEOUT_MS = 240_000;

interface Run {
  code: number;
  output: string;
}

/** Runs python3 in `cwd` with the SDK importable and a private HOME; never throws. */
async function python(args: string[], env: Record<string, string>, cwd = sdkDir): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FSB_")));
  const result = await promisify(execFile)("python3", args, {
    cwd,
    env: { ...clean, PYTHONPATH: sdkDir, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1", ...env },
    timeout: PYTHON_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: { code?: number; stdout?: string; stderr?: string }) => ({
    code: typeof err.code === "number" ? err.code : 1,
    stdout: err.stdout ?? "",
    stderr: `${err.stderr ?? ""}\n${String(err)}`,
  }));
  return { code: "code" in result ? result.code : 0, output: `${result.stdout}${result.stderr}` };
}

/** `python3 -m unittest` of the modules; every one must run tests, and none may be skipped. */
async function unittest(modules: string[], env: Record<string, string>): Promise<void> {
  const { code, output } = await python(["-m", "unittest", "-v", ...modules.map((m) => `tests.${m}`)], env);
  assert.equal(code, 0, output);
  const ran = Number(/^Ran (\d+) tests? in/m.exec(output)?.[1] ?? 0);
  assert.ok(ran >= modules.length, `ran ${ran} tests for ${modules.length} modules\n${output}`);
  assert.doesNotMatch(output, /skipped/, output);
  for (const module of modules) assert.match(output, new RegExp(`\\(tests\\.${module}\\.`), output);
}

/** The ```python block under a README heading. */
function readmeExample(heading: string): string {
  const readme = readFileSync(path.join(sdkDir, "README.md"), "utf8");
  const section = readme.split(/^## /m).find((s) => s.startsWith(heading));
  const code = section && /^```python\n([\s\S]*?)^```$/m.exec(section)?.[1];
  assert.ok(code, `sdk/python/README.md has a python block under "## ${heading}"`);
  return code;
}

describe("Python SDK", () => {
  it("passes its unit tests (framing, config, errors, exec on the wire)", async () => {
    await unittest(UNIT_MODULES, { HOME: os.tmpdir() });
  });

  it("reads every config file the TypeScript side writes as the TypeScript SDK reads it", async () => {
    // Values the yaml package writes quoted, and values it leaves plain that look like YAML syntax.
    const tricky = ["a # b", "x: y", "'quoted'", '"dq"', "*star", "123", "true", "null", "~", "{x}", "#h"];
    tricky.push("-dash", "?q", ":c", "a:b", "a'b", "a,b", "tab\tx", " lead", "é ü", "https://h:1/p?q=1#f");
    let text = standaloneCliConfig(undefined, "f", { endpoint: "http://127.0.0.1:9090", tokenFile: "/t" });
    const texts = [text];
    tricky.forEach((value, i) => {
      text = setContextSettings(text, "f", `c${i}`, { endpoint: value, token: value, namespace: value });
      texts.push(text);
    });
    texts.push(setCurrentContext(text, "f", "c3"));
    texts.push(setContextSettings(text, "f", "c0", { endpoint: "", token: "", namespace: "" }));
    const script =
      "import json, sys\nfrom fast_sandbox.config import parse_config_file\n" +
      "print(json.dumps([parse_config_file(t, 'f') for t in json.load(open(sys.argv[1]))]))";
    const dir = await mkdtemp(path.join(os.tmpdir(), "fsb-py-config-"));
    try {
      await writeFile(path.join(dir, "texts.json"), JSON.stringify(texts));
      const run = await python(["-c", script, path.join(dir, "texts.json")], {}, dir);
      assert.equal(run.code, 0, run.output);
      assert.deepEqual(
        JSON.parse(run.output),
        texts.map((t) => parseConfigFile(t, "f")),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe("against a real controller", () => {
    let conn: ContainerdConnection;
    let ctl: ControllerProcess;
    let home: string;

    before(async () => {
      conn = await testConnection();
      ctl = await startControllerProcess({ socketPath: conn.socketPath, localAgents: 2, capacity: 2 });
      home = await mkdtemp(path.join(os.tmpdir(), "fsb-py-home-"));
    });
    after(async () => {
      await ctl?.cleanup();
      conn?.close();
      if (home) await rm(home, { recursive: true, force: true });
    });

    const env = () => ({ FSB_TEST_ENDPOINT: ctl.url, FSB_TEST_TOKEN: ctl.token, HOME: home });

    it("passes its end-to-end tests: sandboxes, logs, watch, pools, typed errors", async () => {
      await unittest(E2E_MODULES, env());
    });

    it("runs exec, stdin, timeouts, processes and reattach, and moves files", async () => {
      await unittest(["test_exec_e2e", "test_files_e2e"], env());
    });

    /** Runs a README example as a user would after `npm start`: no flags, the config it writes. */
    async function runExample(heading: string): Promise<string> {
      const cwd = path.join(home, heading.replaceAll(/\W+/g, "-"));
      await mkdir(path.join(cwd, ".fsb"), { recursive: true });
      await writeFile(path.join(cwd, "api-token"), `${ctl.token}\n`);
      const config = standaloneCliConfig(undefined, "config.yaml", {
        endpoint: ctl.url,
        tokenFile: path.join(cwd, "api-token"),
      });
      await writeFile(path.join(cwd, ".fsb/config.yaml"), config);
      await writeFile(path.join(cwd, "example.py"), readmeExample(heading));
      const run = await python(["example.py"], { HOME: home }, cwd);
      assert.equal(run.code, 0, run.output);
      return run.output;
    }

    it("runs the README's quick start as written", async () => {
      const output = await runExample("Quick start");
      assert.match(output, /^created (sb-[0-9a-z]+) \(\1-[0-9a-f]{8}\) on \S+: Running$/m);
      assert.match(output, /^hello from \S+\nbye\n/m);
      assert.match(output, /^Succeeded: exited with code 0\ndeleted$/m);
      assert.deepEqual((await ctl.client.listSandboxes({ namespace: "*" })).sandboxes, [], "it cleans up");
    });

    it("runs the README's error example as written", async () => {
      const output = await runExample("Errors");
      assert.match(output, /^.*no-such-sandbox.* - check the name and namespace \(`fsb-ctl list -A`\)$/m);
    });

    it("runs the README's files example as written", async () => {
      const output = await runExample("Files");
      assert.match(output, /^42\n\[\('big\.bin', 5000000\)\]\n5000000 0o755\n$/m);
    });

    it("runs the README's command example as written", async () => {
      const output = await runExample("Running commands");
      assert.match(output, /^3 'hi\\n' 'oops\\n'\npiped\n1\n2\n3\n/m);
    });
  });
});
