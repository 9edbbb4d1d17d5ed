//! A thread-safe buffer pool with a hard byte capacity.
//!
//! The pool hands out slabs (64-byte aligned allocations). A slab's bytes
//! count against the capacity from `mx8_slab_new` until `mx8_slab_free`;
//! freed slabs are kept idle for reuse (same size) as long as idle + used
//! bytes fit in the capacity, and are evicted first when a new size needs the
//! room. The pool therefore never holds more than `capacity` bytes of slabs,
//! live and idle together. Slabs hold a reference to the pool state, so
//! freeing the pool with slabs still live is safe.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::mapped::Region;
use crate::panic::{ffi_guard, ffi_guard_value, ErrBuf};
use crate::status::{Mx8Error, Mx8Result, Mx8Status};

const SLAB_ALIGN: usize = 64;
const MAX_IDLE_SLABS: usize = 16;

/// One raw allocation of `size` bytes aligned to [`SLAB_ALIGN`], or (when
/// `mapped`) a range of the pool's shared region, returned to it on release.
struct Block {
    ptr: NonNull<u8>,
    size: usize,
    mapped: bool,
}

// SAFETY: a `Block` exclusively owns its allocation; it carries no thread
// affinity and is only accessed through `&mut`/ownership.
unsafe impl Send for Block {}

impl Block {
    fn allocate(size: usize) -> Mx8Result<Self> {
        let layout = Layout::from_size_align(size, SLAB_ALIGN)
            .map_err(|_| Mx8Error::new(Mx8Status::InvalidArgument, "slab size too large"))?;
        // SAFETY: `layout` has a non-zero size (callers reject 0).
        let raw = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or_else(|| {
            Mx8Error::new(
                Mx8Status::OutOfMemory,
                format!("allocating a {size}-byte slab failed"),
            )
        })?;
        Ok(Self {
            ptr,
            size,
            mapped: false,
        })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if self.mapped {
            return; // a region range: PoolInner::release gives it back
        }
        // SAFETY: `ptr` came from `alloc_zeroed` with exactly this layout,
        // which was valid when allocated, and is freed only here.
        unsafe {
            dealloc(
                self.ptr.as_ptr(),
                Layout::from_size_align_unchecked(self.size, SLAB_ALIGN),
            )
        };
    }
}

#[derive(Default)]
struct PoolState {
    used: u64,
    high_water: u64,
    idle: Vec<Block>,
    idle_bytes: u64,
}

struct PoolInner {
    capacity: u64,
    state: Mutex<PoolState>,
    /// Shared memory slabs are carved from (`mx8_pool_new_mapped`).
    region: Option<Region>,
}

impl PoolInner {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn acquire(self: &Arc<Self>, bytes: u64) -> Mx8Result<Mx8Slab> {
        if bytes == 0 {
            return Err(Mx8Error::new(
                Mx8Status::InvalidArgument,
                "slab size must be > 0",
            ));
        }
        let size = usize::try_from(bytes)
            .map_err(|_| Mx8Error::new(Mx8Status::InvalidArgument, "slab size too large"))?;
        if let Some(region) = &self.region {
            return self.acquire_mapped(region, bytes, size);
        }
        let mut evicted = Vec::new();
        let reused = {
            let mut st = self.lock();
            if st.used + bytes > self.capacity {
                return Err(Mx8Error::new(
                    Mx8Status::PoolExhausted,
                    format!(
                        "pool exhausted: {} used + {} requested > capacity {}",
                        st.used, bytes, self.capacity
                    ),
                ));
            }
            st.used += bytes;
            st.high_water = st.high_water.max(st.used);
            if let Some(i) = st.idle.iter().position(|b| b.size == size) {
                let block = st.idle.swap_remove(i);
                st.idle_bytes -= bytes;
                Some(block)
            } else {
                // Evict idle slabs (largest first) until the new one fits.
                while st.used + st.idle_bytes > self.capacity {
                    let i = (0..st.idle.len()).max_by_key(|&i| st.idle[i].size).unwrap();
                    let block = st.idle.swap_remove(i);
                    st.idle_bytes -= block.size as u64;
                    evicted.push(block);
                }
                None
            }
        };
        drop(evicted); // deallocate outside the lock
        let block = match reused {
            Some(block) => block,
            None => Block::allocate(size).inspect_err(|_| {
                self.lock().used -= bytes;
            })?,
        };
        Ok(Mx8Slab {
            pool: Arc::clone(self),
            block: Some(block),
        })
    }

