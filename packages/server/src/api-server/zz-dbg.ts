import { FastPathService } from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { createApiServer } from "./api-server.ts";

const server = createApiServer({
  routes: (r) => r.service(FastPathService, { getSandbox: (req) => ({ name: req.name }) }),
  token: "t",
  logError: (e) => console.log("LOG", e),
});
await server.listen(18977, "127.0.0.1");
setTimeout(() => server.close(), 15000);
