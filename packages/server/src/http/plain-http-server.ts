/** A tiny HTTP server for fixed GET paths (health probes, metrics): no auth, nothing else. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Runnable } from "../core/runnable.ts";
import { sendText } from "./responses.ts";
import { type Route, RouteTable } from "./route-table.ts";

export type PlainRoute = () => Promise<{ status: number; contentType: string; body: string }>;

/** Where to listen: host "" means every interface. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Serves `routes` on `bind` between start and stop; a route that fails answers 500. */
export class PlainHttpServer implements Runnable {
  readonly #bind: ListenAddress;
  readonly #server: http.Server;

  constructor(bind: ListenAddress, routes: Record<string, PlainRoute>) {
    this.#bind = bind;
    const table = new RouteTable(
      Object.fromEntries(Object.entries(routes).map(([path, route]) => [path, plainRoute(route)])),
    );
    this.#server = http.createServer((req, res) => void table.handle(req, res));
  }

  /** The bound port while it listens (between start and stop). */
  get port(): number | undefined {
    return (this.#server.address() as AddressInfo | null)?.port;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#bind.port, this.#bind.host || undefined, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
  }

  /** Closes every connection at once (probes and scrapes have nothing worth finishing). */
  stop(): Promise<void> {
    if (!this.#server.listening) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}

/** Starts a {@link PlainHttpServer}; resolves once it listens. */
export async function startPlainHttpServer(
  bind: ListenAddress,
  routes: Record<string, PlainRoute>,
): Promise<PlainHttpServer> {
  const server = new PlainHttpServer(bind, routes);
  await server.start();
  return server;
}

/** A plain route as a public GET route of a {@link RouteTable}. */
export function plainRoute(route: PlainRoute): Route {
  return {
    method: "GET",
    public: true,
    async handle(_req, res) {
      const { status, contentType, body } = await route();
      sendText(res, status, body, contentType);
    },
  };
}
