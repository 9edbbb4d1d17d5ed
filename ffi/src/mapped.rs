//! A shared-memory region for a buffer pool: a file (normally under
//! `/dev/shm`) mapped `MAP_SHARED`, carved into slabs first-fit.
//!
//! `mx8_pool_new_mapped` (in `pool.rs`) builds a pool over one of these, so
//! the JPEG decoder writes batch tensors straight into memory another process
//! (the Python binding) has mapped too. The region never hands out more than
//! its length; freed ranges coalesce with their neighbours. The mapping is
//! unmapped when the region is dropped, i.e. after the pool and every slab
//! that points into it are gone.

use std::fs::OpenOptions;
use std::os::raw::{c_int, c_long, c_void};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Mutex;

use crate::status::{Mx8Error, Mx8Result, Mx8Status};

const PROT_READ: c_int = 1;
const PROT_WRITE: c_int = 2;
const MAP_SHARED: c_int = 1;
const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

extern "C" {
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        offset: c_long,
    ) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
}

/// Slab alignment inside the region (a cache line; the base is page aligned).
pub const REGION_ALIGN: usize = 64;

/// A mapped file carved into slabs.
pub struct Region {
    base: NonNull<u8>,
    len: usize,
    /// Free ranges `(offset, len)`, sorted by offset, never adjacent.
    free: Mutex<Vec<(usize, usize)>>,
}

// SAFETY: the region only hands out disjoint ranges (under `free`'s lock);
// the base pointer itself carries no thread affinity.
unsafe impl Send for Region {}
// SAFETY: all mutation of the free list goes through the mutex.
unsafe impl Sync for Region {}

impl Region {
    /// Maps the first `len` bytes of the existing file at `path`, read-write
    /// and shared.
    pub fn map(path: &Path, len: usize) -> Mx8Result<Self> {
        if len == 0 {
            return Err(Mx8Error::new(
                Mx8Status::InvalidArgument,
                "mapping length must be > 0",
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| {
                Mx8Error::new(
                    Mx8Status::of_io(&e),
                    format!("cannot open {}: {e}", path.display()),
                )
            })?;
        let size = file
            .metadata()
            .map_err(|e| Mx8Error::new(Mx8Status::of_io(&e), e.to_string()))?
            .len();
        if size < len as u64 {
            return Err(Mx8Error::new(
                Mx8Status::InvalidArgument,
                format!(
                    "{} is {size} bytes, smaller than the {len}-byte mapping",
                    path.display()
                ),
            ));
        }
        // SAFETY: a fresh mapping of an open file descriptor; the kernel
        // picks the address; the result is checked against MAP_FAILED.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                PROT_READ | PROT_WRITE,
                MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == MAP_FAILED || ptr.is_null() {
            let e = std::io::Error::last_os_error();
            return Err(Mx8Error::new(
                Mx8Status::of_io(&e),
                format!("cannot map {}: {e}", path.display()),
            ));
        }
        Ok(Self {
            base: NonNull::new(ptr.cast()).expect("checked non-NULL"),
            len,
            free: Mutex::new(vec![(0, len)]),
        })
    }

    /// The mapping's first byte.
    pub fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    /// Takes `size` bytes (rounded up to [`REGION_ALIGN`]) first-fit; `None`
    /// when no free range is large enough.
    pub fn take(&self, size: usize) -> Option<(NonNull<u8>, usize)> {
        let want = size.checked_add(REGION_ALIGN - 1)? & !(REGION_ALIGN - 1);
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let i = free.iter().position(|&(_, len)| len >= want)?;
        let (off, len) = free[i];
        if len == want {
            free.remove(i);
        } else {
            free[i] = (off + want, len - want);
        }
        // SAFETY: `off + want <= self.len`, inside the mapping.
        let ptr = unsafe { self.base.as_ptr().add(off) };
        Some((NonNull::new(ptr).expect("inside a non-NULL mapping"), want))
    }

    /// Returns a range from [`Region::take`] (`len` as it returned it).
    pub fn give(&self, ptr: NonNull<u8>, len: usize) {
        let off = ptr.as_ptr() as usize - self.base.as_ptr() as usize;
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let i = free.partition_point(|&(o, _)| o < off);
        free.insert(i, (off, len));
        // Merge with the next range, then with the previous one.
        if i + 1 < free.len() && free[i].0 + free[i].1 == free[i + 1].0 {
            free[i].1 += free[i + 1].1;
            free.remove(i + 1);
        }
        if i > 0 && free[i - 1].0 + free[i - 1].1 == free[i].0 {
            free[i - 1].1 += free[i].1;
            free.remove(i);
        }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly the mapping made in `map`, unmapped
        // only here, after every slab pointing into it was dropped (slabs keep
        // the pool, which owns the region, alive).
        unsafe { munmap(self.base.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(len: usize) -> (Region, std::path::PathBuf) {
        let path =
            std::env::temp_dir().join(format!("mx8-region-test-{}-{len}", std::process::id()));
        std::fs::write(&path, vec![0u8; len]).unwrap();
        (Region::map(&path, len).unwrap(), path)
    }

    #[test]
    fn takes_first_fit_and_coalesces() {
        let (r, path) = region(4096);
        let (a, la) = r.take(100).unwrap();
        assert_eq!(la, 128);
        let (b, _) = r.take(1000).unwrap();
        let (c, _) = r.take(2000).unwrap();
        assert!(r.take(2000).is_none(), "only 4096 - 3136 bytes left");
        r.give(b, 1024);
        r.give(a, 128);
        // a and b merged: 1152 contiguous bytes at offset 0.
        let (d, _) = r.take(1152).unwrap();
        assert_eq!(d, a);
        r.give(d, 1152);
        r.give(c, 2048);
        assert_eq!(*r.free.lock().unwrap(), vec![(0, 4096)]);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn writes_are_visible_through_the_file() {
        let (r, path) = region(4096);
        let (p, _) = r.take(64).unwrap();
        // SAFETY: 64 bytes taken from the live mapping.
        unsafe { std::ptr::write_bytes(p.as_ptr(), 7, 64) };
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..64], &[7u8; 64][..]);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_short_file_is_refused() {
        let (_, path) = region(64);
        let err = Region::map(&path, 4096).err().unwrap();
        assert!(err.message.contains("smaller than"), "{}", err.message);
        std::fs::remove_file(path).unwrap();
    }
}
