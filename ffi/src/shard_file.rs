//! Shard files for `mx8 pack`: sequential writes, plus whole source files
//! appended by the kernel (`std::io::copy` between two `File`s uses
//! `copy_file_range(2)` on Linux, falling back to `sendfile`/read+write where
//! the filesystem cannot), so file bytes never pass through user space.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::panic::{ffi_guard, ErrBuf};
use crate::status::{Mx8Error, Mx8Result, Mx8Status};

/// An open shard file, written front to back.
pub struct Mx8File {
    file: File,
}

fn io_error(err: io::Error) -> Mx8Error {
    Mx8Error::new(Mx8Status::of_io(&err), err.to_string())
}

/// # Safety
/// `ptr` must be valid for reads of `len` bytes (or `len` is 0).
unsafe fn path_arg<'a>(ptr: *const u8, len: usize) -> Mx8Result<&'a Path> {
    if ptr.is_null() || len == 0 {
        return Err(Mx8Error::new(Mx8Status::NullArgument, "empty path"));
    }
    // SAFETY: the caller guarantees `ptr` is valid for `len` bytes for the
    // duration of the call, and the slice does not outlive it.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    Ok(Path::new(OsStr::from_bytes(bytes)))
}

/// # Safety
/// `ptr` must be valid for reads of `len` bytes (or `len` is 0).
unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize) -> Mx8Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Mx8Error::new(Mx8Status::NullArgument, "NULL data"));
    }
    // SAFETY: non-NULL and valid for `len` bytes per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// # Safety
/// `file` must be NULL or a live pointer from `mx8_file_create`.
unsafe fn file_arg<'a>(file: *mut Mx8File) -> Mx8Result<&'a mut Mx8File> {
    // SAFETY: per contract the pointer is NULL or live and not aliased
    // during the call (JS calls these functions one at a time).
    unsafe { file.as_mut() }.ok_or_else(|| Mx8Error::new(Mx8Status::NullArgument, "file is NULL"))
}

/// Creates (or truncates) `path` for writing, mode 0644.
///
/// # Safety
/// `path` must be valid for `path_len` bytes; `out_file` valid for a pointer
/// write; `err_buf` NULL or valid for `err_cap` bytes. On success
/// `*out_file` must be released with `mx8_file_close`.
#[no_mangle]
pub unsafe extern "C" fn mx8_file_create(
    path: *const u8,
    path_len: usize,
    out_file: *mut *mut Mx8File,
    err_buf: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: forwarded caller contract for `err_buf`.
    let err = unsafe { ErrBuf::new(err_buf, err_cap) };
    ffi_guard(err, || {
        if out_file.is_null() {
            return Err(Mx8Error::new(Mx8Status::NullArgument, "out_file is NULL"));
        }
        // SAFETY: forwarded caller contract for `path`.
        let path = unsafe { path_arg(path, path_len) }?;
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o666) // less the umask, like Deno's own file creation
            .open(path)
            .map_err(io_error)?;
        // SAFETY: checked non-NULL; the caller guarantees it is writable.
        unsafe { *out_file = Box::into_raw(Box::new(Mx8File { file })) };
        Ok(())
    })
}

/// Appends `len` bytes at `data`.
///
/// # Safety
/// `file` live from `mx8_file_create`; `data` valid for `len` bytes;
/// `err_buf` NULL or valid for `err_cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn mx8_file_write(
    file: *mut Mx8File,
    data: *const u8,
    len: usize,
    err_buf: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: forwarded caller contract for `err_buf`.
    let err = unsafe { ErrBuf::new(err_buf, err_cap) };
    ffi_guard(err, || {
        // SAFETY: forwarded caller contracts for `file` and `data`.
        let (file, data) = unsafe { (file_arg(file)?, bytes_arg(data, len)?) };
        file.file.write_all(data).map_err(io_error)
    })
}

