import assert from "node:assert/strict";
import { createCoordinatorClient } from "../../lib/rpc/client.ts";
import { MANIFEST_CHUNK_BYTES } from "../../lib/coordinator/manifest_chunks.ts";
import { manifestHash, serializeManifest } from "../../lib/manifest/tsv.ts";
import { tempDir } from "../_helpers/tmp.ts";
import { startCoordinator, writeDataset } from "./_process.ts";

const PROTO_DIR = new URL("../../proto", import.meta.url).pathname;
const BUF = "npm:@bufbuild/buf@1.74.0";

async function bufCurl(args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", BUF, "curl", "--schema", PROTO_DIR, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("interop: buf curl over gRPC (h2c, gRPC port) and gRPC-Web / Connect (HTTP/1.1, main port) reads the snapshot", async () => {
  await using data = await tempDir();
  await using store = await tempDir();
  await writeDataset(data.path, 5);
  const tokenFile = `${store.path}/token`;
  await Deno.writeTextFile(tokenFile, "tok");
  await using coord = await startCoordinator([
    "--job-id",
    "interop",
    "--dataset",
    data.path,
    "--manifest-store",
    store.path,
    "--auth-token-file",
    tokenFile,
  ]);
  const path = "/mx8.v1.Coordinator/GetJobSnapshot";
  const rpc = `${coord.url}${path}`;
  const grpcRpc = `${coord.grpcUrl}${path}`;
  assert.notEqual(coord.grpcUrl, coord.url);
  const body = JSON.stringify({ job_id: "interop" });
  for (
    const [url, ...protocol] of [
      [grpcRpc, "--protocol", "grpc", "--http2-prior-knowledge"],
      [grpcRpc, "--protocol", "grpcweb"],
      [rpc, "--protocol", "grpcweb"],
      [rpc, "--protocol", "connect"],
      [rpc, "--protocol", "connect", "--http2-prior-knowledge"],
    ]
  ) {
    const out = await bufCurl([
      ...protocol,
      "-H",
      "Authorization: Bearer tok",
      "-d",
      body,
      url,
    ]);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `${protocol}: ${stderr}`);
    const snap = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(snap.jobId, "interop");
    assert.equal(snap.manifestHash, coord.manifestHash);
    assert.equal(snap.totalSamples, "5");
  }
  const denied = await bufCurl([
    "--protocol",
    "grpc",
    "--http2-prior-knowledge",
    "-d",
    body,
    grpcRpc,
  ]);
  assert.notEqual(denied.code, 0);
  assert.match(new TextDecoder().decode(denied.stderr), /unauthenticated/);
  // gRPC on the main port: a well-formed gRPC error that names the gRPC port.
  const wrongPort = await bufCurl([
    "--protocol",
    "grpc",
    "--http2-prior-knowledge",
    "-H",
    "Authorization: Bearer tok",
    "-d",
    body,
    rpc,
  ]);
  assert.notEqual(wrongPort.code, 0);
  const why = new TextDecoder().decode(wrongPort.stderr);
  assert.match(why, /unimplemented/, why);
  assert.ok(why.includes(coord.grpcUrl), why);
});

Deno.test("a > 4 MiB manifest arrives intact through GetManifestStream in ≤ 1 MiB chunks", async () => {
  await using dir = await tempDir();
  await using store = await tempDir();
  const pad = "x".repeat(60);
  const rows = Array.from({ length: 60_000 }, (_, i) => ({
    sampleId: i,
    location: `s3://bucket/very/long/prefix/${pad}/${
      String(i).padStart(8, "0")
    }.jpg`,
  }));
  const bytes = serializeManifest(rows);
  assert.ok(bytes.length > 4 * 1048576, `manifest is ${bytes.length} bytes`);
  const path = `${dir.path}/big.tsv`;
  await Deno.writeFile(path, bytes);
  await using coord = await startCoordinator([
    "--job-id",
    "big",
    "--dataset",
    path,
    "--manifest-store",
    store.path,
  ]);
  assert.equal(coord.manifestHash, manifestHash(bytes));
  assert.equal(coord.samples, 60_000);
  for (const protocol of ["connect", "grpc-web"] as const) {
    using client = createCoordinatorClient(coord.url, { protocol });
    const joined = new Uint8Array(bytes.length);
    let at = 0;
    let chunks = 0;
    for await (
      const chunk of client.getManifestStream({
        jobId: "big",
        manifestHash: coord.manifestHash,
      })
    ) {
      assert.ok(chunk.data.length <= MANIFEST_CHUNK_BYTES);
      assert.ok(at + chunk.data.length <= bytes.length, "too many bytes");
      joined.set(chunk.data, at);
      at += chunk.data.length;
      chunks++;
    }
    assert.equal(at, bytes.length, protocol);
    assert.ok(chunks >= 5, `${chunks} chunks`);
    assert.equal(manifestHash(joined), coord.manifestHash, protocol);
  }
  // The same stream over gRPC on h2c, read by buf (a Go gRPC client).
  const out = await bufCurl([
    "--protocol",
    "grpc",
    "--http2-prior-knowledge",
    "-d",
    JSON.stringify({ job_id: "big", manifest_hash: coord.manifestHash }),
    `${coord.grpcUrl}/mx8.v1.Coordinator/GetManifestStream`,
  ]);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const text = new TextDecoder().decode(out.stdout);
  const datas = [...text.matchAll(/"data":\s*"([^"]*)"/g)].map((m) =>
    Uint8Array.fromBase64(m[1])
  );
  assert.ok(datas.length >= 5);
  assert.ok(datas.every((d) => d.length <= MANIFEST_CHUNK_BYTES));
  const viaGrpc = new Uint8Array(datas.reduce((n, d) => n + d.length, 0));
  let pos = 0;
  for (const d of datas) {
    viaGrpc.set(d, pos);
    pos += d.length;
  }
  assert.equal(manifestHash(viaGrpc), coord.manifestHash, "grpc via buf");
});
