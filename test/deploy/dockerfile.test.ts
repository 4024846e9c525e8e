// What can be checked of the Dockerfile without building it: its inputs exist and reach the build, its entry points are the ones the manifests run.
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_RUNSC_BINARY } from "../../packages/server/src/agent/agent-config.ts";
import { ANCHOR_BUSYBOX } from "../../packages/server/src/agent/anchor-rootfs.ts";
import { AGENT_COMMAND, INSTALL_RUNSC_SCRIPT } from "../../packages/server/src/controller/pool/agent-pod.ts";
import { type KubeObject, kustomize, repoRoot } from "./kustomize.ts";

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = "";
    const match = /^(\w+)\s+(.*)$/.exec(full);
    if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]! });
  }
  return instructions;
}

/** A .dockerignore as Docker applies it: the last matching pattern wins, `!` re-includes. */
function dockerignore(text: string): (file: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const include = l.startsWith("!");
      const pattern = include ? l.slice(1) : l;
      const body = pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) => {
          if (part === "**/") return "(.*/)?";
          if (part === "**") return ".*";
          if (part === "*") return "[^/]*";
          if (part === "?") return "[^/]";
          return part.replace(/[.+^${}()|[\]\\]/g, "\\$&");
        })
        .join("");
      // A pattern also covers everything below a directory it matches.
      return { include, regex: new RegExp(`^${body}(/.*)?$`) };
    });
  return (file) => {
    let excluded = false;
    for (const rule of rules) if (rule.regex.test(file)) excluded = !rule.include;
    return !excluded;
  };
}

const dockerfile = parseDockerfile(await readFile(path.join(repoRoot, "Dockerfile"), "utf8"));
const inContext = dockerignore(await readFile(path.join(repoRoot, ".dockerignore"), "utf8"));
const args = (keyword: string) => dockerfile.filter((i) => i.keyword === keyword).map((i) => i.args);
const workdir = args("WORKDIR").at(-1) ?? "/";

/** COPY instructions from the build context as [sources, destination in the image]. */
const copies = args("COPY")
  .filter((a) => !a.startsWith("--from"))
  .map((a) => {
    const parts = a.split(/\s+/).filter((p) => !p.startsWith("--"));
    const dest = parts.pop()!;
    // A destination ending in "/" (or several sources) is a directory the sources go into.
    return {
      sources: parts,
      dest: path.posix.resolve(workdir, dest),
      intoDir: dest.endsWith("/") || parts.length > 1,
    };
  });

/** Where a repository file lands in the image, if a COPY takes it. */
function imagePathOf(file: string): string | undefined {
  for (const { sources, dest, intoDir } of copies) {
    for (const source of sources) {
      const s = source.replace(/\/$/, "");
      if (file === s) return intoDir ? path.posix.join(dest, path.basename(s)) : dest;
      if (file.startsWith(`${s}/`)) return path.posix.join(dest, file.slice(s.length + 1));
    }
  }
  return undefined;
}

/** The entry points the Dockerfile puts on PATH (its `for entry in ...; do` loop). */
const entryPoints = (() => {
  const run = args("RUN").find((a) => a.includes("/usr/local/bin/"));
  const list = /for entry in ([^;]+);/.exec(run ?? "")?.[1];
  return (list ?? "").trim().split(/\s+/);
})();

