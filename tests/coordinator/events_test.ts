import assert from "node:assert/strict";
import {
  formatEvent,
  fromLeaseEvent,
  jsonLinesSink,
} from "../../lib/coordinator/events.ts";

Deno.test("fromLeaseEvent: type becomes event, fields become snake_case", () => {
  assert.deepEqual(
    fromLeaseEvent({
      type: "node_departed",
      nodeId: "a",
      rank: 1,
      requeuedRanges: 2,
      requeuedSamples: 8,
    }),
    {
      event: "node_departed",
      node_id: "a",
      rank: 1,
      requeued_ranges: 2,
      requeued_samples: 8,
    },
  );
  assert.deepEqual(
    fromLeaseEvent({ type: "job_ready", worldSize: 2, members: ["a", "b"] }),
    { event: "job_ready", world_size: 2, members: ["a", "b"] },
  );
});

Deno.test("jsonLinesSink: one JSON line per event, ts and event first", () => {
  const lines: string[] = [];
  const sink = jsonLinesSink({
    write: (line) => lines.push(line),
    now: () => Date.UTC(2025, 0, 2, 3, 4, 5, 6),
    fields: { job_id: "j" },
  });
  sink({ event: "lease_granted", lease_id: "l1", start_id: 0, end_id: 4 });
  sink({ event: "job_drained", completed_samples: 4 });
  assert.equal(lines.length, 2);
  assert.ok(
    lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n")),
  );
  assert.equal(
    lines[0],
    '{"ts":"2025-01-02T03:04:05.006Z","event":"lease_granted","job_id":"j","lease_id":"l1","start_id":0,"end_id":4}\n',
  );
  assert.equal(JSON.parse(lines[1]).completed_samples, 4);
});

Deno.test("formatEvent escapes values into valid JSON", () => {
  const line = formatEvent({
    event: "lease_overlap",
    detail: 'a "quoted"\nline',
  }, 0);
  assert.equal(JSON.parse(line).detail, 'a "quoted"\nline');
  assert.ok(!line.includes("\n"));
});
