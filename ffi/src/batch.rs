//! Batch entry points: decode B JPEGs in parallel into one NCHW slab.

use std::sync::Mutex;

use crate::decode::{Worker, DEFAULT_MAX_PIXELS};
use crate::panic::{ffi_guard, ErrBuf};
use crate::pool::Mx8Slab;
use crate::resize::Planes;
use crate::status::{write_message_slice, Mx8Error, Mx8Result, Mx8Status};
use crate::turbojpeg::TJFLAG_FASTDCT;

/// `dtype` value: `float32` in [0, 1].
pub const DTYPE_F32: u32 = 0;
/// `dtype` value: `uint8`.
pub const DTYPE_U8: u32 = 1;

/// `flags` bit: use libjpeg-turbo's fast (less accurate) integer IDCT.
pub const MX8_DECODE_FAST_DCT: u32 = 1;
/// `flags` bit: allow every DCT scaling factor (n/8), not only 1/2^k.
pub const MX8_DECODE_ANY_SCALE: u32 = 2;

/// The compressed inputs of a batch: `count` samples in `payload`, sample
/// `i` at `payload[start_i..end_i]` (spans may leave gaps and need not be
/// in order: a caller can skip a sample without copying the others).
struct Inputs<'a> {
    payload: &'a [u8],
    spans: Vec<(u64, u64)>,
}

impl<'a> Inputs<'a> {
    /// # Safety
    /// `payload` valid for `payload_len` bytes (or NULL with 0), `offsets`
    /// valid for `count + 1` u64 reads; both unchanged during the call.
    /// Sample `i` is `payload[offsets[i]..offsets[i + 1]]`.
    unsafe fn from_offsets(
        payload: *const u8,
        payload_len: usize,
        offsets: *const u64,
        count: usize,
    ) -> Mx8Result<Self> {
        // SAFETY: per this function's contract.
        let payload = unsafe { payload_slice(payload, payload_len, offsets)? };
        // SAFETY: non-NULL (checked) and valid for `count + 1` reads per
        // contract. Offsets come from a JS buffer that may not be 8-byte
        // aligned, so copy them out with unaligned reads.
        let offsets: Vec<u64> = (0..=count)
            .map(|i| unsafe { offsets.add(i).read_unaligned() })
            .collect();
        let spans = (0..count).map(|i| (offsets[i], offsets[i + 1])).collect();
        Self::checked(payload, spans, "offsets", 1)
    }

    /// # Safety
    /// `payload` valid for `payload_len` bytes (or NULL with 0), `spans`
    /// valid for `2 * count` u64 reads (start, end per sample); both
    /// unchanged during the call.
    unsafe fn from_spans(
        payload: *const u8,
        payload_len: usize,
        spans: *const u64,
        count: usize,
    ) -> Mx8Result<Self> {
        // SAFETY: per this function's contract.
        let payload = unsafe { payload_slice(payload, payload_len, spans)? };
        // SAFETY: non-NULL (checked) and valid for `2 * count` reads per
        // contract; unaligned reads as above.
        let spans = (0..count)
            .map(|i| unsafe {
                (
                    spans.add(2 * i).read_unaligned(),
                    spans.add(2 * i + 1).read_unaligned(),
                )
            })
            .collect();
        Self::checked(payload, spans, "spans", 2)
    }

    /// Checks every span lies in the payload; `what`/`per` name the input
    /// array and its entries per sample in the message.
    fn checked(
        payload: &'a [u8],
        spans: Vec<(u64, u64)>,
        what: &str,
        per: usize,
    ) -> Mx8Result<Self> {
        let len = payload.len() as u64;
        for (i, &(a, b)) in spans.iter().enumerate() {
            if a > b || b > len {
                return Err(Mx8Error::new(
                    Mx8Status::InvalidArgument,
                    format!(
                        "{what}[{}]={a}..{what}[{}]={b} out of order or past payload length {len}",
                        per * i,
                        per * i + 1
                    ),
                ));
            }
        }
        Ok(Self { payload, spans })
    }

    fn sample(&self, i: usize) -> &'a [u8] {
        let (a, b) = self.spans[i];
        &self.payload[a as usize..b as usize]
    }
}

/// # Safety
/// `payload` valid for `payload_len` bytes (or NULL with 0) for `'a`.
unsafe fn payload_slice<'a>(
    payload: *const u8,
    payload_len: usize,
    index: *const u64,
) -> Mx8Result<&'a [u8]> {
    if index.is_null() || (payload.is_null() && payload_len > 0) {
        return Err(Mx8Error::new(
            Mx8Status::NullArgument,
            "payload or offsets is NULL",
        ));
    }
    Ok(if payload_len == 0 {
        &[]
    } else {
        // SAFETY: non-NULL and valid for `payload_len` bytes per contract.
        unsafe { std::slice::from_raw_parts(payload, payload_len) }
    })
}

