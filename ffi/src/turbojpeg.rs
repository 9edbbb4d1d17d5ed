//! Hand-written bindings to the TurboJPEG 2.x API of the system
//! libjpeg-turbo (`/usr/include/turbojpeg.h`, libjpeg-turbo 2.1), plus a safe
//! decompressor wrapper with a process-wide handle cache.

use std::ffi::{c_char, c_int, c_ulong, c_void, CStr};
use std::sync::Mutex;

use crate::status::{Mx8Error, Mx8Result, Mx8Status};

type TjHandle = *mut c_void;

/// `tjscalingfactor`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TjScalingFactor {
    pub num: c_int,
    pub denom: c_int,
}

/// `TJPF_RGB`.
pub const TJPF_RGB: c_int = 0;
/// `TJSAMP_GRAY`.
pub const TJSAMP_GRAY: c_int = 3;
/// `TJPF_CMYK`.
pub const TJPF_CMYK: c_int = 11;
/// `TJCS_CMYK`.
pub const TJCS_CMYK: c_int = 3;
/// `TJCS_YCCK`.
pub const TJCS_YCCK: c_int = 4;
/// `TJFLAG_FASTDCT`.
pub const TJFLAG_FASTDCT: c_int = 2048;
/// `TJFLAG_STOPONWARNING`: treat libjpeg warnings (e.g. a truncated stream) as errors.
pub const TJFLAG_STOPONWARNING: c_int = 8192;
/// `TJFLAG_LIMITSCANS`: refuse progressive JPEGs with more than 500 scans.
pub const TJFLAG_LIMITSCANS: c_int = 32768;

#[link(name = "turbojpeg")]
extern "C" {
    fn tjInitDecompress() -> TjHandle;
    fn tjDestroy(handle: TjHandle) -> c_int;
    fn tjDecompressHeader3(
        handle: TjHandle,
        jpeg_buf: *const u8,
        jpeg_size: c_ulong,
        width: *mut c_int,
        height: *mut c_int,
        jpeg_subsamp: *mut c_int,
        jpeg_colorspace: *mut c_int,
    ) -> c_int;
    fn tjDecompress2(
        handle: TjHandle,
        jpeg_buf: *const u8,
        jpeg_size: c_ulong,
        dst_buf: *mut u8,
        width: c_int,
        pitch: c_int,
        height: c_int,
        pixel_format: c_int,
        flags: c_int,
    ) -> c_int;
    fn tjDecompressToYUVPlanes(
        handle: TjHandle,
        jpeg_buf: *const u8,
        jpeg_size: c_ulong,
        dst_planes: *mut *mut u8,
        width: c_int,
        strides: *mut c_int,
        height: c_int,
        flags: c_int,
    ) -> c_int;
    fn tjPlaneWidth(component_id: c_int, width: c_int, subsamp: c_int) -> c_int;
    fn tjPlaneHeight(component_id: c_int, height: c_int, subsamp: c_int) -> c_int;
    fn tjGetErrorStr2(handle: TjHandle) -> *mut c_char;
    fn tjGetScalingFactors(num_scaling_factors: *mut c_int) -> *mut TjScalingFactor;
}

/// Parsed JPEG header.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub width: usize,
    pub height: usize,
    /// `TJSAMP_*` chroma subsampling.
    pub subsamp: c_int,
    pub colorspace: c_int,
}

impl Header {
    /// Whether the JPEG holds CMYK/YCCK data (must be decoded as CMYK).
    pub fn is_cmyk(&self) -> bool {
        self.colorspace == TJCS_CMYK || self.colorspace == TJCS_YCCK
    }
}

/// An owned TurboJPEG decompressor. Handles are recycled through a global
/// cache because batch worker threads are short-lived.
pub struct Decompressor {
    handle: TjHandle,
    /// Set after a failed call: libjpeg-turbo 2.1 can leave a handle in a
    /// bad state after an error, so it is destroyed instead of recycled.
    poisoned: bool,
}

// SAFETY: a TurboJPEG handle is plain heap state with no thread affinity; it
// may move between threads as long as it is used by one thread at a time,
// which `&mut self` on every method guarantees.
unsafe impl Send for Decompressor {}

struct CachedHandle(TjHandle);
// SAFETY: see `Decompressor`; cached handles are idle and owned by the cache.
unsafe impl Send for CachedHandle {}

