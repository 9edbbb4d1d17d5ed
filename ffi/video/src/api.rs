//! The exported C ABI of `libmx8_video` (mirrored by `lib/video/native.ts`).

use std::os::raw::c_char;

use crate::panic::{guard, ErrOut};
use crate::shim;
use crate::status::{VideoError, VideoResult, VideoStatus};

/// ABI version of this library: bumped whenever a signature changes.
pub const VIDEO_ABI: u32 = 3;

const LIB_NAMES: [&str; 4] = ["libavformat", "libavcodec", "libswscale", "libavutil"];

/// The ABI version of this library (`lib/video/native.ts` refuses others).
#[no_mangle]
pub extern "C" fn mx8_video_abi() -> u32 {
    VIDEO_ABI
}

/// Sets FFmpeg's own (process-wide) log: 0 quiet (MX8 reports every error
/// itself, the default after `mx8_video_check`), 1 warnings and errors.
#[no_mangle]
pub extern "C" fn mx8_video_set_log(verbose: u32) {
    // SAFETY: sets an integer in libavutil; no pointers.
    unsafe { shim::mx8av_set_log(i32::from(verbose != 0)) };
}

/// Checks that the FFmpeg loaded at run time has the major versions the
/// shim was compiled against (FFmpeg's struct layouts change between
/// majors), and that the shim's ABI is the one this crate expects.
/// `out_versions` (8 × u32, may be NULL) receives the compiled then the
/// loaded majors of avformat, avcodec, swscale, avutil.
///
/// # Safety
/// `out_versions` must be NULL or valid for 8 u32 writes; `err` NULL or
/// valid for `err_cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn mx8_video_check(
    out_versions: *mut u32,
    err: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: `err` per this function's contract.
    let err = unsafe { ErrOut::new(err, err_cap) };
    guard(err, || {
        // SAFETY: no arguments.
        let abi = unsafe { shim::mx8av_abi() };
        if abi != shim::SHIM_ABI {
            return Err(VideoError::new(
                VideoStatus::VersionMismatch,
                format!(
                    "mx8_av shim ABI {abi}, expected {}: rebuild with \"deno task build:video\"",
                    shim::SHIM_ABI
                ),
            ));
        }
        let mut v = [0u32; 8];
        // SAFETY: `v` holds the 8 slots the shim writes.
        unsafe { shim::mx8av_versions(v.as_mut_ptr()) };
        if !out_versions.is_null() {
            // SAFETY: the caller gives 8 writable u32s.
            unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), out_versions, 8) };
        }
        // SAFETY: sets an integer in libavutil; no pointers.
        unsafe { shim::mx8av_set_log(0) };
        for (i, name) in LIB_NAMES.iter().enumerate() {
            if v[i] != v[i + 4] {
                return Err(VideoError::new(
                    VideoStatus::VersionMismatch,
                    format!(
                        "{name} major version {} is loaded but mx8_video was built against {}: rebuild it with \"deno task build:video\"",
                        v[i + 4],
                        v[i]
                    ),
                ));
            }
        }
        Ok(())
    })
}

/// Reads a video's index (see `shim/mx8_av.h`, `mx8av_probe`): `out`
/// receives the 12 `MX8AV_PROBE_*` slots.
///
/// # Safety
/// `data` valid for `len` bytes; `out` for 12 i64; `codec` for `codec_cap`
/// bytes; `keys` NULL or valid for `keys_cap` i64; `err` NULL or valid for
/// `err_cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn mx8_video_probe(
    data: *const u8,
    len: usize,
    out: *mut i64,
    codec: *mut u8,
    codec_cap: usize,
    keys: *mut i64,
    keys_cap: usize,
    err: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: `err` per this function's contract.
    let err = unsafe { ErrOut::new(err, err_cap) };
    let (err_ptr, err_len) = err.raw();
    guard(err, || {
        if data.is_null() || out.is_null() || codec.is_null() {
            return null_argument("mx8_video_probe");
        }
        let cap = if keys.is_null() { 0 } else { keys_cap };
        // SAFETY: every pointer is valid for the sizes passed, per this
        // function's contract; the shim writes nothing beyond them.
        let code = unsafe {
            shim::mx8av_probe(
                data,
                len,
                out,
                codec as *mut c_char,
                codec_cap,
                keys,
                cap,
                err_ptr as *mut c_char,
                err_len,
            )
        };
        shim_result(code, err_ptr, err_len)
    })
}

