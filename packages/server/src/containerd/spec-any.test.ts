import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { buildSpec, defaultSpec, type OciSpec } from "./oci-spec.ts";
import { type AnyValue, SPEC_TYPE_URL, specFromAny, specToAny } from "./spec-any.ts";
import { withEnv, withHostname, withShimGroup } from "./spec-options.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

describe("specToAny", () => {
  it("uses containerd's runtime-spec type URL", () =>
    assert.equal(specToAny(defaultSpec()).typeUrl, "types.containerd.io/opencontainers/runtime-spec/1/Spec"));

  it("encodes the spec as UTF-8 JSON", () => {
    const spec = defaultSpec();
    assert.deepEqual(JSON.parse(new TextDecoder().decode(specToAny(spec).value)), spec);
  });

  it("leaves unset optional fields out", () => {
    const json = JSON.parse(new TextDecoder().decode(specToAny(defaultSpec()).value));
    assert.equal("hostname" in json, false);
    assert.equal("inheritable" in json.process.capabilities, false);
  });
});

describe("specFromAny", () => {
  const cases: Array<{ name: string; spec: () => OciSpec }> = [
    { name: "the default spec", spec: defaultSpec },
    {
      name: "a spec with non-ASCII env and annotations",
      spec: () =>
        buildSpec(withEnv({ GREETING: "grüß dich 👋" }), withHostname("sbx"), withShimGroup("agent")),
    },
  ];
  for (const tc of cases) {
    it(`round-trips ${tc.name}`, () => assert.deepEqual(specFromAny(specToAny(tc.spec())), tc.spec()));
  }

  const rejected: Array<{ name: string; any: AnyValue; pattern: RegExp }> = [
    {
      name: "another type URL",
      any: { typeUrl: "type.googleapis.com/x", value: utf8("{}") },
      pattern: /has type/,
    },
    {
      name: "invalid JSON",
      any: { typeUrl: SPEC_TYPE_URL, value: utf8("{") },
      pattern: /not valid UTF-8 JSON/,
    },
    {
      name: "invalid UTF-8",
      any: { typeUrl: SPEC_TYPE_URL, value: new Uint8Array([0xff, 0xfe]) },
      pattern: /not valid UTF-8 JSON/,
    },
    {
      name: "JSON that is not an object",
      any: { typeUrl: SPEC_TYPE_URL, value: utf8("null") },
      pattern: /not an OCI runtime spec/,
    },
    {
      name: "an object without ociVersion",
      any: { typeUrl: SPEC_TYPE_URL, value: utf8("{}") },
      pattern: /not an OCI runtime spec/,
    },
  ];
  for (const tc of rejected) {
    it(`rejects ${tc.name}`, () =>
      assert.throws(
        () => specFromAny(tc.any),
        (err) => err instanceof FsbError && err.code === ErrorCode.Internal && tc.pattern.test(err.message),
      ));
  }
});
