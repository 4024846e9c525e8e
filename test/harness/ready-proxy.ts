/**
 * What a Kubernetes Service does for the controller replicas, on loopback: every request goes to a
 * backend whose /readyz answers 200 (the leader), and none while no backend is ready. Tests of
 * leader failover send clients and agents through it, as a cluster sends them through the Service.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReadyBackend {
  /** Where requests go: http://127.0.0.1:<api port>. */
  url: string;
  /** The backend's readiness endpoint. */
  readyz: string;
}

export interface ReadyProxy {
  url: string;
  close(): Promise<void>;
}

/** Readiness is probed this often, as the controller's readinessProbe (periodSeconds: 1) does. */
const PROBE_INTERVAL_MS = 1000;

export async function startReadyProxy(backends: ReadyBackend[]): Promise<ReadyProxy> {
  let ready: ReadyBackend | undefined;
  const probe = async () => {
    for (const b of backends) {
      const ok = await fetch(b.readyz, { signal: AbortSignal.timeout(900) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) {
        ready = b;
        return;
      }
    }
    ready = undefined;
  };
  await probe();
  const timer = setInterval(() => void probe(), PROBE_INTERVAL_MS);
  const server = http.createServer((req, res) => {
    const target = ready;
    if (target === undefined) {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "unavailable", message: "no ready controller behind the proxy" }));
      return;
    }
    const upstream = http.request(
      new URL(req.url ?? "/", target.url),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "unavailable", message: "the ready controller went away" }));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