    /// A slab in the shared region when a free range fits, else (the region
    /// fragmented although the byte cap allows it) a private heap block:
    /// callers check `mx8_pool_contains` and copy such a batch.
    fn acquire_mapped(
        self: &Arc<Self>,
        region: &Region,
        bytes: u64,
        size: usize,
    ) -> Mx8Result<Mx8Slab> {
        {
            let mut st = self.lock();
            if st.used + bytes > self.capacity {
                return Err(Mx8Error::new(
                    Mx8Status::PoolExhausted,
                    format!(
                        "pool exhausted: {} used + {} requested > capacity {}",
                        st.used, bytes, self.capacity
                    ),
                ));
            }
            st.used += bytes;
            st.high_water = st.high_water.max(st.used);
        }
        let block = match region.take(size) {
            Some((ptr, _)) => Block {
                ptr,
                size,
                mapped: true,
            },
            None => Block::allocate(size).inspect_err(|_| {
                self.lock().used -= bytes;
            })?,
        };
        Ok(Mx8Slab {
            pool: Arc::clone(self),
            block: Some(block),
        })
    }

    fn release(&self, block: Block) {
        if let Some(region) = &self.region {
            self.lock().used -= block.size as u64;
            if block.mapped {
                region.give(block.ptr, round_to_region(block.size));
            }
            return; // a heap fallback block frees itself on drop
        }
        let mut st = self.lock();
        st.used -= block.size as u64;
        if st.idle.len() < MAX_IDLE_SLABS
            && st.used + st.idle_bytes + block.size as u64 <= self.capacity
        {
            st.idle_bytes += block.size as u64;
            st.idle.push(block);
        } else {
            drop(st);
            drop(block);
        }
    }

    fn trim(&self) {
        let idle = {
            let mut st = self.lock();
            st.idle_bytes = 0;
            std::mem::take(&mut st.idle)
        };
        drop(idle);
    }
}

fn round_to_region(size: usize) -> usize {
    (size + crate::mapped::REGION_ALIGN - 1) & !(crate::mapped::REGION_ALIGN - 1)
}

/// Opaque pool handle (`mx8_pool_new` / `mx8_pool_free`).
pub struct Mx8Pool {
    inner: Arc<PoolInner>,
}

/// Opaque slab handle (`mx8_slab_new` / `mx8_slab_free`).
pub struct Mx8Slab {
    pool: Arc<PoolInner>,
    block: Option<Block>,
}

impl Mx8Slab {
    /// The slab memory as a mutable byte slice.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        let block = self.block.as_ref().expect("live slab");
        // SAFETY: the block owns `size` initialized (zeroed at allocation,
        // then only ever written with bytes) bytes, and `&mut self` gives
        // exclusive access on the Rust side.
        unsafe { std::slice::from_raw_parts_mut(block.ptr.as_ptr(), block.size) }
    }
}

impl Drop for Mx8Slab {
    fn drop(&mut self) {
        if let Some(block) = self.block.take() {
            self.pool.release(block);
        }
    }
}

/// Pool counters, filled by `mx8_pool_stats`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct Mx8PoolStats {
    /// Hard cap in bytes.
    pub capacity_bytes: u64,
    /// Bytes held by live slabs.
    pub used_bytes: u64,
    /// Maximum of `used_bytes` since the pool was created.
    pub high_water_bytes: u64,
    /// Bytes allocated from the system: live slabs plus idle cached slabs.
    pub retained_bytes: u64,
}

/// Creates a pool that never holds more than `capacity_bytes` of slabs.
///
/// # Safety
/// `out_pool` must be valid for a pointer write. On success `*out_pool` owns a
/// pool that must be released with `mx8_pool_free`.
#[no_mangle]
pub unsafe extern "C" fn mx8_pool_new(capacity_bytes: u64, out_pool: *mut *mut Mx8Pool) -> u32 {
    ffi_guard(ErrBuf::none(), || {
        if out_pool.is_null() {
            return Err(Mx8Error::new(Mx8Status::NullArgument, "out_pool is NULL"));
        }
        if capacity_bytes == 0 {
            return Err(Mx8Error::new(
                Mx8Status::InvalidArgument,
                "capacity must be > 0",
            ));
        }
        let pool = Box::new(Mx8Pool {
            inner: Arc::new(PoolInner {
                capacity: capacity_bytes,
                state: Mutex::new(PoolState::default()),
                region: None,
            }),
        });
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { *out_pool = Box::into_raw(pool) };
        Ok(())
    })
}

/// Frees a pool. Live slabs stay valid until they are freed. NULL is a no-op.
///
/// # Safety
/// `pool` must be NULL or a pointer from `mx8_pool_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn mx8_pool_free(pool: *mut Mx8Pool) {
    ffi_guard_value((), || {
        if !pool.is_null() {
            // SAFETY: per contract, `pool` came from Box::into_raw and is freed once.
            drop(unsafe { Box::from_raw(pool) });
        }
    })
}

