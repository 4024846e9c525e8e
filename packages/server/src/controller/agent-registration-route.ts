/** `POST /api/v1/agents/register` on the API port: how self-started agents announce themselves. */
import { dnsLabelSchema, parseOrThrow, toFsbError } from "@fast-sandbox/api";
import { z } from "zod";
import type { AgentRegistration } from "../agent/controller-registration.ts";
import type { ApiRequest, ApiResponse } from "../api-server/api-server.ts";

/** A registration is a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024;

const registrationSchema = z.strictObject({
  agentId: dnsLabelSchema,
  url: z
    .string()
    .regex(/^https?:\/\/[^/\s]+\/?$/, "must be the agent's base URL, such as http://10.0.0.7:5758"),
  address: z.string().min(1).max(255),
  nodeName: z.string().min(1).max(253),
  pool: dnsLabelSchema,
  namespace: dnsLabelSchema,
  capacity: z.number().int().min(1).max(1000),
  runtime: z.enum(["container", "gvisor"]),
  token: z.string().min(1).max(4096).optional(),
});

export const REGISTER_PATH = "/api/v1/agents/register";

/** Handles the route (after auth); answers 200, or 400 with the field named. */
export async function handleRegistration(
  req: ApiRequest,
  res: ApiResponse,
  register: (registration: AgentRegistration) => void,
): Promise<void> {
  const send = (status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(body));
  };
  try {
    if (req.method !== "POST") return send(405, { error: { code: "INVALID_ARGUMENT", message: "use POST" } });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES)
        return send(413, { error: { code: "INVALID_ARGUMENT", message: "body too large" } });
      chunks.push(chunk);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch (err) {
      return send(400, {
        error: { code: "INVALID_ARGUMENT", message: `malformed JSON: ${(err as Error).message}` },
      });
    }
    const parsed = parseOrThrow(registrationSchema, body);
    register({ ...parsed, url: parsed.url.replace(/\/$/, "") });
    send(200, { ok: true });
  } catch (err) {
    const error = toFsbError(err);
    send(400, {
      error: { code: error.code, message: error.rawMessage, ...(error.field ? { field: error.field } : {}) },
    });
  }
}
