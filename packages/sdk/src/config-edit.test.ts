// Config edits keep what the user (or `npm start`) wrote: comments, other contexts, key order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfigFile } from "./config.ts";
import { currentContextOf, setContextSettings, setCurrentContext } from "./config-edit.ts";

const STANDALONE = `# Written by \`npm start\` for the standalone system.
current-context: standalone
contexts:
  standalone:
    endpoint: http://127.0.0.1:9090
    tokenFile: /repo/.fsb-dev/api-token # the token npm start made
    namespace: default
`;

describe("config file edits", () => {
  it("sets one value of an existing context and keeps the comments", () => {
    const text = setContextSettings(STANDALONE, "f", "standalone", { namespace: "team-a" });
    assert.match(text, /^# Written by `npm start`/);
    assert.match(text, /# the token npm start made/);
    assert.deepEqual(parseConfigFile(text, "f").contexts?.standalone, {
      endpoint: "http://127.0.0.1:9090",
      tokenFile: "/repo/.fsb-dev/api-token",
      namespace: "team-a",
    });
  });

  it("sets several values at once and leaves the context's others and the other contexts", () => {
    const withCluster = setContextSettings(STANDALONE, "f", "cluster", { endpoint: "https://c:9090" });
    const text = setContextSettings(withCluster, "f", "standalone", {
      endpoint: "http://127.0.0.1:9190",
      tokenFile: "/other/api-token",
    });
    assert.deepEqual(parseConfigFile(text, "f").contexts, {
      standalone: { endpoint: "http://127.0.0.1:9190", tokenFile: "/other/api-token", namespace: "default" },
      cluster: { endpoint: "https://c:9090" },
    });
  });

  it("adds a context and switches to it", () => {
    const added = setContextSettings(STANDALONE, "f", "cluster", { tokenFile: "/secrets/t" });
    const switched = setCurrentContext(added, "f", "cluster");
    const config = parseConfigFile(switched, "f");
    assert.deepEqual(config.contexts?.cluster, { tokenFile: "/secrets/t" });
    assert.equal(currentContextOf(switched, "f"), "cluster");
  });

  it("removes a value when it is set to empty", () => {
    const text = setContextSettings(STANDALONE, "f", "standalone", { endpoint: "" });
    assert.equal(parseConfigFile(text, "f").contexts?.standalone?.endpoint, undefined);
  });

  it("starts a file that does not exist yet", () => {
    const text = setContextSettings(undefined, "f", "default", { endpoint: "http://h:9090" });
    assert.deepEqual(parseConfigFile(text, "f"), { contexts: { default: { endpoint: "http://h:9090" } } });
  });

  it("refuses to rewrite a file that is not a config, naming it", () => {
    assert.throws(
      () => setContextSettings("contexts: [1]\n", "/x/config.yaml", "a", { endpoint: "e" }),
      /\/x\/config\.yaml: contexts must be a mapping/,
    );
  });
});
