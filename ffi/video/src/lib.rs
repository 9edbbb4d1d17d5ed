//! MX8 video clips: a C ABI over FFmpeg, built separately from `mx8_ffi`
//! so that FFmpeg is never a dependency of the image path.

mod api;
mod panic;
mod shim;
mod status;
