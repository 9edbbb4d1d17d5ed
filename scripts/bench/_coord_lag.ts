/**
 * Preloaded into the coordinator by `bench:coordinator --lag FILE`
 * (`deno run --preload`): every 5 ms a timer notes how late it fired, and
 * for each 100 ms wall-clock bin one TSV row goes to `$MX8_LAG_OUT`:
 * `unix_ms`, the longest timer lag (ms: the event loop was blocked or the
 * thread did not run), the main thread's CPU ms and its run-queue wait ms
 * (`/proc/thread-self/schedstat`: runnable but another process had the
 * core) and the JavaScript heap in MB. Lined up with the simulators'
 * timeline (`--timeline`, same `unix_ms` column) it says whether a slow bin
 * was the coordinator's own work (lag with CPU, no wait), the machine (lag
 * with run-queue wait) or neither (no lag: the delay was elsewhere). Rows
 * are appended once a second; bins in which the timer never ran (a stall
 * longer than a bin) are folded into the next row.
 *
 * @module
 */

const out = Deno.env.get("MX8_LAG_OUT");
if (out) {
  const PERIOD_MS = 5;
  const BIN_MS = 100;
  const schedstat = (): [number, number] => {
    try {
      const f = Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ");
      return [Number(f[0]) / 1e6, Number(f[1]) / 1e6];
    } catch {
      return [NaN, NaN];
    }
  };
  let [cpu0, wait0] = schedstat();
  let bin = Math.floor(Date.now() / BIN_MS);
  let expected = performance.now() + PERIOD_MS;
  let maxLag = 0;
  let rows = "unix_ms\tmax_lag_ms\tcpu_ms\trunq_wait_ms\theap_mb\n";
  let flushedAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - expected);
    expected = now + PERIOD_MS;
    const b = Math.floor(Date.now() / BIN_MS);
    if (b === bin) return;
    const [cpu, wait] = schedstat();
    const heap = Deno.memoryUsage().heapUsed / 1048576;
    rows += `${bin * BIN_MS}\t${maxLag.toFixed(1)}\t${
      (cpu - cpu0).toFixed(1)
    }\t${(wait - wait0).toFixed(1)}\t${heap.toFixed(1)}\n`;
    [cpu0, wait0, bin, maxLag] = [cpu, wait, b, 0];
    if (now - flushedAt >= 1000) {
      Deno.writeTextFileSync(out, rows, { append: true });
      rows = "";
      flushedAt = now;
    }
  }, PERIOD_MS);
  Deno.unrefTimer(timer);
}
