//! Keeps Rust panics from unwinding into the caller, and copies error text
//! into caller buffers.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::status::{VideoResult, VideoStatus};

/// Copies `message` into `buf` (capacity `cap`) NUL-terminated, truncated on
/// a character boundary. Does nothing for NULL or `cap == 0`.
///
/// # Safety
/// `buf` must be NULL or valid for writes of `cap` bytes.
pub unsafe fn write_message(buf: *mut u8, cap: usize, message: &str) {
    if buf.is_null() || cap == 0 {
        return;
    }
    let mut n = message.len().min(cap - 1);
    while !message.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: the caller guarantees `buf` holds `cap` bytes and `n + 1 <= cap`;
    // `message` is a separate allocation, so the regions do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(message.as_ptr(), buf, n);
        *buf.add(n) = 0;
    }
}

/// A caller's error-text buffer (possibly NULL).
pub struct ErrOut {
    ptr: *mut u8,
    cap: usize,
}

impl ErrOut {
    /// Wraps a caller buffer.
    ///
    /// # Safety
    /// `ptr` must be NULL or valid for writes of `cap` bytes while this value lives.
    pub unsafe fn new(ptr: *mut u8, cap: usize) -> Self {
        Self { ptr, cap }
    }

    /// The buffer as the shim takes it: pointer and capacity.
    pub fn raw(&self) -> (*mut u8, usize) {
        (self.ptr, self.cap)
    }

    fn write(&self, message: &str) {
        // SAFETY: `ErrOut::new`'s contract.
        unsafe { write_message(self.ptr, self.cap, message) };
    }
}

/// Runs `body`; errors and caught panics have their text copied into
/// `err`, and their status returned.
pub fn guard<F: FnOnce() -> VideoResult>(err: ErrOut, body: F) -> u32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => VideoStatus::Ok as u32,
        Ok(Err(e)) => {
            err.write(&e.message);
            e.status as u32
        }
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".into());
            err.write(&format!("panic in mx8_video: {text}"));
            VideoStatus::Panic as u32
        }
    }
}
