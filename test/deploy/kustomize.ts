/**
 * Renders deploy/ with `kubectl kustomize` the way a user would, offline: a copy of deploy/ gets
 * throwaway token files (the real ones are git-ignored and made per installation).
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);

export const repoRoot = path.resolve(import.meta.dirname, "../..");
export const deployDir = path.join(repoRoot, "deploy");

/** Values that are obviously not secrets, so a rendered manifest can never be mistaken for a real one. */
export const TEST_TOKENS = { "api-token": "test-api-token", "agent-token": "test-agent-token" } as const;

/**
 * The kubectl binaries to render with: `kubectl` on PATH, plus any listed in FSB_TEST_KUBECTL
 * (colon-separated), e.g. Debian 12's kubectl 1.20 whose kustomize v2.0.3 knows far less.
 */
export function kubectls(): string[] {
  const extra = (process.env.FSB_TEST_KUBECTL ?? "").split(":").filter(Boolean);
  return ["kubectl", ...extra];
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export interface Rendered {
  objects: KubeObject[];
  stderr: string;
}

/** `kubectl kustomize <deploy/dir>` on a copy of deploy/ with test tokens; no shell involved. */
export async function kustomize(dir: string, kubectl = "kubectl"): Promise<Rendered> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), "fsb-deploy-"));
  try {
    const copy = path.join(scratch, "deploy");
    await cp(deployDir, copy, { recursive: true });
    for (const [file, token] of Object.entries(TEST_TOKENS)) {
      await writeFile(path.join(copy, "base/tokens", file), token);
    }
    const { stdout, stderr } = await run(kubectl, ["kustomize", path.join(copy, dir)], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return { objects: parseYamlStream(stdout), stderr };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Every document of a YAML stream as plain data; a syntax error throws. */
export function parseYamlStream(text: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join("; "));
    const value = doc.toJS() as KubeObject | null;
    return value === null ? [] : [value];
  });
}

/** The one object of `kind` and `name` (and namespace, when given); fails loudly when it is missing. */
export function find<T = KubeObject>(
  objects: KubeObject[],
  kind: string,
  name: string,
  namespace?: string,
): T {
  const found = objects.filter(
    (o) =>
      o.kind === kind &&
      o.metadata.name === name &&
      (namespace === undefined || o.metadata.namespace === namespace),
  );
  if (found.length !== 1)
    throw new Error(`expected one ${kind} ${namespace ?? "*"}/${name}, found ${found.length}`);
  return found[0] as T;
}
