//! Status codes returned by every `mx8_*` function, and error-text plumbing.

use std::fmt;

/// Result code of an `mx8_*` call (batch level) or of one decoded sample.
///
/// The numeric values are part of the ABI: `lib/native/errors.ts` mirrors them.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mx8Status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// An argument was out of range or inconsistent (e.g. offsets not monotonic).
    InvalidArgument = 2,
    /// The pool cannot hand out the requested bytes without exceeding its capacity.
    PoolExhausted = 3,
    /// The system allocator failed.
    OutOfMemory = 4,
    /// A Rust panic was caught at the FFI boundary (a bug in mx8_ffi).
    Panic = 5,
    /// Sample: libjpeg-turbo rejected the data (corrupt or truncated JPEG).
    CorruptJpeg = 6,
    /// Sample: the bytes are not a JPEG at all (PNG, WebP, GIF, ...).
    NotJpeg = 7,
    /// Sample: zero-length input.
    EmptyInput = 8,
    /// Sample: width × height is above the max-pixels guard.
    TooManyPixels = 9,
    /// The output slab is smaller than the batch needs.
    BufferTooSmall = 10,
    /// libjpeg-turbo could not create a decompressor instance.
    TurboJpegInit = 11,
    /// A file operation failed (the message is the OS error).
    Io = 12,
    /// A file operation failed: no such file or directory.
    NotFound = 13,
    /// A file operation failed: permission denied.
    PermissionDenied = 14,
    /// A source file's size is not the size it was listed with.
    ChangedSize = 15,
    /// Sample: a CMYK/YCCK JPEG, whose colours need an ICC transform the
    /// native decoder does not have (callers decode it with a colour-managed
    /// backend).
    NeedsColorTransform = 16,
}

impl fmt::Display for Mx8Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Ok => "ok",
            Self::NullArgument => "null argument",
            Self::InvalidArgument => "invalid argument",
            Self::PoolExhausted => "pool exhausted",
            Self::OutOfMemory => "out of memory",
            Self::Panic => "panic in mx8_ffi",
            Self::CorruptJpeg => "corrupt jpeg",
            Self::NotJpeg => "not a jpeg",
            Self::EmptyInput => "empty input",
            Self::TooManyPixels => "too many pixels",
            Self::BufferTooSmall => "buffer too small",
            Self::TurboJpegInit => "turbojpeg init failed",
            Self::Io => "i/o error",
            Self::NotFound => "not found",
            Self::PermissionDenied => "permission denied",
            Self::ChangedSize => "file changed size",
            Self::NeedsColorTransform => "needs colour transform",
        };
        f.write_str(text)
    }
}

impl Mx8Status {
    /// The status of a file-system error: `NotFound`, `PermissionDenied`,
    /// or `Io` for anything else.
    pub fn of_io(err: &std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::NotFound => Self::NotFound,
            std::io::ErrorKind::PermissionDenied => Self::PermissionDenied,
            _ => Self::Io,
        }
    }
}

/// An error with a status code and a human-readable message.
#[derive(Debug, Clone)]
pub struct Mx8Error {
    pub status: Mx8Status,
    pub message: String,
}

impl Mx8Error {
    pub fn new(status: Mx8Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

pub type Mx8Result<T> = Result<T, Mx8Error>;

/// Copies `message` into `buf` (capacity `cap` bytes) as a NUL-terminated
/// UTF-8 string, truncating on a character boundary. Does nothing when `buf`
/// is NULL or `cap` is 0.
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
    // SAFETY: the caller guarantees `buf` is valid for `cap` bytes and
    // `n + 1 <= cap`; `message` is a distinct Rust allocation, so the
    // regions do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(message.as_ptr(), buf, n);
        *buf.add(n) = 0;
    }
}

/// Copies `message` into a byte slice as a NUL-terminated string (truncated).
pub fn write_message_slice(buf: &mut [u8], message: &str) {
    if buf.is_empty() {
        return;
    }
    let mut n = message.len().min(buf.len() - 1);
    while !message.is_char_boundary(n) {
        n -= 1;
    }
    buf[..n].copy_from_slice(&message.as_bytes()[..n]);
    buf[n] = 0;
}
