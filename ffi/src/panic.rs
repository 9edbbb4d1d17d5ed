//! Keeps Rust panics from unwinding into the caller.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::status::{write_message, Mx8Result, Mx8Status};

/// A caller-supplied error-text buffer (possibly absent).
pub struct ErrBuf {
    ptr: *mut u8,
    cap: usize,
}

impl ErrBuf {
    /// Wraps a caller buffer.
    ///
    /// # Safety
    /// `ptr` must be NULL or valid for writes of `cap` bytes for as long as
    /// the returned value is used.
    pub unsafe fn new(ptr: *mut u8, cap: usize) -> Self {
        Self { ptr, cap }
    }

    /// No error buffer: messages are dropped.
    pub fn none() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            cap: 0,
        }
    }

    fn write(&self, message: &str) {
        // SAFETY: `ErrBuf::new`'s contract (or NULL from `none`).
        unsafe { write_message(self.ptr, self.cap, message) };
    }
}

/// Runs `body`, converting its result into a status code. Errors and caught
/// panics have their text copied into `err` (NUL-terminated, truncated).
pub fn ffi_guard<F>(err: ErrBuf, body: F) -> u32
where
    F: FnOnce() -> Mx8Result<()>,
{
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => Mx8Status::Ok as u32,
        Ok(Err(e)) => {
            err.write(&e.message);
            e.status as u32
        }
        Err(payload) => {
            let text = panic_text(payload.as_ref());
            err.write(&format!("panic in mx8_ffi: {text}"));
            Mx8Status::Panic as u32
        }
    }
}

/// Runs a body that has no error channel (e.g. `_free`, getters); a panic
/// yields `fallback`.
pub fn ffi_guard_value<T, F>(fallback: T, body: F) -> T
where
    F: FnOnce() -> T,
{
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "unknown panic payload"
    }
}
