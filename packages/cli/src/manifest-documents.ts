/**
 * The documents of a YAML stream for `fsb-ctl apply`: each a SandboxPool or a Sandbox resource,
 * read strictly. Any bad document fails the whole stream, so nothing is applied from a broken file.
 */
import { POOL_API_VERSION, POOL_KIND, type PoolManifest } from "@fast-sandbox/sdk";
import { parseAllDocuments } from "yaml";
import { firstLine, mapping } from "./manifest-fields.ts";
import { poolFromResource } from "./pool-manifest.ts";
import { type SandboxManifest, sandboxFromResource } from "./sandbox-manifest.ts";

export const SANDBOX_KIND = "Sandbox";
const KINDS = [POOL_KIND, SANDBOX_KIND];

/** Where a document came from, for messages: `pool.yaml, document 2`. */
export interface DocumentOrigin {
  source: string;
  /** 1-based position in its file, counting empty documents too, so it matches what an editor shows. */
  index: number;
}

export type ManifestDocument =
  | { kind: typeof POOL_KIND; origin: DocumentOrigin; pool: PoolManifest }
  | { kind: typeof SANDBOX_KIND; origin: DocumentOrigin; sandbox: SandboxManifest & { name: string } };

export function describeOrigin(origin: DocumentOrigin): string {
  return `${origin.source}, document ${origin.index}`;
}

/** A document's problem, with where it is. */
export class ManifestError extends Error {
  override name = "ManifestError";
}

/** Every non-empty document of `text`; throws a ManifestError naming the document and the field. */
export function parseManifestDocuments(text: string, source: string): ManifestDocument[] {
  const documents: ManifestDocument[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const origin = { source, index: i + 1 };
    const error = doc.errors[0];
    if (error)
      throw new ManifestError(`${describeOrigin(origin)} is not valid YAML: ${firstLine(error.message)}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    try {
      documents.push(readDocument(value, origin));
    } catch (err) {
      throw new ManifestError(`${describeOrigin(origin)}: ${(err as Error).message}`);
    }
  });
  return documents;
}

function readDocument(value: unknown, origin: DocumentOrigin): ManifestDocument {
  const root = mapping(value, "the document");
  if (root.apiVersion === undefined || root.apiVersion === null) throw new Error("apiVersion is required");
  if (root.apiVersion !== POOL_API_VERSION)
    throw new Error(`apiVersion: ${JSON.stringify(root.apiVersion)} is not ${POOL_API_VERSION}`);
  if (root.kind === undefined || root.kind === null)
    throw new Error(`kind is required (${KINDS.join(" or ")})`);
  if (root.kind === POOL_KIND) {
    return { kind: POOL_KIND, origin, pool: poolFromResource(root) };
  }
  if (root.kind === SANDBOX_KIND) {
    const sandbox = sandboxFromResource(root);
    // Without a name every apply would create another sandbox; the name makes it idempotent.
    if (!sandbox.name) throw new Error("metadata.name is required");
    return { kind: SANDBOX_KIND, origin, sandbox: { ...sandbox, name: sandbox.name } };
  }
  throw new Error(`kind: ${JSON.stringify(root.kind)} is not ${KINDS.join(" or ")}`);
}
