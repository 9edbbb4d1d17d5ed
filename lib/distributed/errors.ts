/**
 * Errors of distributed mode (agents and library loaders with `coordUrl`):
 * each names the coordinator URL, the job, what failed and what to do.
 *
 * @module
 */
import { Mx8Error } from "../errors.ts";

/** The coordinator refused us, or is not a coordinator, for a reason retrying cannot fix. */
export class CoordinatorRefusedError extends Mx8Error {
  /**
   * Creates the error.
   *
   * @param message What happened and what to do.
   * @param options Cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CoordinatorRefusedError";
  }
}

/** The coordinator stayed unreachable for longer than `connectTimeoutMs`. */
export class CoordinatorUnreachableError extends Mx8Error {
  /** The coordinator URL. */
  readonly url: string;

  /**
   * Creates the error.
   *
   * @param url Coordinator URL.
   * @param jobId Job id.
   * @param timeoutMs How long we tried.
   * @param lastError The last failure's text.
   * @param options Cause.
   */
  constructor(
    url: string,
    jobId: string,
    timeoutMs: number,
    lastError: string,
    options?: ErrorOptions,
  ) {
    super(
      `cannot reach the coordinator at ${url} for job ${jobId} after ${timeoutMs} ms: ${lastError}; ` +
        `is it running, and is the URL the url= of its ready line? ` +
        `(wait longer with connectTimeoutMs / --connect-timeout-ms, 0 = forever)`,
      options,
    );
    this.name = "CoordinatorUnreachableError";
    this.url = url;
  }
}

/** The membership barrier was not met within `barrierTimeoutMs`. */
export class BarrierTimeoutError extends Mx8Error {
  /** Nodes registered when we gave up. */
  readonly registeredNodes: number;
  /** Nodes the barrier needs. */
  readonly worldSize: number;

  /**
   * Creates the error.
   *
   * @param url Coordinator URL.
   * @param jobId Job id.
   * @param timeoutMs How long we waited.
   * @param registeredNodes Nodes registered.
   * @param worldSize Nodes needed.
   */
  constructor(
    url: string,
    jobId: string,
    timeoutMs: number,
    registeredNodes: number,
    worldSize: number,
  ) {
    const missing = Math.max(0, worldSize - registeredNodes);
    super(
      `job ${jobId} at ${url}: membership barrier not met after ${timeoutMs} ms: ` +
        `${registeredNodes} of ${worldSize} nodes registered, ${missing} missing; ` +
        `start the missing agents/loaders, or lower the coordinator's --world-size / --min-world-size ` +
        `(wait longer with barrierTimeoutMs / --barrier-timeout-ms, 0 = forever)`,
    );
    this.name = "BarrierTimeoutError";
    this.registeredNodes = registeredNodes;
    this.worldSize = worldSize;
  }
}
