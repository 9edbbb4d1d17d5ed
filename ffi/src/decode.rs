//! Single-image pipeline: validate, read the header, pick the DCT scaling
//! factor, decode, then resize + colour-convert + normalize into the NCHW
//! slot. Ordinary (YCbCr / grayscale) JPEGs are decoded to planes and never
//! materialized as full-size RGB ([`crate::planar`]); CMYK/YCCK JPEGs are
//! refused with `NeedsColorTransform` (they need colour management, which
//! the caller's fallback backend has).

use crate::planar::{resize_yuv_to_planes, PlanarScratch, YuvLayout};
use crate::resize::Planes;
use crate::status::{Mx8Error, Mx8Result, Mx8Status};
use crate::turbojpeg::{
    plane_size, scaled, scaling_factors, Decompressor, Header, TjScalingFactor, TJPF_CMYK, TJPF_RGB,
};

/// Default decompression-bomb guard: 100 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// Per-thread reusable state.
pub struct Worker {
    dec: Decompressor,
    rgb: Vec<u8>,
    cmyk: Vec<u8>,
    yuv: [Vec<u8>; 3],
    planar: PlanarScratch,
    flags: i32,
    any_factor: bool,
}

impl Worker {
    /// `flags`: TurboJPEG flags; `any_factor`: allow every DCT scaling
    /// factor, not only powers of two (see [`pick_factor`]).
    pub fn new(flags: i32, any_factor: bool) -> Mx8Result<Self> {
        Ok(Self {
            dec: Decompressor::new()?,
            rgb: Vec::new(),
            cmyk: Vec::new(),
            yuv: Default::default(),
            planar: PlanarScratch::default(),
            flags,
            any_factor,
        })
    }

    /// Validates `jpeg` and reads its header.
    fn header(&mut self, jpeg: &[u8], max_pixels: u64) -> Mx8Result<Header> {
        if jpeg.is_empty() {
            return Err(Mx8Error::new(
                Mx8Status::EmptyInput,
                "empty input (0 bytes)",
            ));
        }
        if jpeg.len() < 2 || jpeg[0] != 0xFF || jpeg[1] != 0xD8 {
            return Err(Mx8Error::new(
                Mx8Status::NotJpeg,
                format!("not a JPEG: {}", sniff(jpeg)),
            ));
        }
        let header = self.dec.header(jpeg)?;
        let pixels = header.width as u64 * header.height as u64;
        if pixels > max_pixels {
            return Err(Mx8Error::new(
                Mx8Status::TooManyPixels,
                format!(
                    "image {}x{} has {pixels} pixels, over max pixels {max_pixels}",
                    header.width, header.height
                ),
            ));
        }
        Ok(header)
    }

    /// Decodes `jpeg` at `factor` into `self.rgb`, returning (height, width).
    fn decode_rgb(
        &mut self,
        jpeg: &[u8],
        header: &Header,
        factor: TjScalingFactor,
    ) -> Mx8Result<(usize, usize)> {
        let w = scaled(header.width, factor);
        let h = scaled(header.height, factor);
        let n = w * h * 3;
        if self.rgb.len() < n {
            self.rgb.resize(n, 0);
        }
        if header.is_cmyk() {
            // libjpeg-turbo 2.x cannot convert CMYK/YCCK to RGB itself.
            let m = w * h * 4;
            if self.cmyk.len() < m {
                self.cmyk.resize(m, 0);
            }
            self.dec
                .decompress(jpeg, &mut self.cmyk[..m], w, h, TJPF_CMYK, self.flags)?;
            cmyk_to_rgb(&self.cmyk[..m], &mut self.rgb[..n]);
        } else {
            self.dec
                .decompress(jpeg, &mut self.rgb[..n], w, h, TJPF_RGB, self.flags)?;
        }
        Ok((h, w))
    }

