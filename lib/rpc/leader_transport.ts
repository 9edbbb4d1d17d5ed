/**
 * A client transport over several coordinator replicas (`--coord-url
 * A,B,C` with `--ha-etcd`, spec §12) that follows the leader: a follower's
 * FAILED_PRECONDITION carrying `mx8-leader` metadata sends the call to that
 * URL; UNAVAILABLE (replica down, election under way) tries the next URL.
 * When every URL failed the error goes to the caller, whose retry loop
 * backs off as with one coordinator.
 *
 * @module
 */
import { Code, ConnectError, type Transport } from "@connectrpc/connect";

/** Metadata key of the leader's URL on a follower's refusal. */
const LEADER_METADATA = "mx8-leader";

/**
 * Deadline of a unary call that sets none: a replica that is paused (or
 * cut off) must not hold a call forever while another one leads.
 */
export const DEFAULT_UNARY_TIMEOUT_MS = 3000;

/** A transport and how to close its connections. */
export interface OwnedTransport {
  /** The transport. */
  transport: Transport;
  /** Closes its connections. */
  close(): void;
}

/**
 * Creates a transport that follows the leader among `urls`.
 *
 * @param urls Replica base URLs (at least one).
 * @param make Builds the transport of one URL (called lazily, once per URL).
 * @returns The transport, its `close`, and the URL it currently uses.
 *
 * @example
 * ```ts ignore
 * const t = leaderTransport(["http://a:1", "http://b:1"], (u) => transportOf(u));
 * const client = createClient(Coordinator, t.transport);
 * ```
 */
export function leaderTransport(
  urls: string[],
  make: (url: string) => OwnedTransport,
  unaryTimeoutMs = DEFAULT_UNARY_TIMEOUT_MS,
): OwnedTransport & { current(): string } {
  const known = [...urls];
  const made = new Map<string, OwnedTransport>();
  let current = 0;
  const get = (i: number) => {
    const url = known[i];
    let t = made.get(url);
    if (t === undefined) made.set(url, t = make(url));
    return t.transport;
  };
  /**
   * Picks the next URL after a failure; false when all were tried. A
   * redirect to a leader already tried (it died; the followers have not
   * seen a new one yet) becomes UNAVAILABLE, which callers retry.
   */
  const redirect = (err: unknown, tried: Set<string>): boolean => {
    const ce = ConnectError.from(err);
    const leader = ce.metadata.get(LEADER_METADATA);
    if (ce.code === Code.FailedPrecondition && leader) {
      let i = known.indexOf(leader);
      if (i < 0) i = known.push(leader) - 1;
      current = i;
      if (!tried.has(leader)) return true;
      throw new ConnectError(
        `Leader ${leader} does not answer and no other replica leads yet (failover under way): ${ce.rawMessage}`,
        Code.Unavailable,
        undefined,
        undefined,
        err,
      );
    }
    if (ce.code === Code.Unavailable || ce.code === Code.DeadlineExceeded) {
      current = (current + 1) % known.length;
      return !tried.has(known[current]);
    }
    return false;
  };
  const transport: Transport = {
    async unary(method, signal, timeoutMs, ...rest) {
      const tried = new Set<string>();
      for (;;) {
        tried.add(known[current]);
        try {
          return await get(current).unary(
            method,
            signal,
            timeoutMs ?? unaryTimeoutMs,
            ...rest,
          );
        } catch (err) {
          if (signal?.aborted || !redirect(err, tried)) throw err;
        }
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      // An attempt consumes the request stream: a retry at another replica
      // must send the same messages, so a server stream's one request is
      // read once and replayed. Client and bidi streams (the coordinator
      // has none) are not retried: their input cannot be replayed.
      const replayable = method.methodKind === "server_streaming";
      const messages: typeof input extends AsyncIterable<infer M> ? M[]
        : never = [];
      if (replayable) { for await (const m of input) messages.push(m); }
      const tried = new Set<string>();
      for (;;) {
        tried.add(known[current]);
        try {
          return await get(current).stream(
            method,
            signal,
            timeoutMs,
            header,
            replayable ? replay(messages) : input,
            contextValues,
          );
        } catch (err) {
          if (!replayable || signal?.aborted || !redirect(err, tried)) {
            throw err;
          }
        }
      }
    },
  };
  return {
    transport,
    close: () => {
      for (const t of made.values()) t.close();
    },
    current: () => known[current],
  };
}

/** The buffered request messages of a server stream, as a fresh iterable. */
async function* replay<M>(messages: M[]): AsyncIterable<M> {
  yield* messages;
}
