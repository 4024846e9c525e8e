// Unknown field numbers in binary requests are found wherever they sit, and named by their path.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import {
  CreateRequestSchema,
  UpdateRequestSchema,
} from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { ApplyPoolRequestSchema } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import { findUnknownField } from "./unknown-fields.ts";

/** The message's bytes with an extra varint field `no` appended at the end of the bytes `at`. */
const withField = (no: number) => new BinaryWriter().tag(no, 0).int32(1).finish();

describe("findUnknownField", () => {
  it("finds nothing in a message of known fields", () => {
    const bytes = toBinary(
      CreateRequestSchema,
      create(CreateRequestSchema, { name: "a", env: [{ name: "A" }] }),
    );
    assert.equal(findUnknownField(CreateRequestSchema, fromBinary(CreateRequestSchema, bytes)), undefined);
  });
  it("names a top-level unknown field by its number", () => {
    const bytes = Buffer.concat([
      toBinary(CreateRequestSchema, create(CreateRequestSchema, { name: "a" })),
      withField(99),
    ]);
    const found = findUnknownField(CreateRequestSchema, fromBinary(CreateRequestSchema, bytes));
    assert.equal(found?.field, "99");
    assert.match(
      found?.description ?? "",
      /unknown field number 99 is not allowed \(fastsandbox\.v1\.CreateRequest has 1 name/,
    );
  });
  it("names one inside a nested message, a list entry and a oneof", () => {
    const resources = new BinaryWriter().tag(14, 2).bytes(withField(7)).finish();
    const inResources = fromBinary(CreateRequestSchema, resources);
    assert.equal(findUnknownField(CreateRequestSchema, inResources)?.field, "resources.7");
    const env = new BinaryWriter().tag(6, 2).bytes(new Uint8Array()).tag(6, 2).bytes(withField(5)).finish();
    assert.equal(
      findUnknownField(CreateRequestSchema, fromBinary(CreateRequestSchema, env))?.field,
      "env[1].5",
    );
    const expire = new BinaryWriter().tag(4, 2).bytes(withField(9)).finish();
    assert.equal(
      findUnknownField(UpdateRequestSchema, fromBinary(UpdateRequestSchema, expire))?.field,
      "expireTime.9",
    );
  });
  it("walks pool specs down to prewarm templates", () => {
    const template = new BinaryWriter().tag(4, 2).bytes(withField(12)).finish();
    const spec = new BinaryWriter().tag(3, 2).bytes(template).finish();
    const found = findUnknownField(ApplyPoolRequestSchema, fromBinary(ApplyPoolRequestSchema, spec));
    assert.equal(found?.field, "spec.prewarm[0].12");
  });
});
