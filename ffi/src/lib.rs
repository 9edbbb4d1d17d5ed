//! MX8 native library: a bounded buffer pool and a batched JPEG decoder that
//! writes resized, normalized NCHW tensors straight into pool slabs, plus
//! shard files that `mx8 pack` fills with kernel-side copies.
//!
//! Every exported function is `extern "C"`, prefixed `mx8_`, never unwinds
//! across the boundary and reports failures through [`status::Mx8Status`].

mod batch;
mod decode;
mod list_tree;
mod mapped;
mod panic;
mod planar;
mod pool;
mod resize;
mod shard_file;
mod status;
mod turbojpeg;
