//! A whole directory tree listed in one call, for `mx8 pack`: every regular
//! file under a root, sorted by relative path bytes, with its size. The
//! caller gets flat arrays and one string of all paths, so no object per
//! file is built in JavaScript.
//!
//! Result: `count` sizes (f64), `count + 1` offsets (f64, in UTF-16 code
//! units) into the relative paths (`/`-separated, UTF-8; a name that is
//! not UTF-8 is an error) concatenated in order; the caller copies sizes and
//! offsets into its own typed arrays and decodes the paths in place. Symlinks are followed
//! (like `stat`); sockets, FIFOs and devices are skipped.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::panic::{ffi_guard, ffi_guard_value, ErrBuf};
use crate::status::{Mx8Error, Mx8Result, Mx8Status};

/// A finished listing, owned until `mx8_list_take` or `mx8_list_free`.
pub struct Mx8List {
    found: Found,
}

#[derive(Default, Debug)]
struct Found {
    sizes: Vec<f64>,
    /// Starts of each path in UTF-16 units, plus the total at the end.
    starts: Vec<f64>,
    paths: Vec<u8>,
    units: f64,
}

/// An error naming what failed: `"ACTION\tPATH\tOS error"`.
fn fail(action: &str, path: &Path, err: io::Error) -> Mx8Error {
    Mx8Error::new(
        Mx8Status::of_io(&err),
        format!("{action}\t{}\t{err}", path.display()),
    )
}

enum Kind {
    File(u64),
    Dir,
    Other,
}

fn classify(entry: &fs::DirEntry) -> io::Result<Kind> {
    let meta = match entry.file_type()? {
        t if t.is_dir() => return Ok(Kind::Dir),
        t if t.is_file() => entry.metadata()?,
        _ => fs::metadata(entry.path())?,
    };
    Ok(if meta.is_dir() {
        Kind::Dir
    } else if meta.is_file() {
        Kind::File(meta.len())
    } else {
        Kind::Other
    })
}

struct Entry {
    /// Sort key: the name, plus `/` for a directory (so the depth-first
    /// walk yields paths in global byte order).
    key: String,
    name: std::ffi::OsString,
    kind: Kind,
}

fn walk(dir: &Path, rel: &mut String, skip_top: &[&str], out: &mut Found) -> Mx8Result<()> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| fail("read directory", dir, e))? {
        let entry = entry.map_err(|e| fail("read directory", dir, e))?;
        let name = entry.file_name();
        let Ok(text) = String::from_utf8(name.as_bytes().to_vec()) else {
            // Paths are UTF-8 everywhere downstream (manifest, labels).
            return Err(Mx8Error::new(
                Mx8Status::Io,
                format!(
                    "list\t{}\tits name is not valid UTF-8 (rename it)",
                    entry.path().display()
                ),
            ));
        };
        if rel.is_empty() && skip_top.contains(&text.as_str()) {
            continue;
        }
        let kind = classify(&entry).map_err(|e| fail("stat", &entry.path(), e))?;
        let key = match kind {
            Kind::Dir => text + "/",
            Kind::File(_) => text,
            Kind::Other => continue,
        };
        entries.push(Entry { key, name, kind });
    }
    entries.sort_unstable_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    for e in entries {
        let before = rel.len();
        rel.push_str(&e.key);
        match e.kind {
            Kind::Dir => walk(&dir.join(&e.name), rel, skip_top, out)?,
            Kind::File(size) => {
                out.sizes.push(size as f64);
                out.starts.push(out.units);
                out.units += rel.encode_utf16().count() as f64;
                out.paths.extend_from_slice(rel.as_bytes());
            }
            Kind::Other => {}
        }
        rel.truncate(before);
    }
    Ok(())
}

/// Lists `root` (see the module doc).
fn list_tree(root: &Path, skip_top: &[&str]) -> Mx8Result<Found> {
    let mut found = Found::default();
    walk(root, &mut String::new(), skip_top, &mut found)?;
    found.starts.push(found.units);
    Ok(found)
}

/// Lists the tree under `root`, skipping the top-level names in `skip`
/// (`\n`-separated UTF-8). On success `*out_list` owns the result,
/// `out_sizes[0]` is the file count and `out_sizes[1]` the paths' length in
/// bytes: copy it out with `mx8_list_take`. Errors carry
/// `"ACTION\tPATH\tOS error"` (ACTION `read directory` or `stat`).
///
/// # Safety
/// `root` valid for `root_len` bytes, `skip` for `skip_len` bytes (or
/// `skip_len` 0); `out_list` valid for a write, `out_sizes` for two u64
/// writes; `err_buf` NULL
/// or valid for `err_cap` bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mx8_list_tree(
    root: *const u8,
    root_len: usize,
    skip: *const u8,
    skip_len: usize,
    out_list: *mut *mut Mx8List,
    out_sizes: *mut u64,
    err_buf: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: forwarded caller contract for `err_buf`.
    let err = unsafe { ErrBuf::new(err_buf, err_cap) };
    ffi_guard(err, || {
        if root.is_null() || root_len == 0 || out_list.is_null() || out_sizes.is_null() {
            return Err(Mx8Error::new(Mx8Status::NullArgument, "NULL argument"));
        }
        // SAFETY: the caller guarantees `root` is valid for `root_len` bytes.
        let root = Path::new(OsStr::from_bytes(unsafe {
            std::slice::from_raw_parts(root, root_len)
        }));
        let skip = if skip.is_null() || skip_len == 0 {
            String::new()
        } else {
            // SAFETY: the caller guarantees `skip` is valid for `skip_len` bytes.
            String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(skip, skip_len) })
                .into_owned()
        };
        let skip_top: Vec<&str> = skip.split('\n').filter(|s| !s.is_empty()).collect();
        let found = list_tree(root, &skip_top)?;
        // SAFETY: both checked non-NULL; the caller guarantees `out_sizes`
        // holds two u64 and `out_list` one pointer.
        unsafe {
            *out_sizes = found.sizes.len() as u64;
            *out_sizes.add(1) = found.paths.len() as u64;
            *out_list = Box::into_raw(Box::new(Mx8List { found }));
        }
        Ok(())
    })
}