/// Reads a video's index from a file (see `shim/mx8_av.h`,
/// `mx8av_probe_file`): FFmpeg reads only the header and the index.
/// `path` is `path_len` bytes of UTF-8 followed by a NUL.
///
/// # Safety
/// `path` valid for `path_len + 1` bytes; `out` for 12 i64; `codec` for
/// `codec_cap` bytes; `keys` NULL or valid for `keys_cap` i64; `err` NULL or
/// valid for `err_cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn mx8_video_probe_file(
    path: *const u8,
    path_len: usize,
    out: *mut i64,
    codec: *mut u8,
    codec_cap: usize,
    keys: *mut i64,
    keys_cap: usize,
    err: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: `err` per this function's contract.
    let err = unsafe { ErrOut::new(err, err_cap) };
    let (err_ptr, err_len) = err.raw();
    guard(err, || {
        if path.is_null() || out.is_null() || codec.is_null() {
            return null_argument("mx8_video_probe_file");
        }
        // SAFETY: `path` holds `path_len + 1` bytes per this function's contract.
        let bytes = unsafe { std::slice::from_raw_parts(path, path_len + 1) };
        if bytes[path_len] != 0 || bytes[..path_len].contains(&0) {
            return Err(VideoError::new(
                VideoStatus::InvalidArgument,
                "mx8_video_probe_file: the path must be NUL-terminated with no NUL inside",
            ));
        }
        let cap = if keys.is_null() { 0 } else { keys_cap };
        // SAFETY: `path` is NUL-terminated (checked); the other pointers are
        // valid for the sizes passed, per this function's contract.
        let code = unsafe {
            shim::mx8av_probe_file(
                path as *const c_char,
                out,
                codec as *mut c_char,
                codec_cap,
                keys,
                cap,
                err_ptr as *mut c_char,
                err_len,
            )
        };
        shim_result(code, err_ptr, err_len)
    })
}

/// Decodes one clip into `out` as `count × height × width × 3` RGB24 (see
/// `shim/mx8_av.h`, `mx8av_decode_clip`).
///
/// # Safety
/// `data` valid for `len` bytes; `targets` for `count` i64; `out` for
/// `out_len` bytes; `out_pts` NULL or valid for `count` i64; `err` NULL or
/// valid for `err_cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn mx8_video_decode_clip(
    data: *const u8,
    len: usize,
    targets: *const i64,
    count: usize,
    tolerance: i64,
    height: u32,
    width: u32,
    out: *mut u8,
    out_len: usize,
    threads: u32,
    max_packets: u64,
    max_seconds: f64,
    out_pts: *mut i64,
    err: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: `err` per this function's contract.
    let err = unsafe { ErrOut::new(err, err_cap) };
    let (err_ptr, err_len) = err.raw();
    guard(err, || {
        if data.is_null() || targets.is_null() || out.is_null() {
            return null_argument("mx8_video_decode_clip");
        }
        let need = clip_bytes(height, width, count)?;
        if out_len < need {
            return Err(VideoError::new(
                VideoStatus::BufferTooSmall,
                format!("clip of {count} frames {height}x{width} needs {need} bytes, buffer has {out_len}"),
            ));
        }
        check_max_seconds(max_seconds)?;
        // SAFETY: pointers valid per this function's contract; `out` holds
        // `need` bytes, which is all the shim writes.
        let code = unsafe {
            shim::mx8av_decode_clip(
                data,
                len,
                targets,
                count,
                tolerance,
                height,
                width,
                out,
                threads,
                max_packets,
                max_seconds,
                out_pts,
                err_ptr as *mut c_char,
                err_len,
            )
        };
        shim_result(code, err_ptr, err_len)
    })
}

