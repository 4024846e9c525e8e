/** One gRPC connection to containerd's unix socket, with a typed client per service we use. */
import net from "node:net";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Containers } from "../../gen/containerd/services/containers_pb.ts";
import { Content } from "../../gen/containerd/services/content_pb.ts";
import { Events } from "../../gen/containerd/services/events_pb.ts";
import { Images } from "../../gen/containerd/services/images_pb.ts";
import { Snapshots } from "../../gen/containerd/services/snapshots_pb.ts";
import { Tasks } from "../../gen/containerd/services/tasks_pb.ts";
import { Version } from "../../gen/containerd/services/version_pb.ts";

/** containerd scopes images, snapshots and containers by this gRPC metadata header. */
const NAMESPACE_HEADER = "containerd-namespace";

/** Options of {@link ContainerdConnection}. */
export interface ContainerdConnectionOptions {
  /** Path of containerd's gRPC unix socket. */
  socketPath: string;
  /** containerd namespace every call is made in. */
  namespace: string;
}

/** Typed clients for one containerd namespace, sharing one HTTP/2 session. */
export class ContainerdConnection {
  readonly socketPath: string;
  readonly namespace: string;
  readonly containers: Client<typeof Containers>;
  readonly content: Client<typeof Content>;
  readonly events: Client<typeof Events>;
  readonly images: Client<typeof Images>;
  readonly snapshots: Client<typeof Snapshots>;
  readonly tasks: Client<typeof Tasks>;
  readonly version: Client<typeof Version>;
  readonly #session: Http2SessionManager;

  constructor(options: ContainerdConnectionOptions) {
    this.socketPath = options.socketPath;
    this.namespace = options.namespace;
    const namespace = options.namespace;
    const withNamespace: Interceptor = (next) => (req) => {
      req.header.set(NAMESPACE_HEADER, namespace);
      return next(req);
    };
    // The authority is irrelevant on a unix socket; the URL only has to parse.
    const baseUrl = "http://containerd";
    this.#session = new Http2SessionManager(
      baseUrl,
      {},
      { createConnection: () => net.connect(options.socketPath) },
    );
    const transport = createGrpcTransport({
      baseUrl,
      interceptors: [withNamespace],
      sessionManager: this.#session,
    });
    this.containers = createClient(Containers, transport);
    this.content = createClient(Content, transport);
    this.events = createClient(Events, transport);
    this.images = createClient(Images, transport);
    this.snapshots = createClient(Snapshots, transport);
    this.tasks = createClient(Tasks, transport);
    this.version = createClient(Version, transport);
  }

  /** Closes the HTTP/2 session; calls in flight fail. A later call would open a new session. */
  close(): void {
    this.#session.abort();
  }
}