fn resolve_threads(threads: u32, count: usize) -> usize {
    let n = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads as usize
    };
    n.clamp(1, count.max(1))
}

/// Runs `job(worker, item)` for every item, over `threads` scoped threads
/// pulling from a shared queue. Each thread creates one [`Worker`].
fn run_parallel<I, F>(items: I, threads: usize, flags: u32, job: F) -> Mx8Result<()>
where
    I: Iterator + Send,
    I::Item: Send,
    F: Fn(&mut Worker, I::Item) + Sync,
{
    let queue = Mutex::new(items);
    let work = || -> Mx8Result<()> {
        let tj_flags = if flags & MX8_DECODE_FAST_DCT != 0 {
            TJFLAG_FASTDCT
        } else {
            0
        };
        let mut worker = Worker::new(tj_flags, flags & MX8_DECODE_ANY_SCALE != 0)?;
        loop {
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
            match next {
                Some(item) => job(&mut worker, item),
                None => return Ok(()),
            }
        }
    };
    if threads <= 1 {
        return work();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut result = work();
        for h in handles {
            let r = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            result = result.and(r);
        }
        result
    })
}

/// Decodes `count` JPEGs into `out_slab` as an NCHW tensor `[count, 3,
/// height, width]` of `dtype` (0 = float32 in [0,1], 1 = uint8).
///
/// Sample `i` is `payload[spans[2i]..spans[2i + 1]]` (spans may leave gaps,
/// e.g. for a sample the caller skips, so no sample is copied to pack the
/// others). Each sample's header
/// is read, the smallest libjpeg-turbo DCT scaling factor whose output still
/// covers the target is used, and the result is resized with an antialiased
/// triangle filter. Per-sample outcomes go to `sample_status[i]` (an
/// `Mx8Status` value) and, for failures, a NUL-terminated message at
/// `sample_errors + i * sample_error_stride`; a failed sample's slot is
/// zero-filled. The return value is `Ok` unless the batch itself is invalid
/// (then `err_buf` gets the message).
///
/// `threads` 0 = one per core; `max_pixels` 0 = 100 megapixels; `flags`
/// bit 0 (`1`) = fast IDCT, bit 1 (`2`) = any DCT scaling factor.
///
/// # Safety
/// `payload` must be valid for `payload_len` reads, `spans` for `2 * count`
/// u64 reads, `sample_status` for `count` u32 writes, `sample_errors` NULL or
/// valid for `count * sample_error_stride` writes, `err_buf` NULL or valid
/// for `err_cap` writes; `out_slab` must be a live slab used by no other call.
/// None of these may be modified by anyone else during the call.
#[no_mangle]
pub unsafe extern "C" fn mx8_decode_spans(
    payload: *const u8,
    payload_len: usize,
    spans: *const u64,
    count: usize,
    height: u32,
    width: u32,
    dtype: u32,
    threads: u32,
    max_pixels: u64,
    flags: u32,
    out_slab: *mut Mx8Slab,
    sample_status: *mut u32,
    sample_errors: *mut u8,
    sample_error_stride: usize,
    err_buf: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: `err_buf`/`err_cap` are valid per this function's contract.
    let err = unsafe { ErrBuf::new(err_buf, err_cap) };
    ffi_guard(err, || {
        if out_slab.is_null() || sample_status.is_null() {
            return Err(Mx8Error::new(
                Mx8Status::NullArgument,
                "out_slab or sample_status is NULL",
            ));
        }
        if height == 0 || width == 0 {
            return Err(Mx8Error::new(
                Mx8Status::InvalidArgument,
                format!("target size {height}x{width} must be positive"),
            ));
        }
        let elem = match dtype {
            DTYPE_F32 => 4,
            DTYPE_U8 => 1,
            _ => {
                return Err(Mx8Error::new(
                    Mx8Status::InvalidArgument,
                    format!("unknown dtype {dtype}"),
                ))
            }
        };
        let (h, w) = (height as usize, width as usize);
        let per_image = 3 * h * w;
        let needed = count
            .checked_mul(per_image * elem)
            .ok_or_else(|| Mx8Error::new(Mx8Status::InvalidArgument, "batch size overflows"))?;
        // SAFETY: live slab, exclusively ours for the call, per contract.
        let slab = unsafe { &mut *out_slab }.bytes_mut();
        if slab.len() < needed {
            return Err(Mx8Error::new(
                Mx8Status::BufferTooSmall,
                format!("slab has {} bytes, batch needs {needed}", slab.len()),
            ));
        }
        // SAFETY: per contract.
        let inputs = unsafe { Inputs::from_spans(payload, payload_len, spans, count)? };
        // SAFETY: valid for `count` u32 writes per contract (may be unaligned).
        let statuses: &mut [u8] =
            unsafe { std::slice::from_raw_parts_mut(sample_status as *mut u8, count * 4) };
        let mut scratch_errors = Vec::new();
        let errors: &mut [u8] = if sample_errors.is_null() || sample_error_stride == 0 {
            scratch_errors.resize(count, 0);
            &mut scratch_errors
        } else {
            // SAFETY: valid for `count * stride` writes per contract.
            unsafe { std::slice::from_raw_parts_mut(sample_errors, count * sample_error_stride) }
        };
        let stride = (errors.len() / count.max(1)).max(1);
        let max_pixels = if max_pixels == 0 {
            DEFAULT_MAX_PIXELS
        } else {
            max_pixels
        };
        let slots: Vec<Planes<'_>> = if dtype == DTYPE_F32 {
            // SAFETY: slabs are 64-byte aligned, so the f32 view has no
            // prefix; any bit pattern is a valid f32.
            let (pre, floats, _) = unsafe { slab[..needed].align_to_mut::<f32>() };
            assert!(pre.is_empty(), "slab not aligned for f32");
            floats
                .chunks_exact_mut(per_image.max(1))
                .map(Planes::F32)
                .take(count)
                .collect()
        } else {
            slab[..needed]
                .chunks_exact_mut(per_image.max(1))
                .map(Planes::U8)
                .take(count)
                .collect()
        };
        let items = slots
            .into_iter()
            .zip(statuses.chunks_exact_mut(4))
            .zip(errors.chunks_exact_mut(stride))
            .enumerate();
        let threads = resolve_threads(threads, count);
        let result = run_parallel(
            items,
            threads,
            flags,
            |worker, (i, ((mut slot, status), err))| {
                let code = match worker.decode_into(inputs.sample(i), h, w, max_pixels, &mut slot) {
                    Ok(()) => {
                        err[0] = 0;
                        Mx8Status::Ok
                    }
                    Err(e) => {
                        slot.zero();
                        write_message_slice(err, &e.message);
                        e.status
                    }
                };
                status.copy_from_slice(&(code as u32).to_ne_bytes());
            },
        );
        result
    })
}

