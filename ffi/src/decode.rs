//! Single-image pipeline: validate, read header, pick the DCT scaling
//! factor, decode to RGB, resize + normalize into the NCHW slot.

use crate::resize::{resize_rgb_to_planes, Planes, ResizeScratch};
use crate::status::{Mx8Error, Mx8Result, Mx8Status};
use crate::turbojpeg::{
    scaled, scaling_factors, Decompressor, Header, TjScalingFactor, TJPF_CMYK, TJPF_RGB,
};

/// Default decompression-bomb guard: 100 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// Per-thread reusable state.
pub struct Worker {
    dec: Decompressor,
    rgb: Vec<u8>,
    cmyk: Vec<u8>,
    resize: ResizeScratch,
    flags: i32,
}

impl Worker {
    pub fn new(flags: i32) -> Mx8Result<Self> {
        Ok(Self {
            dec: Decompressor::new()?,
            rgb: Vec::new(),
            cmyk: Vec::new(),
            resize: ResizeScratch::default(),
            flags,
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
        let factor = pick_factor(header.width, header.height, dw, dh);
        let (sh, sw) = self.decode_rgb(jpeg, &header, factor)?;
        resize_rgb_to_planes(&self.rgb, sh, sw, dh, dw, out, &mut self.resize);
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
pub fn pick_factor(w: usize, h: usize, tw: usize, th: usize) -> TjScalingFactor {
    let mut best = TjScalingFactor { num: 1, denom: 1 };
    // Factors are sorted largest first; keep the last (smallest) that fits.
    for &f in scaling_factors() {
        if f.num > f.denom {
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
        let f = pick_factor(500, 375, 224, 224);
        assert_eq!((f.num, f.denom), (5, 8));
        let f = pick_factor(4000, 3000, 224, 224);
        assert_eq!((f.num, f.denom), (1, 8));
        let f = pick_factor(100, 100, 224, 224);
        assert_eq!((f.num, f.denom), (1, 1));
        let f = pick_factor(224, 224, 224, 224);
        assert_eq!((f.num, f.denom), (1, 1));
    }
}

#[cfg(test)]
mod perf_probe {
    use super::*;
    use crate::turbojpeg::TjScalingFactor;
    #[test]
    #[ignore]
    fn probe() {
        let dir = "/tmp/mx8-bench-decode-v1/class_000";
        let files: Vec<Vec<u8>> = std::fs::read_dir(dir).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect();
        let mut w = Worker::new(0).unwrap();
        let mut out = vec![0f32; 3 * 224 * 224];
        for (name, f) in [("1/1", TjScalingFactor{num:1,denom:1}), ("5/8", TjScalingFactor{num:5,denom:8}), ("1/2", TjScalingFactor{num:1,denom:2}), ("3/4", TjScalingFactor{num:3,denom:4})] {
            let t = std::time::Instant::now();
            let mut dims = (0, 0);
            for _ in 0..3 { for j in &files { let h = w.header(j, u64::MAX).unwrap(); dims = w.decode_rgb(j, &h, f).unwrap(); } }
            let dec = t.elapsed().as_secs_f64() / (3.0 * files.len() as f64);
            let t = std::time::Instant::now();
            for _ in 0..30 { crate::resize::resize_rgb_to_planes(&w.rgb, dims.0, dims.1, 224, 224, &mut Planes::F32(&mut out), &mut w.resize); }
            let rs = t.elapsed().as_secs_f64() / 30.0;
            let big_n = files.len() * 3 * 224 * 224;
            let mut big = vec![0f32; big_n];
            let t = std::time::Instant::now();
            for _ in 0..3 { for (k, j) in files.iter().enumerate() { let h = w.header(j, u64::MAX).unwrap(); let d = w.decode_rgb(j, &h, f).unwrap(); crate::resize::resize_rgb_to_planes(&w.rgb, d.0, d.1, 224, 224, &mut Planes::F32(&mut big[k*3*224*224..(k+1)*3*224*224]), &mut w.resize); } }
            let e2e = t.elapsed().as_secs_f64() / (3.0 * files.len() as f64);
            println!("{name}: e2e {:.3} ms", e2e * 1e3);
            println!("{name}: decode {:.3} ms  resize {:.3} ms dims {:?}", dec * 1e3, rs * 1e3, dims);
        }
    }
}