/// Address of a listing's concatenated paths (valid until it is taken or
/// freed), so the caller can decode them in place instead of copying.
///
/// # Safety
/// `list` from `mx8_list_tree`, not yet taken or freed.
#[no_mangle]
pub unsafe extern "C" fn mx8_list_paths(list: *const Mx8List) -> *const u8 {
    ffi_guard_value(std::ptr::null(), || {
        // SAFETY: per contract `list` is NULL or a live listing.
        match unsafe { list.as_ref() } {
            Some(l) if !l.found.paths.is_empty() => l.found.paths.as_ptr(),
            _ => std::ptr::null(),
        }
    })
}

/// Copies a listing's sizes (count f64) and path offsets (count + 1 f64)
/// into the caller's arrays and frees it, whatever the outcome (the paths
/// are read in place first, through `mx8_list_paths`).
///
/// # Safety
/// `list` from `mx8_list_tree`, not used again; `sizes` and `starts` valid
/// for writes of those lengths (`count` as reported by `mx8_list_tree`).
#[no_mangle]
pub unsafe extern "C" fn mx8_list_take(
    list: *mut Mx8List,
    sizes: *mut f64,
    starts: *mut f64,
) -> u32 {
    ffi_guard(ErrBuf::none(), || {
        if list.is_null() {
            return Err(Mx8Error::new(Mx8Status::NullArgument, "list is NULL"));
        }
        // SAFETY: per contract, `list` came from Box::into_raw and is freed once.
        let found = unsafe { Box::from_raw(list) }.found;
        let n = found.sizes.len();
        if (n > 0 && sizes.is_null()) || starts.is_null() {
            return Err(Mx8Error::new(Mx8Status::NullArgument, "NULL output array"));
        }
        // SAFETY: the caller guarantees each output holds the reported
        // lengths, and they are distinct from the Vecs.
        unsafe {
            std::ptr::copy_nonoverlapping(found.sizes.as_ptr(), sizes, n);
            std::ptr::copy_nonoverlapping(found.starts.as_ptr(), starts, n + 1);
        }
        Ok(())
    })
}

/// Frees a listing without copying it (NULL is fine).
///
/// # Safety
/// `list` NULL or from `mx8_list_tree`, not used again.
#[no_mangle]
pub unsafe extern "C" fn mx8_list_free(list: *mut Mx8List) {
    ffi_guard_value((), || {
        if !list.is_null() {
            // SAFETY: per contract, `list` came from Box::into_raw and is freed once.
            drop(unsafe { Box::from_raw(list) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(found: &Found) -> Vec<(String, f64)> {
        let paths: Vec<u16> = std::str::from_utf8(&found.paths)
            .unwrap()
            .encode_utf16()
            .collect();
        (0..found.sizes.len())
            .map(|i| {
                let (a, b) = (found.starts[i] as usize, found.starts[i + 1] as usize);
                (String::from_utf16(&paths[a..b]).unwrap(), found.sizes[i])
            })
            .collect()
    }

    #[test]
    fn lists_files_in_global_byte_order_skipping_top_dirs() {
        let dir = std::env::temp_dir().join(format!("mx8-list-tree-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for d in ["a", "a/b", "_mx8", "x/_mx8"] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        for (f, body) in [
            ("a.txt", "1"),
            ("a/b/c", "22"),
            ("a/z", "333"),
            ("_mx8/m", "4"),
            ("x/_mx8/k", "55"),
            ("é", "6"),
        ] {
            fs::write(dir.join(f), body).unwrap();
        }
        let got = decode(&list_tree(&dir, &["_mx8", "shards"]).unwrap());
        assert_eq!(list_tree(&dir, &[]).unwrap().starts.len(), 7);
        let want: Vec<(String, f64)> = [
            ("a.txt", 1.0),
            ("a/b/c", 2.0),
            ("a/z", 3.0),
            ("x/_mx8/k", 2.0),
            ("é", 1.0),
        ]
        .iter()
        .map(|(p, s)| (p.to_string(), *s))
        .collect();
        assert_eq!(got, want);
        std::os::unix::fs::symlink(dir.join("missing"), dir.join("dangling")).unwrap();
        let err = list_tree(&dir, &[]).unwrap_err();
        assert_eq!(err.status, Mx8Status::NotFound);
        assert!(err.message.starts_with("stat\t"), "{}", err.message);
        fs::remove_dir_all(&dir).unwrap();
    }
}
