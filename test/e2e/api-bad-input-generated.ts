/** Bad-input cases generated from the request schemas: every field with a JSON value of the wrong type, unknown keys and fields, broken protobuf, per RPC. */
import { create, type DescField, type DescMessage, type DescMethod, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import type { BadInputCase } from "./api-bad-input-cases.ts";

export function jsonCase(name: string, method: DescMethod, json: string, field?: string): BadInputCase {
  return {
    name,
    method,
    request: { json },
    code: Code.InvalidArgument,
    ...(field === undefined ? {} : { field }),
  };
}

/** Field 1 (a string in every request) cut short: "premature EOF". */
export function truncated(): Uint8Array {
  const bytes = new BinaryWriter().tag(1, 2).string("some-name").finish();
  return bytes.subarray(0, bytes.length - 3);
}

/** A JSON value of the wrong type for `field`, which protobuf's JSON mapping refuses. */
function wrongValue(field: DescField): unknown {
  switch (field.fieldKind) {
    case "list":
      return "not-a-list";
    case "map":
      return ["not-a-map"];
    case "enum":
      return "NOT_A_VALUE";
    case "message":
      return field.message.typeName === "google.protobuf.Timestamp" ? "yesterday" : ["not-an-object"];
    default:
      return field.scalar === 9 /* string */ || field.scalar === 12 /* bytes */
        ? 12
        : field.scalar === 8 /* bool */
          ? "yes"
          : "twelve";
  }
}

const isOwnMessage = (desc: DescMessage) => !desc.typeName.startsWith("google.protobuf.");

/**
 * For every field of `desc` (and of the messages it holds): that field with a value of the wrong
 * JSON type, and an unknown key at each message level. `wrap` puts a fragment where `desc` sits in
 * the request; `path` is its field path.
 */
export function schemaCases(
  method: DescMethod,
  desc: DescMessage,
  wrap: (inner: unknown) => unknown,
  path: string,
): BadInputCase[] {
  const at = (key: string) => (path ? `${path}.${key}` : key);
  const out = [
    jsonCase(
      `${method.name}: unknown key at ${path || "the top"}`,
      method,
      JSON.stringify(wrap({ notAField: 1 })),
      at("notAField"),
    ),
  ];
  for (const field of desc.fields) {
    const json = JSON.stringify(wrap({ [field.jsonName]: wrongValue(field) }));
    out.push(
      jsonCase(`${method.name}: ${at(field.jsonName)} of the wrong type`, method, json, at(field.jsonName)),
    );
    if (field.fieldKind === "message" && isOwnMessage(field.message)) {
      out.push(
        ...schemaCases(
          method,
          field.message,
          (inner) => wrap({ [field.jsonName]: inner }),
          at(field.jsonName),
        ),
      );
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      out.push(
        ...schemaCases(
          method,
          field.message,
          (inner) => wrap({ [field.jsonName]: [inner] }),
          `${at(field.jsonName)}[0]`,
        ),
      );
    }
  }
  return out;
}

/** Per RPC: an unknown binary field, a truncated message, a wrong token and a body over the 4 MiB read limit. */
export function perRpcCases(method: DescMethod): BadInputCase[] {
  const unknownField = Buffer.concat([
    toBinary(method.input, create(method.input)),
    new BinaryWriter().tag(99, 0).int32(1).finish(),
  ]);
  return [
    {
      name: `${method.name}: unknown binary field 99`,
      method,
      request: { binary: unknownField },
      code: Code.InvalidArgument,
      field: "99",
    },
    {
      name: `${method.name}: truncated binary`,
      method,
      request: { binary: truncated() },
      code: Code.InvalidArgument,
    },
    {
      name: `${method.name}: wrong token`,
      method,
      request: { json: "{}" },
      code: Code.Unauthenticated,
      wrongToken: true,
    },
    {
      name: `${method.name}: a body over 4 MiB`,
      method,
      request: { json: JSON.stringify({ name: "x".repeat(4 * 1024 * 1024) }) },
      code: Code.ResourceExhausted,
    },
  ];
}