    /// Decodes, resizes to `dh`×`dw` and writes the 3 planes into `out`.
    pub fn decode_into(
        &mut self,
        jpeg: &[u8],
        dh: usize,
        dw: usize,
        max_pixels: u64,
        out: &mut Planes<'_>,
    ) -> Mx8Result<()> {
        let header = self.header(jpeg, max_pixels)?;
        let factor = pick_factor(header.width, header.height, dw, dh, self.any_factor);
        if header.is_cmyk() {
            // Print CMYK needs the image's (or a default) ICC profile to look
            // right: a plain formula comes out visibly brighter than
            // colour-managed decoders. The caller hands these to one.
            return Err(Mx8Error::new(
                Mx8Status::NeedsColorTransform,
                "CMYK/YCCK JPEG: its colours need an ICC transform, which the native decoder \
                 does not do (decodeBackend \"auto\" decodes it with sharp)",
            ));
        }
        let (w, h) = (scaled(header.width, factor), scaled(header.height, factor));
        let mut layout = YuvLayout {
            width: w,
            height: h,
            subsamp: header.subsamp,
            planes: [(0, 0); 3],
        };
        let n_planes = if layout.is_gray() { 1 } else { 3 };
        for c in 0..n_planes {
            layout.planes[c] = plane_size(c, w, h, header.subsamp)?;
            let (pw, ph) = layout.planes[c];
            if self.yuv[c].len() < pw * ph {
                self.yuv[c].resize(pw * ph, 0);
            }
        }
        let [y, u, v] = &mut self.yuv;
        self.dec.decompress_yuv(
            jpeg,
            [&mut y[..], &mut u[..], &mut v[..]],
            w,
            h,
            header.subsamp,
            self.flags,
        )?;
        resize_yuv_to_planes(
            [&y[..], &u[..], &v[..]],
            &layout,
            dh,
            dw,
            out,
            &mut self.planar,
        );
        Ok(())
    }

    /// Full-size decode to RGB with no resize (benchmark ceiling); returns
    /// the pixel count.
    pub fn decode_only(&mut self, jpeg: &[u8], max_pixels: u64) -> Mx8Result<u64> {
        let header = self.header(jpeg, max_pixels)?;
        let (h, w) = self.decode_rgb(jpeg, &header, TjScalingFactor { num: 1, denom: 1 })?;
        Ok((h * w) as u64)
    }
}

/// The smallest supported scaling factor (≤ 1) whose output is still at
/// least `tw`×`th`; 1 when the source is already smaller than the target.
///
/// With `any_factor` false only 1, 1/2, 1/4 and 1/8 are considered: on
/// libjpeg-turbo 2.1 / x86-64 the other eighths (3/4, 5/8, ...) run scalar
/// IDCTs and decode *slower* than a full-size SIMD decode (measured on
/// 500×375: 1/1 0.65 ms, 5/8 0.92 ms, 3/4 1.03 ms, 1/2 0.48 ms), so they
/// cost time instead of saving it.
pub fn pick_factor(w: usize, h: usize, tw: usize, th: usize, any_factor: bool) -> TjScalingFactor {
    let mut best = TjScalingFactor { num: 1, denom: 1 };
    // Factors are sorted largest first; keep the last (smallest) that fits.
    for &f in scaling_factors() {
        if f.num > f.denom || (!any_factor && (f.num != 1 || !(f.denom as u32).is_power_of_two())) {
            continue;
        }
        if scaled(w, f) >= tw && scaled(h, f) >= th {
            best = f;
        } else {
            break;
        }
    }
    best
}

/// Converts libjpeg's (Adobe-inverted) CMYK to RGB: `R = C·K / 255`.
fn cmyk_to_rgb(cmyk: &[u8], rgb: &mut [u8]) {
    for (p, o) in cmyk.chunks_exact(4).zip(rgb.chunks_exact_mut(3)) {
        let k = p[3] as u32;
        o[0] = ((p[0] as u32 * k + 127) / 255) as u8;
        o[1] = ((p[1] as u32 * k + 127) / 255) as u8;
        o[2] = ((p[2] as u32 * k + 127) / 255) as u8;
    }
}

/// Names the format of non-JPEG bytes for error messages.
fn sniff(bytes: &[u8]) -> String {
    let kind = if bytes.starts_with(b"\x89PNG") {
        "looks like PNG"
    } else if bytes.starts_with(b"GIF8") {
        "looks like GIF"
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "looks like WebP"
    } else if bytes.starts_with(b"BM") {
        "looks like BMP"
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        "looks like TIFF"
    } else {
        "unknown format"
    };
    let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02X}")).collect();
    format!("{kind} (starts with {})", head.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_smallest_factor_covering_target() {
        let f = pick_factor(500, 375, 224, 224, true);
        assert_eq!((f.num, f.denom), (5, 8));
        let f = pick_factor(500, 375, 224, 224, false);
        assert_eq!((f.num, f.denom), (1, 1));
        let f = pick_factor(1000, 750, 224, 224, false);
        assert_eq!((f.num, f.denom), (1, 2));
        let f = pick_factor(4000, 3000, 224, 224, true);
        assert_eq!((f.num, f.denom), (1, 8));
        let f = pick_factor(4000, 3000, 224, 224, false);
        assert_eq!((f.num, f.denom), (1, 8));
        let f = pick_factor(100, 100, 224, 224, true);
        assert_eq!((f.num, f.denom), (1, 1));
        let f = pick_factor(224, 224, 224, 224, true);
        assert_eq!((f.num, f.denom), (1, 1));
    }
}
