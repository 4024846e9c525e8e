/** Edits of a config file that keep its comments and layout (`npm start` writes a commented one). */
import type { ContextConfig } from "@fast-sandbox/sdk";
import { parseConfigFile } from "@fast-sandbox/sdk";
import { type Document, parseDocument } from "yaml";

/** `config set` keys, as typed, and the config file field each one sets. */
export const CONFIG_KEYS = {
  endpoint: "endpoint",
  token: "token",
  "token-file": "tokenFile",
  namespace: "namespace",
} as const satisfies Record<string, keyof ContextConfig>;
export type ConfigKey = keyof typeof CONFIG_KEYS;

export function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(CONFIG_KEYS, key);
}

/** The file's `current-context`, if it has one. */
export function currentContextOf(text: string | undefined, file: string): string | undefined {
  return text === undefined ? undefined : parseConfigFile(text, file)["current-context"];
}

/** Sets (or with an empty value, removes) one setting of one context. */
export function setContextValue(
  text: string | undefined,
  file: string,
  context: string,
  key: ConfigKey,
  value: string,
): string {
  const doc = load(text, file);
  const at = ["contexts", context, CONFIG_KEYS[key]];
  if (value === "") doc.deleteIn(at);
  else doc.setIn(at, value);
  return doc.toString();
}

export function setCurrentContext(text: string | undefined, file: string, context: string): string {
  const doc = load(text, file);
  doc.set("current-context", context);
  return doc.toString();
}

/** Refuses a file that does not parse as a config (rather than overwrite what the user wrote). */
function load(text: string | undefined, file: string): Document {
  if (text !== undefined) parseConfigFile(text, file);
  const doc: Document = parseDocument(text ?? "");
  if (doc.contents === null) doc.contents = doc.createNode({});
  return doc;
}
