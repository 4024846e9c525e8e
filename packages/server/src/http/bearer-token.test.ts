// The one bearer check: what it accepts, how it names a refusal, and tokens of any length compared safely.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authFailureMessage, BearerToken } from "./bearer-token.ts";

describe("BearerToken", () => {
  const token = new BearerToken("s3cret-token");

  const cases: Array<{
    name: string;
    header: string | string[] | null | undefined;
    want: string | undefined;
  }> = [
    { name: "the token", header: "Bearer s3cret-token", want: undefined },
    { name: "the scheme in any case", header: "bEaReR s3cret-token", want: undefined },
    { name: "several spaces and a trailing one", header: "Bearer   s3cret-token ", want: undefined },
    { name: "a leading space (Node strips it anyway)", header: "  Bearer s3cret-token", want: undefined },
    { name: "the first of repeated values", header: ["Bearer s3cret-token", "Bearer x"], want: undefined },
    { name: "no header", header: undefined, want: "missing" },
    { name: "null (Connect's headers)", header: null, want: "missing" },
    { name: "an empty header", header: "", want: "missing" },
    { name: "only spaces", header: "   ", want: "missing" },
    { name: "another scheme", header: "Basic dXNlcjpwYXNz", want: "malformed" },
    { name: "the scheme alone", header: "Bearer", want: "malformed" },
    { name: "the token without a scheme", header: "s3cret-token", want: "malformed" },
    { name: "two words after the scheme", header: "Bearer s3cret token", want: "malformed" },
    { name: "a wrong token of the same length", header: "Bearer s3cret-tokeN", want: "wrong" },
    { name: "a prefix of the token", header: "Bearer s3cret", want: "wrong" },
    { name: "the token and more", header: "Bearer s3cret-token-and-more", want: "wrong" },
    { name: "a one-character token", header: "Bearer x", want: "wrong" },
    { name: "a very long token", header: `Bearer ${"x".repeat(64 * 1024)}`, want: "wrong" },
    { name: "multi-byte characters", header: "Bearer s3cret-tökén", want: "wrong" },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.want ?? "accepted"}`, () => {
      assert.equal(token.check(c.header), c.want);
    });
  }

  it("compares digests, so no length of presented token throws or short-cuts", () => {
    // timingSafeEqual throws on buffers of different lengths; comparing raw tokens would either
    // throw here or need a length check that returns early (and so leaks the length).
    for (let length = 0; length <= 40; length++) {
      assert.equal(token.check(`Bearer ${"a".repeat(length)}x`), "wrong", `length ${length + 1}`);
    }
  });

  it("names each refusal for the client", () => {
    assert.match(authFailureMessage("missing"), /missing bearer token/);
    assert.match(authFailureMessage("malformed"), /malformed authorization header/);
    assert.match(authFailureMessage("wrong"), /wrong bearer token/);
  });
});
