/** A tiny HTTP server for fixed GET paths (health probes, metrics): no auth, nothing else. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { BindAddress } from "./controller-config.ts";

export type PlainRoute = () => Promise<{ status: number; contentType: string; body: string }>;

export interface PlainHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startPlainHttpServer(
  bind: BindAddress,
  routes: Record<string, PlainRoute>,
): Promise<PlainHttpServer> {
  const server = http.createServer((req, res) => {
    const route = routes[new URL(req.url ?? "/", "http://x").pathname];
    if (!route || req.method !== "GET") {
      res.writeHead(route ? 405 : 404).end();
      return;
    }
    route().then(
      ({ status, contentType, body }) => res.writeHead(status, { "content-type": contentType }).end(body),
      (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(bind.port, bind.host || undefined, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
