import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "./errors.ts";
import { type ImageRef, imageRefSchema, isImageRef, normalizeImageName, parseImageRef } from "./image-ref.ts";
import { parseOrThrow } from "./zod-error.ts";

const sha = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("normalizeImageName", () => {
  const cases: [string, string, string][] = [
    ["official image", "alpine", "docker.io/library/alpine:latest"],
    ["official image with tag", "alpine:3.20", "docker.io/library/alpine:3.20"],
    ["user repository", "foo/bar", "docker.io/foo/bar:latest"],
    ["explicit docker.io", "docker.io/alpine", "docker.io/library/alpine:latest"],
    ["explicit library", "docker.io/library/alpine:edge", "docker.io/library/alpine:edge"],
    ["legacy index host", "index.docker.io/foo/bar:1", "docker.io/foo/bar:1"],
    ["legacy index host, official image", "index.docker.io/alpine", "docker.io/library/alpine:latest"],
    ["other registry", "ghcr.io/a/b:1", "ghcr.io/a/b:1"],
    ["localhost with port", "localhost:5000/x", "localhost:5000/x:latest"],
    ["bare localhost", "localhost/x:dev", "localhost/x:dev"],
    [
      "registry with port and deep path",
      "registry.example.com:8443/team/app/web:v1.2.3",
      "registry.example.com:8443/team/app/web:v1.2.3",
    ],
    ["IPv6 registry", "[::1]:5000/x", "[::1]:5000/x:latest"],
    ["digest only", `alpine@${sha}`, `docker.io/library/alpine@${sha}`],
    ["tag and digest", `ghcr.io/a/b:1@${sha}`, `ghcr.io/a/b:1@${sha}`],
    ["separators in path", "foo/a.b/c_d__e---f:x", "docker.io/foo/a.b/c_d__e---f:x"],
    ["first component with a dot is a registry", "a.b/c", "a.b/c:latest"],
    ["no dot means no registry", "myhost/app", "docker.io/myhost/app:latest"],
    ["image named after a port-less host", "localhost:5000", "docker.io/library/localhost:5000"],
    ["tag with underscore start", "app:_x", "docker.io/library/app:_x"],
    ["128-character tag", `app:${"t".repeat(128)}`, `docker.io/library/app:${"t".repeat(128)}`],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      assert.equal(normalizeImageName(input), expected);
      assert.equal(isImageRef(input), true);
      assert.equal(imageRefSchema.parse(input), input);
    });
  }
});

describe("parseImageRef", () => {
  const cases: [string, string, ImageRef][] = [
    ["no tag stays absent", "alpine", { domain: "docker.io", path: "library/alpine" }],
    ["tag", "ghcr.io/a/b:1", { domain: "ghcr.io", path: "a/b", tag: "1" }],
    ["digest", `quay.io/x@${sha}`, { domain: "quay.io", path: "x", digest: sha }],
    ["tag and digest", `x:y@${sha}`, { domain: "docker.io", path: "library/x", tag: "y", digest: sha }],
    ["port is not a tag", "localhost:5000/a/b", { domain: "localhost:5000", path: "a/b" }],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      assert.deepEqual(parseImageRef(input), expected);
    });
  }
});

describe("invalid image references", () => {
  const cases: [string, unknown, RegExp][] = [
    ["empty", "", /must not be empty/],
    ["not a string", 7, /must be a string/],
    ["leading space", " alpine", /whitespace/],
    ["inner space", "alp ine", /whitespace/],
    ["tab", "alpine\t", /whitespace/],
    ["NUL", "alpine\0", /control characters/],
    ["uppercase path", "Alpine", /invalid path component "Alpine" \(repository paths must be lowercase\)/],
    ["uppercase after registry", "ghcr.io/Org/app", /must be lowercase/],
    ["empty tag", "alpine:", /invalid tag ""/],
    ["tag starting with dot", "alpine:.x", /invalid tag ".x"/],
    ["tag starting with hyphen", "alpine:-x", /invalid tag/],
    ["129-character tag", `alpine:${"t".repeat(129)}`, /invalid tag/],
    ["tag with slash-free garbage", "alpine:a+b", /invalid tag/],
    ["short digest", "alpine@sha256:abc", /invalid digest "sha256:abc"/],
    ["uppercase digest", `alpine@${sha.toUpperCase()}`, /invalid digest/],
    ["other algorithm", `alpine@sha512:${"a".repeat(128)}`, /expected sha256:<64 lowercase hex digits>/],
    ["empty digest", "alpine@", /invalid digest/],
    ["digest without a name", `@${sha}`, /has no image name/],
    ["trailing slash", "foo/", /empty path component/],
    ["double slash", "foo//bar", /empty path component/],
    ["leading slash", "/foo", /empty path component/],
    ["registry without path", "ghcr.io/", /no repository path after the registry/],
    ["bad registry", "-bad.io/x", /invalid registry "-bad.io"/],
    ["bad registry port", "host.io:port/x", /invalid registry/],
    ["leading separator", "_foo", /invalid path component "_foo"/],
    ["trailing separator", "foo.", /invalid path component/],
    ["triple underscore", "a___b", /invalid path component/],
    ["dot then dash", "a.-b", /invalid path component/],
    ["image id", "0123456789abcdef".repeat(4), /image id/],
    ["name over 255", `ghcr.io/${"a".repeat(248)}`, /image name of 256 characters; at most 255/],
    ["far too long", "a".repeat(1000), /is too long \(1000 characters\)/],
  ];
  for (const [name, input, message] of cases) {
    it(`rejects ${name}`, () => {
      assert.equal(isImageRef(input), false);
      assert.throws(() => parseImageRef(input, "sandbox.image"), {
        name: "FsbError",
        code: ErrorCode.InvalidArgument,
        field: "sandbox.image",
        message,
      });
      assert.throws(() => normalizeImageName(input), { code: ErrorCode.InvalidArgument, field: "image" });
      assert.equal(imageRefSchema.safeParse(input).success, false);
    });
  }

  it("accepts a 255-character name", () => {
    assert.equal(isImageRef(`ghcr.io/${"a".repeat(247)}`), true);
  });

  it("does not backtrack catastrophically on a near-miss path", () => {
    const started = performance.now();
    assert.equal(isImageRef(`${"a".repeat(250)}!`), false);
    assert.ok(performance.now() - started < 100);
  });

  it("reads well through parseOrThrow", () => {
    assert.throws(() => parseOrThrow(imageRefSchema, "Alpine:latest", "sandbox.image"), {
      field: "sandbox.image",
      message:
        /^sandbox\.image: has an invalid path component "Alpine" \(repository paths must be lowercase\)/,
    });
  });
});