/// Appends `prefix`, then the whole file at `src` (which must hold exactly
/// `expected_len` bytes), copied by the kernel. Lengths are u32 and the size
/// an integral f64 (< 2^53) so a JavaScript caller passes plain numbers.
///
/// On `ChangedSize` (the source is not `expected_len` bytes long, ended
/// early, or grew while copying) `*out_found` is the size found (or
/// `expected_len + 1` for growth); the shard file is
/// then partly written and must be abandoned.
///
/// # Safety
/// `file` live from `mx8_file_create`; `prefix` valid for `prefix_len`
/// bytes; `src` valid for `src_len` bytes; `out_found` valid for a u64
/// write; `err_buf` NULL or valid for `err_cap` bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mx8_file_append_from(
    file: *mut Mx8File,
    prefix: *const u8,
    prefix_len: u32,
    src: *const u8,
    src_len: u32,
    expected_len: f64,
    out_found: *mut u64,
    err_buf: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: forwarded caller contract for `err_buf`.
    let err = unsafe { ErrBuf::new(err_buf, err_cap) };
    ffi_guard(err, || {
        if out_found.is_null() {
            return Err(Mx8Error::new(Mx8Status::NullArgument, "out_found is NULL"));
        }
        if !((0.0..9_007_199_254_740_992.0).contains(&expected_len) && expected_len.fract() == 0.0)
        {
            return Err(Mx8Error::new(
                Mx8Status::InvalidArgument,
                format!("expected_len {expected_len} is not a byte count"),
            ));
        }
        let expected_len = expected_len as u64;
        // SAFETY: forwarded caller contracts for `file`, `prefix` and `src`.
        let (file, prefix, src) = unsafe {
            (
                file_arg(file)?,
                bytes_arg(prefix, prefix_len as usize)?,
                path_arg(src, src_len as usize)?,
            )
        };
        let changed = |found: u64| {
            // SAFETY: checked non-NULL; the caller guarantees it is writable.
            unsafe { *out_found = found };
            Mx8Error::new(
                Mx8Status::ChangedSize,
                format!("expected {expected_len} bytes, found {found}"),
            )
        };
        let source = File::open(src).map_err(io_error)?;
        let meta = source.metadata().map_err(io_error)?;
        if !meta.is_file() {
            return Err(Mx8Error::new(
                Mx8Status::Io,
                "it is no longer a regular file",
            ));
        }
        if meta.len() != expected_len {
            return Err(changed(meta.len()));
        }
        if !prefix.is_empty() {
            file.file.write_all(prefix).map_err(io_error)?;
        }
        let copied =
            io::copy(&mut (&source).take(expected_len), &mut &file.file).map_err(io_error)?;
        if copied != expected_len {
            return Err(changed(copied));
        }
        // One more byte means it grew while being copied.
        if (&source).read(&mut [0u8; 1]).map_err(io_error)? > 0 {
            return Err(changed(expected_len + 1));
        }
        Ok(())
    })
}

/// Closes a shard file (NULL is fine) and frees its handle.
///
/// # Safety
/// `file` must be NULL or a live pointer from `mx8_file_create`, not used
/// again afterwards.
#[no_mangle]
pub unsafe extern "C" fn mx8_file_close(file: *mut Mx8File) {
    crate::panic::ffi_guard_value((), || {
        if !file.is_null() {
            // SAFETY: per contract, `file` came from Box::into_raw and is freed once.
            drop(unsafe { Box::from_raw(file) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mx8-shard-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn call_append(
        f: *mut Mx8File,
        prefix: &[u8],
        src: &Path,
        expected: f64,
    ) -> (u32, u64, String) {
        let mut found = u64::MAX;
        let mut msg = [0u8; 256];
        let p = src.as_os_str().as_bytes();
        // SAFETY: every pointer is a live local of the stated length.
        let status = unsafe {
            mx8_file_append_from(
                f,
                prefix.as_ptr(),
                prefix.len() as u32,
                p.as_ptr(),
                p.len() as u32,
                expected,
                &mut found,
                msg.as_mut_ptr(),
                msg.len(),
            )
        };
        let end = msg.iter().position(|&b| b == 0).unwrap_or(msg.len());
        (
            status,
            found,
            String::from_utf8_lossy(&msg[..end]).into_owned(),
        )
    }

    fn create(path: &Path) -> *mut Mx8File {
        let mut f: *mut Mx8File = std::ptr::null_mut();
        let p = path.as_os_str().as_bytes();
        // SAFETY: live locals; no error buffer.
        let status =
            unsafe { mx8_file_create(p.as_ptr(), p.len(), &mut f, std::ptr::null_mut(), 0) };
        assert_eq!(status, Mx8Status::Ok as u32);
        f
    }

    #[test]
    fn appends_prefix_and_file_bytes_in_order() {
        let a = tmp("a.bin");
        std::fs::write(&a, (0..100_000u32).map(|i| i as u8).collect::<Vec<_>>()).unwrap();
        let out = tmp("out.bin");
        let f = create(&out);
        assert_eq!(call_append(f, b"head", &a, 100_000.0).0, 0);
        // SAFETY: `f` is live; the data pointer is a 3-byte literal.
        assert_eq!(
            unsafe { mx8_file_write(f, b"end".as_ptr(), 3, std::ptr::null_mut(), 0) },
            0
        );
        // SAFETY: `f` is live and not used again.
        unsafe { mx8_file_close(f) };
        let got = std::fs::read(&out).unwrap();
        assert_eq!(&got[..4], b"head");
        assert_eq!(&got[4..100_004], &std::fs::read(&a).unwrap()[..]);
        assert_eq!(&got[100_004..], b"end");
    }

    #[test]
    fn reports_size_changes_and_missing_files() {
        let a = tmp("b.bin");
        std::fs::write(&a, b"12345").unwrap();
        let f = create(&tmp("out2.bin"));
        let (status, found, msg) = call_append(f, b"", &a, 4.0);
        assert_eq!((status, found), (Mx8Status::ChangedSize as u32, 5));
        assert!(msg.contains("expected 4 bytes, found 5"), "{msg}");
        let (status, _, msg) = call_append(f, b"", &tmp("missing.bin"), 1.0);
        assert_eq!(status, Mx8Status::NotFound as u32, "{msg}");
        // SAFETY: `f` is live and not used again.
        unsafe { mx8_file_close(f) };
    }
}
