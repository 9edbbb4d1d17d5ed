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

use crate::panic::{ffi_guard, ffi_guard_value, ErrBuf};
use crate::status::{Mx8Error, Mx8Result, Mx8Status};

const SLAB_ALIGN: usize = 64;
const MAX_IDLE_SLABS: usize = 16;

/// One raw allocation of `size` bytes aligned to [`SLAB_ALIGN`].
struct Block {
    ptr: NonNull<u8>,
    size: usize,
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
        Ok(Self { ptr, size })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
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

    fn release(&self, block: Block) {
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
