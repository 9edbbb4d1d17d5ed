//! Declarations of the C shim `shim/mx8_av.h` (compiled by build.rs). Only
//! integers, doubles and byte pointers cross: no FFmpeg struct layout is
//! copied into Rust.

use std::os::raw::c_char;

/// `MX8AV_ABI` of the shim this crate was written against.
pub const SHIM_ABI: u32 = 3;

/// An opaque `Mx8avSession` (only its pointer crosses).
#[repr(C)]
pub struct Session {
    _private: [u8; 0],
}

extern "C" {
    pub fn mx8av_abi() -> u32;
    pub fn mx8av_versions(out: *mut u32);
    pub fn mx8av_set_log(verbose: i32);
    pub fn mx8av_probe(
        data: *const u8,
        len: usize,
        out: *mut i64,
        codec: *mut c_char,
        codec_cap: usize,
        keys: *mut i64,
        keys_cap: usize,
        err: *mut c_char,
        err_cap: usize,
    ) -> i32;
    pub fn mx8av_probe_file(
        path: *const c_char,
        out: *mut i64,
        codec: *mut c_char,
        codec_cap: usize,
        keys: *mut i64,
        keys_cap: usize,
        err: *mut c_char,
        err_cap: usize,
    ) -> i32;
    pub fn mx8av_decode_clips(
        data: *const u8,
        len: usize,
        targets: *const i64,
        n_clips: usize,
        count: usize,
        tolerance: i64,
        height: u32,
        width: u32,
        out: *mut u8,
        slots: *const u32,
        threads: u32,
        max_packets: u64,
        max_seconds: f64,
        status: *mut i32,
        out_pts: *mut i64,
        stats: *mut i64,
        err: *mut c_char,
        err_cap: usize,
    ) -> i32;
    pub fn mx8av_session_open(data: *const u8, len: usize, copy: i32, threads: u32) -> *mut Session;
    pub fn mx8av_session_decode(
        s: *mut Session,
        targets: *const i64,
        n_clips: usize,
        count: usize,
        tolerance: i64,
        height: u32,
        width: u32,
        out: *mut u8,
        slots: *const u32,
        max_packets: u64,
        max_seconds: f64,
        status: *mut i32,
        out_pts: *mut i64,
        stats: *mut i64,
        err: *mut c_char,
        err_cap: usize,
    ) -> i32;
    pub fn mx8av_session_close(s: *mut Session);
    pub fn mx8av_session_live() -> std::os::raw::c_long;
    pub fn mx8av_decode_clip(
        data: *const u8,
        len: usize,
        targets: *const i64,
        count: usize,
        tolerance: i64,
        height: u32,
        width: u32,
        out: *mut u8,
        threads: u32,
        max_packets: u64,
        max_seconds: f64,
        out_pts: *mut i64,
        err: *mut c_char,
        err_cap: usize,
    ) -> i32;
}
