// npm start's fsb-ctl config: its own context is brought up to date, everything else is kept.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfigFile } from "@fast-sandbox/sdk";
import { standaloneCliConfig } from "./standalone-cli-config.ts";

const FILE = "/repo/.fsb/config.yaml";
const OWN = { endpoint: "http://127.0.0.1:9090", tokenFile: "/repo/.fsb-dev/api-token" };

describe("standaloneCliConfig", () => {
  it("writes a new file with its context, current, and a comment saying what it touches", () => {
    const text = standaloneCliConfig(undefined, FILE, OWN);
    assert.match(text, /^# Written by `npm start`.*only the standalone context/);
    assert.deepEqual(parseConfigFile(text, FILE), {
      contexts: { standalone: { ...OWN, namespace: "default" } },
      "current-context": "standalone",
    });
  });

  it("keeps contexts added with fsb-ctl config set, and the current one the user chose", () => {
    const existing = [
      "# mine",
      "current-context: cluster",
      "contexts:",
      "  standalone:",
      "    endpoint: http://127.0.0.1:9190",
      "    tokenFile: /old/api-token",
      "    namespace: team-a  # chosen with fsb-ctl config set namespace",
      "  cluster:",
      "    endpoint: https://fsb.example:9090",
      "    token: secret",
      "",
    ].join("\n");
    const text = standaloneCliConfig(existing, FILE, OWN);
    assert.match(text, /^# mine$/m);
    assert.match(text, /# chosen with fsb-ctl config set namespace/);
    assert.deepEqual(parseConfigFile(text, FILE), {
      "current-context": "cluster",
      contexts: {
        standalone: { ...OWN, namespace: "team-a" },
        cluster: { endpoint: "https://fsb.example:9090", token: "secret" },
      },
    });
  });

  it("adds its context beside others and becomes current only when none is", () => {
    const text = standaloneCliConfig("contexts:\n  cluster: {endpoint: https://c}\n", FILE, OWN);
    const config = parseConfigFile(text, FILE);
    assert.equal(config["current-context"], "standalone");
    assert.deepEqual(Object.keys(config.contexts ?? {}), ["cluster", "standalone"]);
  });

  it("names no token file when FSB_TOKEN gives the token", () => {
    const earlier = standaloneCliConfig(undefined, FILE, OWN);
    const text = standaloneCliConfig(earlier, FILE, { ...OWN, tokenFile: undefined });
    assert.deepEqual(parseConfigFile(text, FILE).contexts?.standalone, {
      endpoint: OWN.endpoint,
      namespace: "default",
    });
  });

  it("refuses to rewrite a file that is not a config, naming it", () => {
    assert.throws(
      () => standaloneCliConfig("contexts: [1]\n", FILE, OWN),
      /config\.yaml: contexts must be a mapping/,
    );
  });
});
