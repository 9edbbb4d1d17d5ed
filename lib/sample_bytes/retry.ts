/**
 * Retries with exponential backoff and full jitter.
 *
 * @module
 */

/** Options of {@linkcode withRetry}. */
export interface RetryOptions {
  /** Total attempts, first included (default 3). */
  attempts?: number;
  /** First backoff in ms (default 100). */
  baseDelayMs?: number;
  /** Backoff ceiling in ms (default 2000). */
  maxDelayMs?: number;
  /** Whether an error is worth another attempt (default: always). */
  isRetryable?: (err: unknown) => boolean;
  /** Called before each retry. */
  onRetry?: (err: unknown, attempt: number) => void;
  /** Stops waiting and retrying. */
  signal?: AbortSignal;
}

/**
 * Runs `fn` until it succeeds, the error is not retryable, or attempts run out.
 *
 * @typeParam T Result type.
 * @param fn The operation; receives the 1-based attempt number.
 * @param options Attempts, backoff and retry predicate.
 * @returns The result of the first successful attempt.
 * @throws The last error.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 3;
  const base = options.baseDelayMs ?? 100;
  const max = options.maxDelayMs ?? 2000;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const retryable = options.isRetryable?.(err) ?? true;
      if (attempt >= attempts || !retryable || options.signal?.aborted) {
        throw err;
      }
      options.onRetry?.(err, attempt);
      const delay = Math.random() * Math.min(max, base * 2 ** (attempt - 1));
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Whether an AWS SDK / network error is transient: 5xx, 429, throttling,
 * timeouts and connection resets.
 *
 * @param err The caught error.
 * @returns True when a retry may succeed.
 */
export function isTransientS3Error(err: unknown): boolean {
  const e = err as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  const status = e?.$metadata?.httpStatusCode;
  if (status !== undefined) {
    return status >= 500 || status === 429 || status === 408;
  }
  if (e?.$retryable) return true;
  const text = `${e?.name ?? ""} ${e?.code ?? ""}`;
  return /Timeout|ECONNRESET|ECONNREFUSED|EPIPE|socket hang up|NetworkingError|TimeoutError|AbortError|ETIMEDOUT|ENOTFOUND/i
    .test(text) || e?.name === "Error" || e?.name === "TypeError";
}
