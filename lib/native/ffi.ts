/**
 * The C ABI of `libmx8_ffi` (the Rust crate under `ffi/`), as one Deno FFI
 * symbols table. Parameter comments give the C types; see `ffi/src/*.rs`
 * for the contracts.
 *
 * @module
 */

/** Symbols exported by `libmx8_ffi`. */
export const symbols = {
  /** Creates a pool with a hard byte cap. Returns an `Mx8Status`. */
  mx8_pool_new: {
    parameters: [
      "u64", // uint64_t capacity_bytes
      "buffer", // Mx8Pool **out_pool
    ],
    result: "u32", // Mx8Status
  },
  /** Frees a pool (NULL is fine); live slabs stay valid. */
  mx8_pool_free: {
    parameters: [
      "pointer", // Mx8Pool *pool
    ],
    result: "void",
  },
  /** Writes `{capacity, used, high_water, retained}` bytes as 4 × u64. */
  mx8_pool_stats: {
    parameters: [
      "pointer", // const Mx8Pool *pool
      "buffer", // Mx8PoolStats *out_stats
    ],
    result: "u32", // Mx8Status
  },
  /** Frees the pool's idle cached slabs. */
  mx8_pool_trim: {
    parameters: [
      "pointer", // const Mx8Pool *pool
    ],
    result: "u32", // Mx8Status
  },
  /** Takes a slab of `bytes` bytes; `PoolExhausted` when it would exceed the cap. */
  mx8_slab_new: {
    parameters: [
      "pointer", // const Mx8Pool *pool
      "u64", // uint64_t bytes
      "buffer", // Mx8Slab **out_slab
    ],
    result: "u32", // Mx8Status
  },
  /** Returns a slab to its pool (NULL is fine). */
  mx8_slab_free: {
    parameters: [
      "pointer", // Mx8Slab *slab
    ],
    result: "void",
  },
  /** Address of a slab's memory (64-byte aligned). */
  mx8_slab_ptr: {
    parameters: [
      "pointer", // const Mx8Slab *slab
    ],
    result: "pointer", // uint8_t *
  },
  /** Length of a slab in bytes. */
  mx8_slab_len: {
    parameters: [
      "pointer", // const Mx8Slab *slab
    ],
    result: "u64", // uint64_t
  },
  /** Creates a pool whose slabs are carved from a shared file mapping. */
  mx8_pool_new_mapped: {
    parameters: [
      "buffer", // const uint8_t *path (UTF-8, not NUL-terminated)
      "usize", // size_t path_len
      "u64", // uint64_t capacity_bytes (= mapping length)
      "buffer", // Mx8Pool **out_pool
      "buffer", // char *err
      "usize", // size_t err_cap
    ],
    result: "u32", // Mx8Status
  },
  /** First byte of a mapped pool's region (NULL for a heap pool). */
  mx8_pool_base: {
    parameters: [
      "pointer", // const Mx8Pool *pool
    ],
    result: "pointer", // uint8_t *
  },
  /** Decodes + resizes a batch of JPEGs into a slab as NCHW. */
  mx8_decode_spans: {
    parameters: [
      "buffer", // const uint8_t *payload
      "usize", // size_t payload_len
      "buffer", // const uint64_t *spans (start, end per sample: 2 * count)
      "usize", // size_t count
      "u32", // uint32_t height
      "u32", // uint32_t width
      "u32", // uint32_t dtype (0 = float32, 1 = uint8)
      "u32", // uint32_t threads (0 = one per core)
      "u64", // uint64_t max_pixels (0 = 100 MP)
      "u32", // uint32_t flags (1 = fast IDCT, 2 = any DCT scale factor)
      "pointer", // Mx8Slab *out_slab
      "buffer", // uint32_t *sample_status (count entries)
      "buffer", // uint8_t *sample_errors (count * stride bytes)
      "usize", // size_t sample_error_stride
      "buffer", // uint8_t *err_buf
      "usize", // size_t err_cap
    ],
    result: "u32", // Mx8Status
    nonblocking: true,
  },
  /** Full-size decode to RGB, pixels discarded (benchmark ceiling). */
  mx8_decode_only: {
    parameters: [
      "buffer", // const uint8_t *payload
      "usize", // size_t payload_len
      "buffer", // const uint64_t *offsets (count + 1 entries)
      "usize", // size_t count
      "u32", // uint32_t threads (0 = one per core)
      "u64", // uint64_t max_pixels (0 = 100 MP)
      "u32", // uint32_t flags (1 = fast IDCT, 2 = any DCT scale factor)
      "buffer", // uint32_t *sample_status (count entries)
      "buffer", // uint64_t *out_pixels
      "buffer", // uint8_t *err_buf
      "usize", // size_t err_cap
    ],
    result: "u32", // Mx8Status
    nonblocking: true,
  },
  /** Lists a tree: sorted relative paths and sizes (see `ffi/src/list_tree.rs`). */
  mx8_list_tree: {
    parameters: [
      "buffer", // const uint8_t *root (UTF-8 path, no NUL)
      "usize", // size_t root_len
      "buffer", // const uint8_t *skip (top-level names, "\n"-separated)
      "usize", // size_t skip_len
      "buffer", // Mx8List **out_list
      "buffer", // uint64_t out_sizes[2]: file count, paths' byte length
      "buffer", // uint8_t *err_buf
      "usize", // size_t err_cap
    ],
    result: "u32", // Mx8Status
  },
  /** Address of a listing's paths (UTF-8), valid until it is taken. */
  mx8_list_paths: {
    parameters: [
      "pointer", // const Mx8List *list
    ],
    result: "pointer", // const uint8_t *
  },
  /** Copies a listing's sizes and path offsets out and frees it. */
  mx8_list_take: {
    parameters: [
      "pointer", // Mx8List *list
      "buffer", // double *sizes (count)
      "buffer", // double *starts (count + 1)
    ],
    result: "u32", // Mx8Status
  },
  /** Frees a listing without copying it (NULL is fine). */
  mx8_list_free: {
    parameters: [
      "pointer", // Mx8List *list
    ],
    result: "void",
  },
  /** Creates (truncates) a shard file for writing, mode 0644. */
  mx8_file_create: {
    parameters: [
      "buffer", // const uint8_t *path (UTF-8, no NUL)
      "usize", // size_t path_len
      "buffer", // Mx8File **out_file
      "buffer", // uint8_t *err_buf
      "usize", // size_t err_cap
    ],
    result: "u32", // Mx8Status
  },
  /** Appends bytes to a shard file. */
  mx8_file_write: {
    parameters: [
      "pointer", // Mx8File *file
      "buffer", // const uint8_t *data
      "usize", // size_t len
      "buffer", // uint8_t *err_buf
      "usize", // size_t err_cap
    ],
    result: "u32", // Mx8Status
  },
  /** Appends `prefix`, then a whole source file copied by the kernel. */
  mx8_file_append_from: {
    parameters: [
      "pointer", // Mx8File *file
      "buffer", // const uint8_t *prefix
      "u32", // uint32_t prefix_len
      "buffer", // const uint8_t *src (UTF-8 path, no NUL)
      "u32", // uint32_t src_len
      "f64", // double expected_len (integral, < 2^53)
      "buffer", // uint64_t *out_found (set on ChangedSize)
      "buffer", // uint8_t *err_buf
      "usize", // size_t err_cap
    ],
    result: "u32", // Mx8Status
  },
  /** Closes a shard file and frees its handle (NULL is fine). */
  mx8_file_close: {
    parameters: [
      "pointer", // Mx8File *file
    ],
    result: "void",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened `libmx8_ffi` library. */
export type NativeLibrary = Deno.DynamicLibrary<typeof symbols>;
