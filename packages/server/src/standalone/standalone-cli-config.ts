/**
 * The fsb-ctl config `npm start` writes: only its own context (and current-context when none is
 * set), so contexts added with `fsb-ctl config set --context` survive a restart.
 */
import { DEFAULT_NAMESPACE, parseConfigFile, setContextSettings, setCurrentContext } from "@fast-sandbox/sdk";

export const STANDALONE_CONTEXT = "standalone";
/** Heads a file that `npm start` creates; a file that exists keeps its own comments. */
const HEADER =
  "# Written by `npm start` for the standalone system: it updates only the standalone context.\n";

/** What the system's context says. */
export interface StandaloneContext {
  endpoint: string;
  /** The API token's file; undefined when FSB_TOKEN gives the token (the setting is then removed). */
  tokenFile: string | undefined;
}

/**
 * The config file's new text, from its current text (undefined when there is none). Sets the
 * context's endpoint and token file, and its namespace only where none is chosen; makes it current
 * only when no context is. A file that is not a config throws, naming it, and is not rewritten.
 */
export function standaloneCliConfig(
  existing: string | undefined,
  file: string,
  own: StandaloneContext,
): string {
  const config = existing === undefined ? {} : parseConfigFile(existing, file);
  const chosenNamespace = config.contexts?.[STANDALONE_CONTEXT]?.namespace;
  const start = existing ?? `${HEADER}current-context: ${STANDALONE_CONTEXT}\n`;
  let text = setContextSettings(start, file, STANDALONE_CONTEXT, {
    endpoint: own.endpoint,
    tokenFile: own.tokenFile ?? "",
    ...(chosenNamespace ? {} : { namespace: DEFAULT_NAMESPACE }),
  });
  if (!config["current-context"]) text = setCurrentContext(text, file, STANDALONE_CONTEXT);
  return text;
}