/// Decodes `count` JPEGs to full-size RGB and discards the pixels: the
/// libjpeg-turbo ceiling the benchmark compares against. Sample `i` is
/// `payload[offsets[i]..offsets[i + 1]]`; threads, max-pixels and flags as
/// `mx8_decode_spans`; per-sample statuses
/// go to `sample_status`, the total decoded pixel count to `*out_pixels`.
///
/// # Safety
/// As for `mx8_decode_spans`, with `offsets` valid for `count + 1` u64
/// reads; `out_pixels` must be NULL or valid for a u64 write.
#[no_mangle]
pub unsafe extern "C" fn mx8_decode_only(
    payload: *const u8,
    payload_len: usize,
    offsets: *const u64,
    count: usize,
    threads: u32,
    max_pixels: u64,
    flags: u32,
    sample_status: *mut u32,
    out_pixels: *mut u64,
    err_buf: *mut u8,
    err_cap: usize,
) -> u32 {
    // SAFETY: `err_buf`/`err_cap` are valid per this function's contract.
    let err = unsafe { ErrBuf::new(err_buf, err_cap) };
    ffi_guard(err, || {
        if sample_status.is_null() {
            return Err(Mx8Error::new(
                Mx8Status::NullArgument,
                "sample_status is NULL",
            ));
        }
        // SAFETY: per contract.
        let inputs = unsafe { Inputs::from_offsets(payload, payload_len, offsets, count)? };
        // SAFETY: valid for `count` u32 writes per contract (may be unaligned).
        let statuses: &mut [u8] =
            unsafe { std::slice::from_raw_parts_mut(sample_status as *mut u8, count * 4) };
        let max_pixels = if max_pixels == 0 {
            DEFAULT_MAX_PIXELS
        } else {
            max_pixels
        };
        let total = std::sync::atomic::AtomicU64::new(0);
        let threads = resolve_threads(threads, count);
        let result = run_parallel(
            statuses.chunks_exact_mut(4).enumerate(),
            threads,
            flags,
            |worker, (i, status)| {
                let code = match worker.decode_only(inputs.sample(i), max_pixels) {
                    Ok(px) => {
                        total.fetch_add(px, std::sync::atomic::Ordering::Relaxed);
                        Mx8Status::Ok
                    }
                    Err(e) => e.status,
                };
                status.copy_from_slice(&(code as u32).to_ne_bytes());
            },
        );
        if !out_pixels.is_null() {
            // SAFETY: non-NULL and writable per contract.
            unsafe { out_pixels.write_unaligned(total.into_inner()) };
        }
        result
    })
}