/// Decodes several clips of one video in one pass (see `shim/mx8_av.h`,
/// `mx8av_decode_clips`): clip `k` (row `k` of `targets`, `count` ticks)
/// goes to `out + slots[k] * count * height * width * 3`; `status[k]`
/// receives its shim code (0 = decoded). Returns `Ok` when every clip
/// decoded, else the status of the first failed one (its message in
/// `err`, about clip `stats[8]`).
///
/// # Safety
/// `data` valid for `len` bytes; `targets` for `n_clips * count` i64;
/// `slots` for `n_clips` u32 and `status` for `n_clips` i32; `out` for
/// `out_len` bytes; `out_pts` NULL or valid for `out_len / (height * width
/// * 3)` i64; `stats` NULL or valid for 10 i64; `err` NULL or valid for
/// `err_cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn mx8_video_decode_clips(
    data: *const u8,
    len: usize,
    targets: *const i64,
    n_clips: usize,
    count: usize,
    tolerance: i64,
    height: u32,
    width: u32,
    out: *mut u8,
    out_len: usize,
    slots: *const u32,
    threads: u32,
    max_packets: u64,
    max_seconds: f64,
    status: *mut i32,
    out_pts: *mut i64,
    stats: *mut i64,
    err: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: `err` per this function's contract.
    let err = unsafe { ErrOut::new(err, err_cap) };
    let (err_ptr, err_len) = err.raw();
    guard(err, || {
        if data.is_null() || targets.is_null() || out.is_null() || slots.is_null() || status.is_null() {
            return null_argument("mx8_video_decode_clips");
        }
        // SAFETY: `slots` holds `n_clips` u32 per this function's contract.
        unsafe { check_slots(slots, n_clips, count, height, width, out_len) }?;
        check_max_seconds(max_seconds)?;
        // SAFETY: pointers valid per this function's contract; every slot's
        // clip lies inside `out` (checked above), which is all the shim
        // writes; `status` holds `n_clips` i32.
        let code = unsafe {
            shim::mx8av_decode_clips(
                data,
                len,
                targets,
                n_clips,
                count,
                tolerance,
                height,
                width,
                out,
                slots,
                threads,
                max_packets,
                max_seconds,
                status,
                out_pts,
                stats,
                err_ptr as *mut c_char,
                err_len,
            )
        };
        shim_result(code, err_ptr, err_len)
    })
}

/// Opens a decode session over a copy of `data` (see `shim/mx8_av.h`,
/// `mx8av_session_open`): the video's decoder kept open across passes.
/// Returns NULL when `len` is 0 or memory runs out. Free it with
/// `mx8_video_session_close`.
///
/// # Safety
/// `data` valid for `len` bytes (copied; not kept).
#[no_mangle]
pub unsafe extern "C" fn mx8_video_session_open(
    data: *const u8,
    len: usize,
    threads: u32,
) -> *mut shim::Session {
    if data.is_null() || len == 0 {
        return std::ptr::null_mut();
    }
    // SAFETY: `data` holds `len` bytes per this function's contract; the
    // shim copies them (copy = 1) and keeps no pointer to them.
    unsafe { shim::mx8av_session_open(data, len, 1, threads) }
}

/// One decode pass on a session: `mx8_video_decode_clips` without the
/// bytes and threads (the session's), going on from where its last pass
/// stopped when it can (see `shim/mx8_av.h`, `mx8av_session_decode`).
///
/// # Safety
/// `session` from `mx8_video_session_open`, not closed, used by no other
/// call at the same time; the other pointers as `mx8_video_decode_clips`.
#[no_mangle]
pub unsafe extern "C" fn mx8_video_session_decode(
    session: *mut shim::Session,
    targets: *const i64,
    n_clips: usize,
    count: usize,
    tolerance: i64,
    height: u32,
    width: u32,
    out: *mut u8,
    out_len: usize,
    slots: *const u32,
    max_packets: u64,
    max_seconds: f64,
    status: *mut i32,
    out_pts: *mut i64,
    stats: *mut i64,
    err: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: `err` per this function's contract.
    let err = unsafe { ErrOut::new(err, err_cap) };
    let (err_ptr, err_len) = err.raw();
    guard(err, || {
        if session.is_null() || targets.is_null() || out.is_null() || slots.is_null() || status.is_null() {
            return null_argument("mx8_video_session_decode");
        }
        // SAFETY: `slots` holds `n_clips` u32 per this function's contract.
        unsafe { check_slots(slots, n_clips, count, height, width, out_len) }?;
        check_max_seconds(max_seconds)?;
        // SAFETY: `session` is live and used by this call alone; every
        // slot's clip lies inside `out` (checked above), which is all the
        // shim writes; the other pointers per this function's contract.
        let code = unsafe {
            shim::mx8av_session_decode(
                session,
                targets,
                n_clips,
                count,
                tolerance,
                height,
                width,
                out,
                slots,
                max_packets,
                max_seconds,
                status,
                out_pts,
                stats,
                err_ptr as *mut c_char,
                err_len,
            )
        };
        shim_result(code, err_ptr, err_len)
    })
}

