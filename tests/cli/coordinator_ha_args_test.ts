import assert from "node:assert/strict";
import { UsageError } from "../../lib/cli/command.ts";
import { parseCoordinatorArgs } from "../../lib/cli/coordinator.ts";

const base = ["--job-id", "j", "--dataset", "/data"];

Deno.test("coordinator args: --ha-etcd, --ha-ttl-ms, --advertise-url", () => {
  const plain = parseCoordinatorArgs(base);
  assert.equal(plain.haEtcd, undefined, "no HA unless asked");
  const ha = parseCoordinatorArgs([
    ...base,
    "--ha-etcd",
    "http://127.0.0.1:2379, http://127.0.0.1:2381",
    "--ha-ttl-ms",
    "3000",
    "--advertise-url",
    "http://10.0.0.5:50051/",
    "--ha-max-inflight",
    "1",
  ]);
  assert.equal(ha.haMaxInflight, 1);
  assert.deepEqual(ha.haEtcd, [
    "http://127.0.0.1:2379",
    "http://127.0.0.1:2381",
  ]);
  assert.equal(ha.haTtlMs, 3000);
  assert.equal(ha.advertiseUrl, "http://10.0.0.5:50051");
  const defaults = parseCoordinatorArgs([
    ...base,
    "--ha-etcd",
    "http://e:2379",
  ]);
  assert.equal(defaults.haTtlMs, 2000);
  assert.equal(defaults.haMaxInflight, 1);
});

Deno.test("coordinator args: bad HA flags are usage errors naming the flag", () => {
  const bad = (args: string[], re: RegExp) =>
    assert.throws(
      () => parseCoordinatorArgs([...base, ...args]),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
    );
  bad(
    ["--ha-etcd", "127.0.0.1:2379"],
    /--ha-etcd must be etcd client URLs.*"127.0.0.1:2379"/,
  );
  bad(["--ha-etcd", ","], /--ha-etcd needs at least one URL/);
  bad(
    ["--ha-etcd", "http://e:2379", "--ha-ttl-ms", "1000"],
    /--ha-ttl-ms must be an integer >= 2000/,
  );
  bad(["--ha-ttl-ms", "3000"], /--ha-ttl-ms needs --ha-etcd/);
  bad(["--ha-max-inflight", "2"], /--ha-max-inflight needs --ha-etcd/);
  bad(
    ["--ha-etcd", "http://e:2379", "--ha-max-inflight", "0"],
    /--ha-max-inflight must be an integer >= 1/,
  );
  bad(["--advertise-url", "http://a:1"], /--advertise-url needs --ha-etcd/);
  bad(
    ["--ha-etcd", "http://e:2379", "--advertise-url", "a:1"],
    /--advertise-url must be http/,
  );
});

Deno.test("coordinator args: --ha-etcd-user takes the password from MX8_ETCD_PASSWORD", () => {
  const args = [...base, "--ha-etcd", "http://e:2379", "--ha-etcd-user", "mx8"];
  const saved = Deno.env.get("MX8_ETCD_PASSWORD");
  try {
    Deno.env.delete("MX8_ETCD_PASSWORD");
    assert.throws(
      () => parseCoordinatorArgs(args),
      (e: unknown) =>
        e instanceof UsageError &&
        /--ha-etcd-user mx8 needs the password in MX8_ETCD_PASSWORD/.test(
          e.message,
        ),
    );
    Deno.env.set("MX8_ETCD_PASSWORD", "pw");
    assert.deepEqual(parseCoordinatorArgs(args).haEtcdAuth, {
      user: "mx8",
      password: "pw",
    });
    assert.throws(
      () => parseCoordinatorArgs([...base, "--ha-etcd-user", "mx8"]),
      (e: unknown) =>
        e instanceof UsageError &&
        /--ha-etcd-user needs --ha-etcd/.test(e.message),
    );
  } finally {
    if (saved === undefined) Deno.env.delete("MX8_ETCD_PASSWORD");
    else Deno.env.set("MX8_ETCD_PASSWORD", saved);
  }
});