/// Writes the pool counters into `*out_stats`.
///
/// # Safety
/// `pool` must be a live pool; `out_stats` must be valid for a write of
/// `Mx8PoolStats` (4 × u64).
#[no_mangle]
pub unsafe extern "C" fn mx8_pool_stats(pool: *const Mx8Pool, out_stats: *mut Mx8PoolStats) -> u32 {
    ffi_guard(ErrBuf::none(), || {
        if pool.is_null() || out_stats.is_null() {
            return Err(Mx8Error::new(Mx8Status::NullArgument, "NULL argument"));
        }
        // SAFETY: non-NULL and live per contract.
        let inner = unsafe { &(*pool).inner };
        let st = inner.lock();
        let stats = Mx8PoolStats {
            capacity_bytes: inner.capacity,
            used_bytes: st.used,
            high_water_bytes: st.high_water,
            retained_bytes: st.used + st.idle_bytes,
        };
        // SAFETY: non-NULL and writable per contract; may be unaligned
        // when it comes from a JS byte buffer.
        unsafe { out_stats.write_unaligned(stats) };
        Ok(())
    })
}

/// Frees the idle (cached) slabs of a pool.
///
/// # Safety
/// `pool` must be a live pool.
#[no_mangle]
pub unsafe extern "C" fn mx8_pool_trim(pool: *const Mx8Pool) -> u32 {
    ffi_guard(ErrBuf::none(), || {
        if pool.is_null() {
            return Err(Mx8Error::new(Mx8Status::NullArgument, "pool is NULL"));
        }
        // SAFETY: non-NULL and live per contract.
        unsafe { &(*pool).inner }.trim();
        Ok(())
    })
}

/// Takes a slab of exactly `bytes` bytes (64-byte aligned) from the pool.
/// Returns `PoolExhausted` without allocating when the live slabs plus
/// `bytes` would exceed the capacity. A reused slab still holds the bytes of
/// its previous user; a fresh one is zeroed.
///
/// # Safety
/// `pool` must be a live pool; `out_slab` must be valid for a pointer write.
/// On success `*out_slab` must be released with `mx8_slab_free`.
#[no_mangle]
pub unsafe extern "C" fn mx8_slab_new(
    pool: *const Mx8Pool,
    bytes: u64,
    out_slab: *mut *mut Mx8Slab,
) -> u32 {
    ffi_guard(ErrBuf::none(), || {
        if pool.is_null() || out_slab.is_null() {
            return Err(Mx8Error::new(Mx8Status::NullArgument, "NULL argument"));
        }
        // SAFETY: non-NULL and live per contract.
        let slab = unsafe { &(*pool).inner }.acquire(bytes)?;
        // SAFETY: checked non-NULL; writable per contract.
        unsafe { *out_slab = Box::into_raw(Box::new(slab)) };
        Ok(())
    })
}

/// Returns a slab to its pool. NULL is a no-op.
///
/// # Safety
/// `slab` must be NULL or a pointer from `mx8_slab_new` not yet freed, and no
/// call may be using it concurrently.
#[no_mangle]
pub unsafe extern "C" fn mx8_slab_free(slab: *mut Mx8Slab) {
    ffi_guard_value((), || {
        if !slab.is_null() {
            // SAFETY: per contract, `slab` came from Box::into_raw and is freed once.
            drop(unsafe { Box::from_raw(slab) });
        }
    })
}

/// The address of a slab's memory (NULL for a NULL slab).
///
/// # Safety
/// `slab` must be NULL or a live slab.
#[no_mangle]
pub unsafe extern "C" fn mx8_slab_ptr(slab: *const Mx8Slab) -> *mut u8 {
    ffi_guard_value(std::ptr::null_mut(), || {
        // SAFETY: NULL or live per contract.
        match unsafe { slab.as_ref() } {
            Some(s) => s
                .block
                .as_ref()
                .map_or(std::ptr::null_mut(), |b| b.ptr.as_ptr()),
            None => std::ptr::null_mut(),
        }
    })
}

/// The length in bytes of a slab (0 for a NULL slab).
///
/// # Safety
/// `slab` must be NULL or a live slab.
#[no_mangle]
pub unsafe extern "C" fn mx8_slab_len(slab: *const Mx8Slab) -> u64 {
    ffi_guard_value(0, || {
        // SAFETY: NULL or live per contract.
        match unsafe { slab.as_ref() } {
            Some(s) => s.block.as_ref().map_or(0, |b| b.size as u64),
            None => 0,
        }
    })
}

// ---------------------------------------------------------------------------
// Pools over a shared mapping (the Python binding's batch memory).

