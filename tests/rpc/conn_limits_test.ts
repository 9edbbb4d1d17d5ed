import assert from "node:assert/strict";
import {
  ConnectionGate,
  defaultMaxConnections,
  openFileLimit,
  type ServerEvent,
} from "../../lib/rpc/conn_limits.ts";
import { sweepAction } from "../../lib/rpc/conn_sweeper.ts";

Deno.test("defaultMaxConnections leaves a reserve below the descriptor limit", () => {
  assert.equal(defaultMaxConnections(64), 48);
  assert.equal(defaultMaxConnections(1024), 768);
  assert.equal(defaultMaxConnections(4096), 3840);
  assert.equal(defaultMaxConnections(1 << 20), 10_000);
  // This process's own limit (Linux: /proc/self/limits).
  const mine = openFileLimit();
  assert.ok(mine !== undefined && mine > 0);
  assert.equal(defaultMaxConnections(), defaultMaxConnections(mine));
});

Deno.test("ConnectionGate refuses above the cap with one rate-limited event", () => {
  const events: ServerEvent[] = [];
  const gate = new ConnectionGate(2, (e) => events.push(e));
  assert.ok(gate.admit("main"));
  assert.ok(gate.admit("grpc"));
  for (let i = 0; i < 50; i++) assert.equal(gate.admit("main"), false);
  assert.equal(events.length, 1);
  assert.equal(events[0].event, "connections_refused");
  assert.equal(events[0].open, 2);
  assert.equal(events[0].max_connections, 2);
  assert.match(String(events[0].reason), /--max-connections/);
  gate.release();
  assert.equal(gate.open, 1);
  assert.ok(gate.admit("main"));
});

Deno.test("sweepAction: header timeout for new connections, idle timeout, in-flight requests kept, close-after-answer", () => {
  const limits = { headerTimeoutMs: 1000, idleTimeoutMs: 5000 };
  const c = {
    acceptedAt: 0,
    lastActiveAt: 0,
    active: 0,
    started: false,
    kill() {},
  };
  assert.equal(sweepAction(c, 999, limits), "keep");
  assert.equal(sweepAction(c, 1000, limits), "kill");
  const used = { ...c, started: true, lastActiveAt: 2000 };
  assert.equal(sweepAction(used, 6999, limits), "keep");
  assert.equal(sweepAction(used, 7000, limits), "kill");
  assert.equal(sweepAction({ ...used, active: 2 }, 1e9, limits), "keep");
  assert.equal(
    sweepAction({ ...used, active: 1, closeAt: 3000 }, 3000, limits),
    "kill",
  );
});
