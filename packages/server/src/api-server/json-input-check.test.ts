// Finding the field a JSON request fails on, along the schema of our own requests.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DescMessage } from "@bufbuild/protobuf";
import {
  CreateRequestSchema,
  UpdateRequestSchema,
} from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { ApplyPoolRequestSchema } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import { findJsonProblem } from "./json-input-check.ts";

const deep = (n: number): unknown => {
  let value: unknown = [];
  for (let i = 0; i < n; i++) value = [value];
  return value;
};

describe("findJsonProblem", () => {
  const cases: Array<{
    name: string;
    desc: DescMessage;
    json: unknown;
    field?: string;
    description?: RegExp;
  }> = [
    {
      name: "a valid request",
      desc: CreateRequestSchema,
      json: { name: "a", image: "busybox", labels: { a: "b" } },
    },
    { name: "null fields are unset", desc: CreateRequestSchema, json: { name: null, resources: null } },
    {
      name: "proto names are accepted",
      desc: CreateRequestSchema,
      json: { pool_ref: "p", working_dir: "/" },
    },
    {
      name: "an unknown key",
      desc: CreateRequestSchema,
      json: { bogus: 1 },
      field: "bogus",
      description: /unknown field "bogus" is not allowed \(fastsandbox\.v1\.CreateRequest has name, /,
    },
    {
      name: "an unknown nested key",
      desc: CreateRequestSchema,
      json: { resources: { gpu: 1 } },
      field: "resources.gpu",
    },
    {
      name: "an unknown key in a list of messages",
      desc: CreateRequestSchema,
      json: { env: [{ name: "A" }, { nam: "B" }] },
      field: "env[1].nam",
    },
    {
      name: "an unknown enum name",
      desc: CreateRequestSchema,
      json: { failurePolicy: "BOGUS" },
      field: "failurePolicy",
      description:
        /^"BOGUS" is not one of FAILURE_POLICY_UNSPECIFIED, FAILURE_POLICY_MANUAL, FAILURE_POLICY_AUTO_RECREATE$/,
    },
    {
      name: "a known enum name",
      desc: CreateRequestSchema,
      json: { consistencyMode: "CONSISTENCY_MODE_STRONG" },
    },
    {
      name: "a string where a number belongs",
      desc: CreateRequestSchema,
      json: { recoveryTimeoutSeconds: "x" },
      field: "recoveryTimeoutSeconds",
      description: /expected number/,
    },
    {
      name: "a bad list item",
      desc: CreateRequestSchema,
      json: { exposedPorts: [80, "x"] },
      field: "exposedPorts[1]",
      description: /^expected number \(int32\), got "x"$/,
    },
    { name: "a list that is no list", desc: CreateRequestSchema, json: { command: "sh" }, field: "command" },
    {
      name: "a bad map value",
      desc: CreateRequestSchema,
      json: { labels: { a: 1 } },
      field: "labels.a",
      description: /^expected string, got 1$/,
    },
    {
      name: "a bad timestamp",
      desc: CreateRequestSchema,
      json: { expireTime: "tomorrow" },
      field: "expireTime",
      description: /^invalid RFC 3339 string$/,
    },
    {
      name: "a message that is no object",
      desc: CreateRequestSchema,
      json: { resources: [] },
      field: "resources",
      description: /expected an object \(Resources\), got an array/,
    },
    {
      name: "both members of a oneof",
      desc: UpdateRequestSchema,
      json: { expireTime: "2030-01-01T00:00:00Z", clearExpireTime: true },
      field: "clearExpireTime",
    },
    {
      name: "an unknown pool spec key",
      desc: ApplyPoolRequestSchema,
      json: { spec: { capacity: { poolMinn: 1 } } },
      field: "spec.capacity.poolMinn",
    },
    {
      name: "a deep array under an unknown key stops at the key",
      desc: CreateRequestSchema,
      json: { bogus: deep(10_000) },
      field: "bogus",
    },
    {
      name: "a Struct is parsed by protobuf-es",
      desc: ApplyPoolRequestSchema,
      json: { spec: { agentTemplate: { a: deep(200) } } },
      field: "spec.agentTemplate",
      description: /maximum recursion depth/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const found = findJsonProblem(c.desc, c.json);
      if (c.field === undefined) return assert.equal(found, undefined);
      assert.equal(found?.field, c.field, JSON.stringify(found));
      if (c.description) assert.match(found.description, c.description);
    });
  }
});