static HANDLE_CACHE: Mutex<Vec<CachedHandle>> = Mutex::new(Vec::new());
const HANDLE_CACHE_MAX: usize = 64;

impl Decompressor {
    /// Takes a cached handle or creates a new one.
    pub fn new() -> Mx8Result<Self> {
        if let Some(h) = HANDLE_CACHE.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(Self {
                handle: h.0,
                poisoned: false,
            });
        }
        // SAFETY: tjInitDecompress has no preconditions; NULL means failure.
        let handle = unsafe { tjInitDecompress() };
        if handle.is_null() {
            return Err(Mx8Error::new(
                Mx8Status::TurboJpegInit,
                "tjInitDecompress failed",
            ));
        }
        Ok(Self {
            handle,
            poisoned: false,
        })
    }

    /// Replaces a poisoned handle with a fresh one.
    fn refresh(&mut self) -> Mx8Result<()> {
        if !self.poisoned {
            return Ok(());
        }
        // SAFETY: tjInitDecompress has no preconditions; NULL means failure.
        let fresh = unsafe { tjInitDecompress() };
        if fresh.is_null() {
            return Err(Mx8Error::new(
                Mx8Status::TurboJpegInit,
                "tjInitDecompress failed",
            ));
        }
        // SAFETY: the old handle is live, owned by `self` and replaced below.
        unsafe { tjDestroy(self.handle) };
        self.handle = fresh;
        self.poisoned = false;
        Ok(())
    }

    fn last_error(&self) -> String {
        // SAFETY: `self.handle` is a live handle; tjGetErrorStr2 returns a
        // pointer to a NUL-terminated string owned by the handle (or a static).
        let ptr = unsafe { tjGetErrorStr2(self.handle) };
        if ptr.is_null() {
            return "unknown libjpeg-turbo error".to_owned();
        }
        // SAFETY: non-NULL, NUL-terminated, valid until the next call on the handle.
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    }

    /// Reads the JPEG header of `jpeg`.
    pub fn header(&mut self, jpeg: &[u8]) -> Mx8Result<Header> {
        self.refresh()?;
        let (mut w, mut h, mut subsamp, mut cs) = (0, 0, 0, 0);
        // SAFETY: `jpeg` is a valid slice for its length; the out-pointers
        // point at live locals.
        let rc = unsafe {
            tjDecompressHeader3(
                self.handle,
                jpeg.as_ptr(),
                jpeg.len() as c_ulong,
                &mut w,
                &mut h,
                &mut subsamp,
                &mut cs,
            )
        };
        if rc != 0 {
            self.poisoned = true;
            return Err(Mx8Error::new(
                Mx8Status::CorruptJpeg,
                format!("corrupt JPEG header: {}", self.last_error()),
            ));
        }
        if w <= 0 || h <= 0 {
            return Err(Mx8Error::new(
                Mx8Status::CorruptJpeg,
                format!("corrupt JPEG header: invalid size {w}x{h}"),
            ));
        }
        Ok(Header {
            width: w as usize,
            height: h as usize,
            subsamp,
            colorspace: cs,
        })
    }

    /// Decodes `jpeg` scaled to exactly `width`×`height` (which must be one of
    /// the sizes produced by [`scaled`] for a supported factor) into `dst`
    /// with `channels` bytes per pixel (`pixel_format` TJPF_RGB or TJPF_CMYK).
    pub fn decompress(
        &mut self,
        jpeg: &[u8],
        dst: &mut [u8],
        width: usize,
        height: usize,
        pixel_format: c_int,
        flags: c_int,
    ) -> Mx8Result<()> {
        self.refresh()?;
        let channels = if pixel_format == TJPF_CMYK { 4 } else { 3 };
        assert!(
            dst.len() >= width * height * channels,
            "decode buffer too small"
        );
        // SAFETY: `jpeg` is valid for reads of its length; `dst` is valid for
        // `width * height * channels` bytes (asserted), which is exactly what
        // TurboJPEG writes for this size, pitch and pixel format.
        let rc = unsafe {
            tjDecompress2(
                self.handle,
                jpeg.as_ptr(),
                jpeg.len() as c_ulong,
                dst.as_mut_ptr(),
                width as c_int,
                (width * channels) as c_int,
                height as c_int,
                pixel_format,
                flags | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS,
            )
        };
        if rc != 0 {
            self.poisoned = true;
            return Err(Mx8Error::new(
                Mx8Status::CorruptJpeg,
                format!("corrupt or truncated JPEG: {}", self.last_error()),
            ));
        }
        Ok(())
    }
}

