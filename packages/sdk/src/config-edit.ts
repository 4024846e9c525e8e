/**
 * Edits of a config file that keep what else is in it: comments, other contexts, key order. Both
 * `fsb-ctl config set` and `npm start` (for its own context) write the file through these.
 */
import { type Document, parseDocument } from "yaml";
import { type ContextConfig, parseConfigFile } from "./config.ts";

/**
 * The file's `current-context`, if it has one; a file that is not a config throws with its path.
 *
 * @example
 * currentContextOf("current-context: standalone\n", ".fsb/config.yaml"); // "standalone"
 */
export function currentContextOf(text: string | undefined, file: string): string | undefined {
  return text === undefined ? undefined : parseConfigFile(text, file)["current-context"];
}

/**
 * Sets the given settings of one context, creating it if new, and leaves its other settings and
 * every other context as they are; an empty value removes that setting. `text` undefined is a file
 * that does not exist yet. A file that is not a config throws with its path (rather than be
 * overwritten).
 *
 * @example
 * const text = setContextSettings(readIfExists(file), file, "cluster", { endpoint: "https://fsb.example:9090" });
 */
export function setContextSettings(
  text: string | undefined,
  file: string,
  context: string,
  settings: ContextConfig,
): string {
  const doc = load(text, file);
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    const at = ["contexts", context, key];
    if (value === "") doc.deleteIn(at);
    else doc.setIn(at, value);
  }
  return doc.toString();
}

/**
 * Makes `context` the current one.
 *
 * @example
 * const text = setCurrentContext(readIfExists(file), file, "cluster");
 */
export function setCurrentContext(text: string | undefined, file: string, context: string): string {
  const doc = load(text, file);
  doc.set("current-context", context);
  return doc.toString();
}

function load(text: string | undefined, file: string): Document {
  if (text !== undefined) parseConfigFile(text, file);
  const doc: Document = parseDocument(text ?? "");
  if (doc.contents === null) doc.contents = doc.createNode({});
  return doc;
}
