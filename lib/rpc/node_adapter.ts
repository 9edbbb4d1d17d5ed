/**
 * Connect routes as a `node:http` / `node:http2` request handler, like
 * `connectNodeAdapter` of `@connectrpc/connect-node`, but reading request
 * bodies under {@linkcode BodyLimits} (size cap while streaming, deadline,
 * shared byte budget) as the main port does.
 *
 * @module
 */
import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import type { ConnectRouter, ConnectRouterOptions } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { type BodyLimits, limitBody } from "./body_limit.ts";
import type { NodeHandler } from "./serve_node.ts";

/** Options of {@linkcode connectNodeHandler}. */
export interface ConnectNodeOptions extends ConnectRouterOptions {
  /** Registers the services. */
  routes: (router: ConnectRouter) => void;
  /** Limits on each request body. */
  bodyLimits: BodyLimits;
}

/**
 * Builds a node request handler serving `routes` over Connect, gRPC and
 * gRPC-Web with limited request bodies.
 *
 * @param options Routes, router options and body limits.
 * @returns A handler for {@linkcode listenNodeHttp}.
 *
 * @example Serve one method on a free port
 * ```ts
 * import assert from "node:assert/strict";
 * import { Coordinator } from "../gen/mx8/v1/coordinator_pb.ts";
 * import { createCoordinatorClient } from "./client.ts";
 * import { connectNodeHandler } from "./node_adapter.ts";
 * import { listenNodeHttp } from "./serve_node.ts";
 *
 * const handler = connectNodeHandler({
 *   routes: (router) =>
 *     router.service(Coordinator, { getJobSnapshot: (req) => ({ jobId: req.jobId }) }),
 *   bodyLimits: { maxBytes: 1024, timeoutMs: 1000 },
 * });
 * await using server = await listenNodeHttp(handler, { hostname: "127.0.0.1", port: 0 });
 * using client = createCoordinatorClient(server.url);
 * assert.equal((await client.getJobSnapshot({ jobId: "j" })).jobId, "j");
 * ```
 */
export function connectNodeHandler(options: ConnectNodeOptions): NodeHandler {
  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    readMaxBytes: options.bodyLimits.maxBytes,
    ...options,
  });
  options.routes(router);
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, h);
  return (req, res) => {
    const handler = paths.get(req.url?.split("?", 2)[0] ?? "");
    if (handler === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    const uReq = universalRequestFromNodeRequest(
      req,
      res,
      undefined,
      undefined,
    );
    const length = req.headers["content-length"];
    uReq.body = limitBody(
      uReq.body as AsyncIterable<Uint8Array>,
      options.bodyLimits,
      typeof length === "string" ? length : null,
      () => req.destroy(),
    );
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason) => {
        if (ConnectError.from(reason).code !== Code.Aborted) res.destroy();
      });
  };
}
