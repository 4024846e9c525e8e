/** The interactive part of `fsb-ctl run NAME`: edit the template (or the last edit), and keep the result. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { EditCache } from "./edit-cache.ts";
import { editFile } from "./editor.ts";
import { runTemplate } from "./run-template.ts";

export interface EditManifestOptions {
  name: string;
  namespace: string;
  cache: EditCache;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Opens the editor and returns the YAML that was saved. It is cached before anyone parses it, so a
 * typo or a failed create never loses the edit.
 */
export function editManifest(o: EditManifestOptions): string {
  const initial = o.cache.read(o.namespace, o.name) ?? runTemplate(o.name, o.namespace);
  // A private directory: the editor may add swap or backup files next to the one it edits.
  const dir = mkdtempSync(path.join(os.tmpdir(), "fsb-ctl-run-"));
  const file = path.join(dir, `${o.name}.yaml`);
  try {
    writeFileSync(file, initial);
    editFile(file, o.env);
    const edited = readFileSync(file, "utf8");
    o.cache.write(o.namespace, o.name, edited);
    return edited;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
