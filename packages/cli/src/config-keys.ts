/** The settings `fsb-ctl config set` takes, as typed, and the config file field each one sets. */
import type { ContextConfig } from "@fast-sandbox/sdk";

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