describe("Dockerfile", () => {
  it("builds on Node 24, the major the repository pins", async () => {
    const [from] = args("FROM");
    const major = /^node:(\d+)[.-]/.exec(from ?? "")?.[1];
    assert.equal(major, "24");
    const manifest = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8"));
    assert.equal(String(manifest.devDependencies.node).split(".")[0], major);
  });

  it("copies only files that exist and that .dockerignore lets into the build context", async () => {
    assert.ok(copies.length > 0);
    for (const { sources } of copies) {
      for (const source of sources) {
        const info = await stat(path.join(repoRoot, source));
        const probe = info.isDirectory() ? path.posix.join(source, "api/src/index.ts") : source;
        assert.ok(inContext(probe), `${probe} is in the build context`);
      }
    }
  });

  it("leaves tests, secrets and local state out of the build context", () => {
    for (const file of [
      "packages/server/src/controller/pool/agent-pod.test.ts",
      "deploy/base/tokens/api-token",
      "node_modules/yaml/package.json",
      ".fsb-dev/api-token",
      ".git/config",
    ]) {
      assert.equal(inContext(file), false, file);
    }
    for (const file of [
      "packages/server/src/bin/fsb-agent.ts",
      "packages/server/gen/fastsandbox/v1/x.ts",
      "package-lock.json",
    ]) {
      assert.equal(inContext(file), true, file);
    }
  });

  it("installs every workspace's manifest before npm ci, runsc, and the busybox the shim anchor copies", async () => {
    const manifest = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8"));
    for (const workspace of manifest.workspaces as string[]) {
      assert.equal(
        imagePathOf(`${workspace}/package.json`),
        path.posix.join(workdir, workspace, "package.json"),
      );
    }
    assert.ok(args("RUN").some((a) => /npm ci --omit=dev/.test(a)));
    assert.ok(args("RUN").some((a) => /apt-get install .*\brunsc\b/.test(a)));
    // Debian's busybox-static is what installs ANCHOR_BUSYBOX (/bin/busybox), statically linked.
    assert.equal(ANCHOR_BUSYBOX, "/bin/busybox");
    assert.ok(args("RUN").some((a) => /apt-get install .*\bbusybox-static\b/.test(a)));
  });

  it("puts fsb-controller, fsb-agent and fsb-janitor on PATH, each an entry file of the repository", async () => {
    for (const entry of ["fsb-controller", "fsb-agent", "fsb-janitor"])
      assert.ok(entryPoints.includes(entry), entry);
    for (const entry of entryPoints) {
      const files = ["api", "cli", "sdk", "server"].map((p) => `packages/${p}/src/bin/${entry}.ts`);
      const present = (
        await Promise.all(
          files.map((f) =>
            stat(path.join(repoRoot, f)).then(
              () => f,
              () => undefined,
            ),
          ),
        )
      ).filter((f): f is string => f !== undefined);
      assert.equal(present.length, 1, `${entry}: ${present.join(", ")}`);
      assert.ok(imagePathOf(present[0]!), `${present[0]} is copied`);
    }
  });

  it("provides every command the manifests and the agent Pods run", async () => {
    const { objects } = await kustomize("");
    const commands = objects.flatMap((o: KubeObject) => {
      const pod = (o.spec as { template?: { spec?: { containers?: Array<{ command?: string[] }> } } })
        ?.template?.spec;
      return (pod?.containers ?? []).map((c) => c.command?.[0]);
    });
    assert.ok(commands.length >= 2);
    for (const command of [...commands, AGENT_COMMAND])
      assert.ok(entryPoints.includes(String(command)), String(command));
    assert.equal(imagePathOf("scripts/install-runsc.sh"), INSTALL_RUNSC_SCRIPT);
  });

  it("ships the runsc wrapper where fsb-agent looks for it by default", () => {
    const relative = path.relative(repoRoot, DEFAULT_RUNSC_BINARY);
    const inImage = imagePathOf(relative);
    assert.equal(inImage, path.posix.join(workdir, relative));
  });

  it("keeps its scripts executable", async () => {
    for (const script of ["scripts/runsc-wrapper.sh", "scripts/install-runsc.sh"]) {
      assert.ok(((await stat(path.join(repoRoot, script))).mode & 0o111) !== 0, `${script} is executable`);
    }
  });

  it("runs as a numeric non-root user by default, the controller's", async () => {
    const user = args("USER").at(-1);
    assert.match(user ?? "", /^[1-9]\d*(:\d+)?$/);
    const controller = await readFile(path.join(repoRoot, "deploy/base/controller.yaml"), "utf8");
    assert.match(controller, new RegExp(`runAsUser: ${user?.split(":")[0]}\\b`));
  });
});
