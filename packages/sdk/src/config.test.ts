// Config resolution: options > env > ./.fsb/config.yaml > ~/.fsb/config.yaml, per setting, with contexts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ConfigEnvironment, DEFAULT_ENDPOINT, resolveConfig } from "./config.ts";

function environment(files: Record<string, string>, env: Record<string, string> = {}): ConfigEnvironment {
  return { env, cwd: "/work/proj", home: "/home/u", readFile: (f) => files[f] };
}
const LOCAL = "/work/proj/.fsb/config.yaml";
const HOME = "/home/u/.fsb/config.yaml";

describe("resolveConfig", () => {
  it("defaults to the standalone endpoint and namespace with no config at all", () => {
    const c = resolveConfig({}, environment({}));
    assert.equal(c.endpoint, DEFAULT_ENDPOINT);
    assert.equal(c.namespace, "default");
    assert.equal(c.token, undefined);
    assert.deepEqual(c.files, []);
  });

  it("reads the current context, with the token from its token file", () => {
    const files = {
      [LOCAL]:
        "current-context: local\ncontexts:\n  local:\n    endpoint: http://10.0.0.1:9090\n    tokenFile: /secrets/t\n",
      "/secrets/t": "s3cret\n",
    };
    const c = resolveConfig({}, environment(files));
    assert.deepEqual(
      { endpoint: c.endpoint, token: c.token, context: c.context, files: c.files },
      { endpoint: "http://10.0.0.1:9090", token: "s3cret", context: "local", files: [LOCAL] },
    );
  });

  it("takes each setting from the nearest place that has it", () => {
    const files = {
      [LOCAL]: "current-context: c\ncontexts:\n  c:\n    namespace: team-a\n",
      [HOME]: "contexts:\n  c:\n    endpoint: http://cluster:9090\n    token: home-token\n",
    };
    const c = resolveConfig({}, environment(files, { FSB_TOKEN: "env-token" }));
    assert.equal(c.endpoint, "http://cluster:9090");
    assert.equal(c.namespace, "team-a");
    assert.equal(c.token, "env-token", "env beats files");
    assert.equal(
      resolveConfig({ token: "flag" }, environment(files, { FSB_TOKEN: "env-token" })).token,
      "flag",
    );
  });

  it("switches context by option or FSB_CONTEXT", () => {
    const files = {
      [HOME]:
        "current-context: a\ncontexts:\n  a:\n    endpoint: http://a:1\n  b:\n    endpoint: http://b:2\n",
    };
    assert.equal(resolveConfig({}, environment(files)).endpoint, "http://a:1");
    assert.equal(resolveConfig({ context: "b" }, environment(files)).endpoint, "http://b:2");
    assert.equal(resolveConfig({}, environment(files, { FSB_CONTEXT: "b" })).endpoint, "http://b:2");
  });

  it("names an unknown context and a broken file", () => {
    const files = { [HOME]: "contexts:\n  a: {}\n" };
    assert.throws(
      () => resolveConfig({ context: "zz" }, environment(files)),
      /no context "zz" in \/home\/u\/\.fsb\/config\.yaml/,
    );
    assert.throws(
      () => resolveConfig({}, environment({ [LOCAL]: "contexts: [1, 2]\n" })),
      /contexts must be a mapping/,
    );
    assert.throws(
      () => resolveConfig({}, environment({ [LOCAL]: "a: [" })),
      /\/work\/proj\/\.fsb\/config\.yaml is not valid YAML/,
    );
  });
  it("says where each setting came from (for `fsb-ctl config view`)", () => {
    const files = {
      [LOCAL]: "current-context: c\ncontexts:\n  c:\n    tokenFile: /secrets/t\n",
      [HOME]: "contexts:\n  c:\n    endpoint: http://cluster:9090\n",
      "/secrets/t": "s3cret\n",
    };
    assert.deepEqual(resolveConfig({}, environment(files, { FSB_NAMESPACE: "team-a" })).sources, {
      context: `current-context in ${LOCAL}`,
      endpoint: `context c in ${HOME}`,
      token: `tokenFile /secrets/t (context c in ${LOCAL})`,
      namespace: "env FSB_NAMESPACE",
    });
    assert.deepEqual(resolveConfig({ endpoint: "http://flag:1", context: "c" }, environment(files)).sources, {
      context: "flag",
      endpoint: "flag",
      token: `tokenFile /secrets/t (context c in ${LOCAL})`,
      namespace: "default",
    });
  });
});
