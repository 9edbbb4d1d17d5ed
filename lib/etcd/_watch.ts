/**
 * The watch stream of the gateway: one POST whose chunked answer carries
 * newline-separated JSON messages.
 *
 * @module
 */
import { EtcdError } from "../errors.ts";
import { readInt } from "./codec.ts";
import type { Json } from "./_wire.ts";

/**
 * Opens a watch and yields each `result` message that carries events.
 *
 * @param endpoint Member URL.
 * @param request The WatchRequest (`create_request`).
 * @param signal Ends the stream.
 * @param headers Extra headers (the auth token).
 * @returns The messages.
 * @throws {EtcdError} When etcd cancels the watch or the stream breaks.
 */
export async function* watchStream(
  endpoint: string,
  request: Json,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): AsyncGenerator<Json> {
  const path = "/v3/watch";
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    let response: Response;
    try {
      response = await fetch(endpoint + path, {
        method: "POST",
        headers,
        body: JSON.stringify(request),
        signal: abort.signal,
      });
    } catch (err) {
      if (signal?.aborted) return;
      throw new EtcdError({
        code: 14,
        path,
        endpoint,
        message: `cannot open a watch (${(err as Error).message})`,
      }, { cause: err });
    }
    if (!response.body) return;
    const reader = response.body.pipeThrough(new TextDecoderStream())
      .getReader();
    let buffer = "";
    while (true) {
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (signal?.aborted) return;
        throw new EtcdError({
          code: 14,
          path,
          endpoint,
          message: `watch stream broke (${(err as Error).message})`,
        }, { cause: err });
      }
      if (chunk.done) {
        if (signal?.aborted) return;
        throw new EtcdError({
          code: 14,
          path,
          endpoint,
          message: "watch stream ended: the member went away",
        });
      }
      buffer += chunk.value;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === "") continue;
        let msg: Json;
        try {
          msg = JSON.parse(line) as Json;
        } catch {
          throw new EtcdError({
            code: 13,
            path,
            endpoint,
            message: `watch sent a line that is not JSON: "${
              line.slice(0, 80)
            }"`,
          });
        }
        if (msg.error !== undefined) {
          const e = msg.error as Json;
          throw new EtcdError({
            code: readInt(e.code ?? e.grpc_code, "code"),
            path,
            endpoint,
            message: String(e.message ?? "watch failed"),
          });
        }
        const result = (msg.result ?? {}) as Json;
        if (result.canceled === true) {
          const compacted = readInt(
            result.compact_revision,
            "compact_revision",
          );
          throw new EtcdError({
            code: 11,
            path,
            endpoint,
            message: compacted > 0
              ? `watch start revision was compacted (oldest is ${compacted}): re-read and watch again`
              : `watch cancelled: ${
                String(result.cancel_reason ?? "no reason")
              }`,
          });
        }
        yield result;
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    abort.abort();
  }
}