/// Creates a pool whose slabs are carved from the file at `path` (UTF-8
/// bytes, normally under `/dev/shm`) mapped shared: its first
/// `capacity_bytes` bytes are the pool, so what the decoder writes into a
/// slab is visible to every process that mapped the file. The capacity is
/// the mapping length. Should the region be too fragmented for a request
/// that the capacity allows, that slab comes from the heap instead (see
/// `mx8_pool_base` to tell them apart). The mapping lives until the pool
/// and its last slab are freed. Error text goes to `err` (`err_cap` bytes).
///
/// # Safety
/// `path` must be valid for reads of `path_len` bytes; `out_pool` valid for
/// a pointer write; `err` NULL or valid for `err_cap` bytes. On success
/// `*out_pool` must be released with `mx8_pool_free`.
#[no_mangle]
pub unsafe extern "C" fn mx8_pool_new_mapped(
    path: *const u8,
    path_len: usize,
    capacity_bytes: u64,
    out_pool: *mut *mut Mx8Pool,
    err: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: per contract `err` is NULL or valid for `err_cap` bytes.
    let errbuf = unsafe { ErrBuf::new(err, err_cap) };
    ffi_guard(errbuf, || {
        if out_pool.is_null() || path.is_null() || path_len == 0 {
            return Err(Mx8Error::new(Mx8Status::NullArgument, "NULL argument"));
        }
        // SAFETY: valid for `path_len` bytes per contract, only read here.
        let bytes = unsafe { std::slice::from_raw_parts(path, path_len) };
        let path = std::path::Path::new(
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(bytes),
        );
        let len = usize::try_from(capacity_bytes)
            .map_err(|_| Mx8Error::new(Mx8Status::InvalidArgument, "capacity too large"))?;
        let region = Region::map(path, len)?;
        let pool = Box::new(Mx8Pool {
            inner: Arc::new(PoolInner {
                capacity: capacity_bytes,
                state: Mutex::new(PoolState::default()),
                region: Some(region),
            }),
        });
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { *out_pool = Box::into_raw(pool) };
        Ok(())
    })
}

/// The first byte of a mapped pool's region (NULL for a heap pool). A slab
/// is shared when `base <= mx8_slab_ptr(slab) < base + capacity`.
///
/// # Safety
/// `pool` must be NULL or a live pool.
#[no_mangle]
pub unsafe extern "C" fn mx8_pool_base(pool: *const Mx8Pool) -> *mut u8 {
    ffi_guard_value(std::ptr::null_mut(), || {
        // SAFETY: NULL or live per contract.
        match unsafe { pool.as_ref() } {
            Some(p) => p
                .inner
                .region
                .as_ref()
                .map_or(std::ptr::null_mut(), Region::base),
            None => std::ptr::null_mut(),
        }
    })
}

#[cfg(test)]
mod mapped_tests {
    use super::*;

    #[test]
    fn mapped_pool_slabs_live_in_the_file_and_fall_back_to_the_heap() {
        let path = std::env::temp_dir().join(format!("mx8-pool-mapped-{}", std::process::id()));
        std::fs::write(&path, vec![0u8; 1024]).unwrap();
        let name = path.as_os_str().as_encoded_bytes();
        let mut pool: *mut Mx8Pool = std::ptr::null_mut();
        // SAFETY: valid path bytes and out pointer; no error buffer.
        let st = unsafe {
            mx8_pool_new_mapped(
                name.as_ptr(),
                name.len(),
                1024,
                &mut pool,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(st, 0);
        // SAFETY: live pool.
        let base = unsafe { mx8_pool_base(pool) } as usize;
        assert_ne!(base, 0);
        // SAFETY: live pool for the rest of the test.
        let inner = unsafe { &(*pool).inner };
        let mut a = inner.acquire(400).unwrap();
        let b = inner.acquire(400).unwrap();
        let pa = a.bytes_mut().as_ptr() as usize;
        assert!(pa >= base && pa < base + 1024);
        a.bytes_mut().fill(9);
        assert_eq!(&std::fs::read(&path).unwrap()[..4], &[9, 9, 9, 9]);
        drop(a);
        // Free ranges are 448 + 128 bytes: a 500-byte request fits the cap
        // (400 + 500 <= 1024) but no range, so it comes from the heap.
        let mut c = inner.acquire(500).unwrap();
        let pc = c.bytes_mut().as_ptr() as usize;
        assert!(pc < base || pc >= base + 1024, "heap fallback");
        assert!(matches!(inner.acquire(200), Err(e) if e.status == Mx8Status::PoolExhausted));
        drop(b);
        drop(c);
        assert_eq!(inner.lock().used, 0);
        // SAFETY: freed once.
        unsafe { mx8_pool_free(pool) };
        std::fs::remove_file(path).unwrap();
    }
}