impl Decompressor {
    /// Decodes `jpeg` scaled to exactly `width`×`height` into Y, Cb, Cr planes
    /// (Y only for grayscale) laid out as described by [`plane_size`], with
    /// each plane's stride equal to its plane width.
    pub fn decompress_yuv(
        &mut self,
        jpeg: &[u8],
        planes: [&mut [u8]; 3],
        width: usize,
        height: usize,
        subsamp: c_int,
        flags: c_int,
    ) -> Mx8Result<()> {
        self.refresh()?;
        let count = if subsamp == TJSAMP_GRAY { 1 } else { 3 };
        let mut ptrs = [std::ptr::null_mut(); 3];
        for (c, (plane, ptr)) in planes.into_iter().zip(&mut ptrs).enumerate().take(count) {
            let (pw, ph) = plane_size(c, width, height, subsamp)?;
            assert!(plane.len() >= pw * ph, "plane buffer too small");
            *ptr = plane.as_mut_ptr();
        }
        // SAFETY: `jpeg` is valid for reads of its length; each of the
        // `count` plane pointers addresses at least plane_width ×
        // plane_height bytes (asserted), which is what TurboJPEG writes with
        // NULL strides (= plane widths) at this scaled size.
        let rc = unsafe {
            tjDecompressToYUVPlanes(
                self.handle,
                jpeg.as_ptr(),
                jpeg.len() as c_ulong,
                ptrs.as_mut_ptr(),
                width as c_int,
                std::ptr::null_mut(),
                height as c_int,
                flags | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS,
            )
        };
        if rc != 0 {
            self.poisoned = true;
            return Err(Mx8Error::new(
                Mx8Status::CorruptJpeg,
                format!("corrupt or truncated JPEG: {}", self.last_error()),
            ));
        }
        Ok(())
    }
}

/// (plane width, plane height) of YUV plane `component` (0 = Y) for an image
/// of `width`×`height` with subsampling `subsamp`.
pub fn plane_size(
    component: usize,
    width: usize,
    height: usize,
    subsamp: c_int,
) -> Mx8Result<(usize, usize)> {
    // SAFETY: pure functions of their integer arguments.
    let (pw, ph) = unsafe {
        (
            tjPlaneWidth(component as c_int, width as c_int, subsamp),
            tjPlaneHeight(component as c_int, height as c_int, subsamp),
        )
    };
    if pw <= 0 || ph <= 0 {
        return Err(Mx8Error::new(
            Mx8Status::CorruptJpeg,
            format!("unsupported chroma subsampling {subsamp}"),
        ));
    }
    Ok((pw as usize, ph as usize))
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        let mut cache = HANDLE_CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if !self.poisoned && cache.len() < HANDLE_CACHE_MAX {
            cache.push(CachedHandle(self.handle));
        } else {
            // SAFETY: the handle is live and owned by `self`; it is not used again.
            unsafe { tjDestroy(self.handle) };
        }
    }
}

/// The scaling factors libjpeg-turbo supports, largest first.
pub fn scaling_factors() -> &'static [TjScalingFactor] {
    use std::sync::OnceLock;
    static FACTORS: OnceLock<Vec<TjScalingFactor>> = OnceLock::new();
    FACTORS.get_or_init(|| {
        let mut n: c_int = 0;
        // SAFETY: `n` is a live local; the returned array is static library
        // data valid for the process lifetime and holds `n` entries.
        let ptr = unsafe { tjGetScalingFactors(&mut n) };
        let mut v = if ptr.is_null() || n <= 0 {
            vec![TjScalingFactor { num: 1, denom: 1 }]
        } else {
            // SAFETY: see above; `ptr` is non-NULL with `n` entries.
            unsafe { std::slice::from_raw_parts(ptr, n as usize) }.to_vec()
        };
        v.sort_by(|a, b| (b.num * a.denom).cmp(&(a.num * b.denom)));
        v
    })
}

/// `TJSCALED`: `ceil(dim * num / denom)`.
pub fn scaled(dim: usize, f: TjScalingFactor) -> usize {
    (dim * f.num as usize).div_ceil(f.denom as usize)
}