/// Frees a session (its bytes, decoder and kept frames). NULL is a no-op.
///
/// # Safety
/// `session` from `mx8_video_session_open`, closed once, not in use.
#[no_mangle]
pub unsafe extern "C" fn mx8_video_session_close(session: *mut shim::Session) {
    // SAFETY: per this function's contract; the shim ignores NULL.
    unsafe { shim::mx8av_session_close(session) }
}

/// Sessions open in this process (opened and not yet closed): tests check
/// that every session is freed.
#[no_mangle]
pub extern "C" fn mx8_video_session_live() -> u64 {
    // SAFETY: reads an atomic counter; no pointers.
    let n = unsafe { shim::mx8av_session_live() };
    n.max(0) as u64
}

/// Checks that every clip slot of a pass lies inside `out`.
///
/// # Safety
/// `slots` valid for `n_clips` u32.
unsafe fn check_slots(
    slots: *const u32,
    n_clips: usize,
    count: usize,
    height: u32,
    width: u32,
    out_len: usize,
) -> VideoResult {
    let clip = clip_bytes(height, width, count)?;
    // SAFETY: `slots` holds `n_clips` u32 per this function's contract.
    let slot_list = unsafe { std::slice::from_raw_parts(slots, n_clips) };
    for (k, &slot) in slot_list.iter().enumerate() {
        let end = (slot as usize + 1).checked_mul(clip);
        if end.map_or(true, |e| e > out_len) {
            return Err(VideoError::new(
                VideoStatus::BufferTooSmall,
                format!("clip {k} in slot {slot} ({count} frames {height}x{width}) ends past the buffer of {out_len} bytes"),
            ));
        }
    }
    Ok(())
}

fn null_argument(what: &str) -> VideoResult {
    Err(VideoError::new(
        VideoStatus::NullArgument,
        format!("{what}: a required pointer is NULL"),
    ))
}

/// Turns a shim code into a result; the shim wrote its text into `err`, so
/// the message is read back from there.
fn shim_result(code: i32, err: *mut u8, cap: usize) -> VideoResult {
    if code == 0 {
        return Ok(());
    }
    let message = if err.is_null() || cap == 0 {
        format!("mx8_av error {code}")
    } else {
        // SAFETY: the shim wrote a NUL-terminated string of at most `cap`
        // bytes into `err` (vsnprintf terminates within its capacity).
        unsafe { std::ffi::CStr::from_ptr(err as *const c_char) }
            .to_string_lossy()
            .into_owned()
    };
    Err(VideoError::new(VideoStatus::of_shim(code), message))
}

/// Bytes of one RGB24 clip of `count` frames of `height` x `width`.
fn clip_bytes(height: u32, width: u32, count: usize) -> Result<usize, VideoError> {
    (height as usize)
        .checked_mul(width as usize)
        .and_then(|p| p.checked_mul(3))
        .and_then(|p| p.checked_mul(count))
        .ok_or_else(|| VideoError::new(VideoStatus::InvalidArgument, "clip size overflows"))
}

/// Refuses a negative or NaN per-clip time limit.
fn check_max_seconds(max_seconds: f64) -> Result<(), VideoError> {
    if max_seconds >= 0.0 {
        Ok(())
    } else {
        Err(VideoError::new(
            VideoStatus::InvalidArgument,
            format!("max_seconds must be >= 0: {max_seconds}"),
        ))
    }
}
