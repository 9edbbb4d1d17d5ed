//! Separable antialiased triangle-filter resize, and the interleaved-RGB
//! path (used for CMYK JPEGs, which libjpeg-turbo cannot hand out as YCbCr
//! planes; everything else goes through [`crate::planar`]).
//!
//! The filter is a triangle (tent) whose radius is the scale factor when
//! shrinking (so every source pixel contributes: antialiased, like PIL's
//! `BILINEAR` reduce or libvips' `linear` kernel) and one source pixel when
//! enlarging (plain bilinear). Images are produced one output row at a time:
//! a vertical pass blends the contributing source rows into one `f32` row
//! (one pass with a compile-time tap count, which the compiler vectorizes,
//! 8 lanes when AVX2 is detected at run time), then a horizontal pass writes
//! the output planes with normalization fused in.

/// Filter taps for one axis: output `i` reads source `start[i]..start[i] + taps`
/// with weights `weights[i * taps..(i + 1) * taps]` (zero-padded).
pub struct Taps {
    pub taps: usize,
    pub start: Vec<usize>,
    pub weights: Vec<f32>,
}

impl Taps {
    /// Triangle-filter taps mapping `src` samples to `dst` samples; every
    /// row of weights sums to `gain`.
    pub fn new(src: usize, dst: usize, gain: f32) -> Self {
        Self::with_scale(src, dst, src as f64 / dst as f64, gain)
    }

    /// Taps where output `i` is centred on source coordinate
    /// `(i + 0.5) * scale` (sample `j` covers `[j, j + 1)`), reading only
    /// samples `0..src`. `scale` differs from `src / dst` for subsampled
    /// chroma planes, whose samples each cover several luma pixels.
    pub fn with_scale(src: usize, dst: usize, scale: f64, gain: f32) -> Self {
        assert!(src > 0 && dst > 0 && scale > 0.0, "empty axis");
        let radius = scale.max(1.0);
        let mut rows: Vec<(usize, Vec<f64>)> = Vec::with_capacity(dst);
        let mut taps = 1;
        for i in 0..dst {
            let center = (i as f64 + 0.5) * scale;
            let lo = (((center - radius).floor().max(0.0)) as usize).min(src - 1);
            let hi = ((center + radius).ceil() as usize).clamp(lo + 1, src);
            let mut w: Vec<f64> = (lo..hi)
                .map(|j| (1.0 - ((j as f64 + 0.5 - center) / radius).abs()).max(0.0))
                .collect();
            let sum: f64 = w.iter().sum();
            if sum > 0.0 {
                w.iter_mut().for_each(|x| *x /= sum);
            } else {
                // Degenerate (cannot happen for radius >= 1): nearest sample.
                w.iter_mut().for_each(|x| *x = 0.0);
                let near = (center.floor() as usize).clamp(lo, hi - 1);
                w[near - lo] = 1.0;
            }
            // Trim zero weights at both ends to keep the tap count small.
            let first = w.iter().position(|&x| x > 0.0).unwrap_or(0);
            let last = w.iter().rposition(|&x| x > 0.0).unwrap_or(0);
            let w = w[first..=last].to_vec();
            taps = taps.max(w.len());
            rows.push((lo + first, w));
        }
        let taps = taps.min(src);
        let mut start = Vec::with_capacity(dst);
        let mut weights = vec![0f32; dst * taps];
        for (i, (lo, w)) in rows.into_iter().enumerate() {
            // Shift the window left at the right edge so it stays in bounds.
            let s = lo.min(src - taps);
            let off = lo - s;
            for (k, &x) in w.iter().enumerate() {
                weights[i * taps + off + k] = (x * gain as f64) as f32;
            }
            start.push(s);
        }
        Self {
            taps,
            start,
            weights,
        }
    }
}

/// Clamps to [0, 1]. `max`/`min` compile to branchless `maxss`/`minss`;
/// `f32::clamp` adds NaN handling that stops vectorization.
#[inline(always)]
#[allow(clippy::manual_clamp)]
pub(crate) fn to_unit(x: f32) -> f32 {
    x.max(0.0).min(1.0)
}

/// Rounds and saturates to a byte (see [`to_unit`]).
#[inline(always)]
#[allow(clippy::manual_clamp)]
pub(crate) fn to_byte(x: f32) -> u8 {
    (x + 0.5).max(0.0).min(255.0) as u8
}

/// Output tensor slot for one image: 3 planes of `height * width`.
pub enum Planes<'a> {
    F32(&'a mut [f32]),
    U8(&'a mut [u8]),
}

impl Planes<'_> {
    /// Zero-fills the slot (used for failed samples).
    pub fn zero(&mut self) {
        match self {
            Planes::F32(p) => p.fill(0.0),
            Planes::U8(p) => p.fill(0),
        }
    }
}

/// Reusable per-thread buffers.
#[derive(Default)]
pub struct ResizeScratch {
    row: Vec<f32>,
    cached: Option<(usize, usize, usize, usize, bool, Taps, Taps)>,
}

/// Resizes interleaved RGB `src` (`sh` rows × `sw` columns, tightly packed)
/// into `out` (3 planes of `dh × dw`), converting to `f32` in [0,1] or `u8`.
pub fn resize_rgb_to_planes(
    src: &[u8],
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    out: &mut Planes<'_>,
    scratch: &mut ResizeScratch,
) {
    assert!(src.len() >= sh * sw * 3, "source too small");
    assert!(dh > 0 && dw > 0, "empty target");
    let is_f32 = matches!(out, Planes::F32(_));
    let fresh = !matches!(&scratch.cached,
        Some((a, b, c, d, e, _, _)) if (*a, *b, *c, *d, *e) == (sh, sw, dh, dw, is_f32));
    if fresh {
        let gain = if is_f32 { 1.0 / 255.0 } else { 1.0 };
        let v = Taps::new(sh, dh, 1.0);
        let h = Taps::new(sw, dw, gain);
        scratch.cached = Some((sh, sw, dh, dw, is_f32, v, h));
    }
    // One spare float after the row: the horizontal pass loads 4 lanes
    // (R, G, B + the next pixel's R, weighted and then ignored).
    scratch.row.resize(sw * 3 + 1, 0.0);
    let Some((_, _, _, _, _, vt, ht)) = &scratch.cached else {
        unreachable!()
    };
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { resize_avx2(src, sw, dh, dw, out, vt, ht, &mut scratch.row) };
            return;
        }
    }
    resize_impl(src, sw, dh, dw, out, vt, ht, &mut scratch.row);
}

/// [`resize_impl`] compiled for AVX2 (8-lane vertical pass).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn resize_avx2(
    src: &[u8],
    sw: usize,
    dh: usize,
    dw: usize,
    out: &mut Planes<'_>,
    vt: &Taps,
    ht: &Taps,
    row: &mut [f32],
) {
    resize_impl(src, sw, dh, dw, out, vt, ht, row);
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn resize_impl(
    src: &[u8],
    sw: usize,
    dh: usize,
    dw: usize,
    out: &mut Planes<'_>,
    vt: &Taps,
    ht: &Taps,
    row: &mut [f32],
) {
    let row_len = sw * 3;
    let plane = dh * dw;
    for y in 0..dh {
        vertical_dispatch(src, row_len, vt, y, &mut row[..row_len]);
        let span = y * dw..(y + 1) * dw;
        match out {
            Planes::F32(p) => {
                let (r, rest) = p.split_at_mut(plane);
                let (g, b) = rest.split_at_mut(plane);
                horizontal_dispatch(
                    row,
                    ht,
                    &mut r[span.clone()],
                    &mut g[span.clone()],
                    &mut b[span],
                    to_unit,
                );
            }
            Planes::U8(p) => {
                let (r, rest) = p.split_at_mut(plane);
                let (g, b) = rest.split_at_mut(plane);
                horizontal_dispatch(
                    row,
                    ht,
                    &mut r[span.clone()],
                    &mut g[span.clone()],
                    &mut b[span],
                    to_byte,
                );
            }
        }
    }
}

/// Vertical pass for output row `y`: `row[i] = Σ_k w_k · src[(s + k) ·
/// stride + i]` for `i < row.len()` (`row.len() <= stride`).
#[inline(always)]
pub(crate) fn vertical_dispatch(src: &[u8], stride: usize, vt: &Taps, y: usize, row: &mut [f32]) {
    match vt.taps {
        1 => vertical::<1>(src, stride, vt, y, row),
        2 => vertical::<2>(src, stride, vt, y, row),
        3 => vertical::<3>(src, stride, vt, y, row),
        4 => vertical::<4>(src, stride, vt, y, row),
        5 => vertical::<5>(src, stride, vt, y, row),
        6 => vertical::<6>(src, stride, vt, y, row),
        _ => vertical_dyn(src, stride, vt, y, row),
    }
}

/// Blends the `N` source rows contributing to output row `y` into `row`
/// in one pass (the `i` loop vectorizes; the `k` loop unrolls).
#[inline(always)]
fn vertical<const N: usize>(src: &[u8], stride: usize, vt: &Taps, y: usize, row: &mut [f32]) {
    let s = vt.start[y];
    let w: [f32; N] = std::array::from_fn(|k| vt.weights[y * N + k]);
    let width = row.len();
    let lines: [&[u8]; N] =
        std::array::from_fn(|k| &src[(s + k) * stride..(s + k) * stride + width]);
    for (i, o) in row.iter_mut().enumerate() {
        let mut acc = 0f32;
        for k in 0..N {
            // SAFETY: every line has exactly `width` bytes (sliced above)
            // and `i < row.len() == width`.
            acc += w[k] * unsafe { *lines[k].get_unchecked(i) } as f32;
        }
        *o = acc;
    }
}

fn vertical_dyn(src: &[u8], stride: usize, vt: &Taps, y: usize, row: &mut [f32]) {
    let s = vt.start[y];
    let w = &vt.weights[y * vt.taps..(y + 1) * vt.taps];
    let width = row.len();
    row.fill(0.0);
    for (k, &wk) in w.iter().enumerate() {
        let line = &src[(s + k) * stride..(s + k) * stride + width];
        for (o, &p) in row.iter_mut().zip(line) {
            *o += wk * p as f32;
        }
    }
}

#[inline(always)]
fn horizontal_dispatch<T: Copy>(
    row: &[f32],
    ht: &Taps,
    r: &mut [T],
    g: &mut [T],
    b: &mut [T],
    conv: impl Fn(f32) -> T + Copy,
) {
    match ht.taps {
        1 => horizontal::<T, 1>(row, ht, r, g, b, conv),
        2 => horizontal::<T, 2>(row, ht, r, g, b, conv),
        3 => horizontal::<T, 3>(row, ht, r, g, b, conv),
        4 => horizontal::<T, 4>(row, ht, r, g, b, conv),
        5 => horizontal::<T, 5>(row, ht, r, g, b, conv),
        6 => horizontal::<T, 6>(row, ht, r, g, b, conv),
        7 => horizontal::<T, 7>(row, ht, r, g, b, conv),
        8 => horizontal::<T, 8>(row, ht, r, g, b, conv),
        _ => horizontal_dyn(row, ht, r, g, b, conv),
    }
}

/// Horizontal pass with a compile-time tap count: per output pixel, `N`
/// 4-lane multiply-adds over (R, G, B, next R).
#[inline(always)]
fn horizontal<T: Copy, const N: usize>(
    row: &[f32],
    ht: &Taps,
    r: &mut [T],
    g: &mut [T],
    b: &mut [T],
    conv: impl Fn(f32) -> T,
) {
    let weights = ht.weights.chunks_exact(N);
    for ((((&x, w), or), og), ob) in ht.start.iter().zip(weights).zip(r).zip(g).zip(b) {
        let px = &row[x * 3..x * 3 + N * 3 + 1];
        let acc = dot4::<N>(px, w);
        *or = conv(acc[0]);
        *og = conv(acc[1]);
        *ob = conv(acc[2]);
    }
}

/// `Σ_k w[k] · px[3k..3k+4]` as one 4-lane vector (SSE on x86-64).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn dot4<const N: usize>(px: &[f32], w: &[f32]) -> [f32; 4] {
    use std::arch::x86_64::{
        _mm_add_ps, _mm_loadu_ps, _mm_mul_ps, _mm_set1_ps, _mm_setzero_ps, _mm_storeu_ps,
    };
    assert!(px.len() > 3 * N && w.len() >= N);
    let mut out = [0f32; 4];
    // SAFETY: SSE is part of the x86-64 baseline; every load reads
    // px[3k..3k+4] with 3k + 4 <= 3N + 1 <= px.len() (asserted), and the
    // store writes the 4-element `out`.
    unsafe {
        let mut acc = _mm_setzero_ps();
        for k in 0..N {
            let v = _mm_loadu_ps(px.as_ptr().add(3 * k));
            acc = _mm_add_ps(acc, _mm_mul_ps(v, _mm_set1_ps(*w.get_unchecked(k))));
        }
        _mm_storeu_ps(out.as_mut_ptr(), acc);
    }
    out
}

/// Portable version of the 4-lane dot product.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn dot4<const N: usize>(px: &[f32], w: &[f32]) -> [f32; 4] {
    let mut acc = [0f32; 4];
    for k in 0..N {
        for c in 0..4 {
            acc[c] += w[k] * px[k * 3 + c];
        }
    }
    acc
}

fn horizontal_dyn<T: Copy>(
    row: &[f32],
    ht: &Taps,
    r: &mut [T],
    g: &mut [T],
    b: &mut [T],
    conv: impl Fn(f32) -> T,
) {
    let n = ht.taps;
    for (i, &x) in ht.start.iter().enumerate() {
        let w = &ht.weights[i * n..(i + 1) * n];
        let px = &row[x * 3..(x + n) * 3];
        let (mut ar, mut ag, mut ab) = (0f32, 0f32, 0f32);
        for k in 0..n {
            ar += w[k] * px[k * 3];
            ag += w[k] * px[k * 3 + 1];
            ab += w[k] * px[k * 3 + 2];
        }
        r[i] = conv(ar);
        g[i] = conv(ag);
        b[i] = conv(ab);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_gain_and_stay_in_bounds() {
        for (src, dst) in [
            (500, 224),
            (224, 224),
            (100, 300),
            (7, 3),
            (1, 5),
            (313, 224),
        ] {
            let t = Taps::new(src, dst, 1.0);
            for i in 0..dst {
                let s: f32 = t.weights[i * t.taps..(i + 1) * t.taps].iter().sum();
                assert!((s - 1.0).abs() < 1e-5, "{src}->{dst} row {i} sums {s}");
                assert!(t.start[i] + t.taps <= src);
            }
        }
    }

    #[test]
    fn identity_size_copies_pixels() {
        let src: Vec<u8> = (0..4 * 5 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let mut out = vec![0u8; 3 * 4 * 5];
        let mut scratch = ResizeScratch::default();
        resize_rgb_to_planes(&src, 4, 5, 4, 5, &mut Planes::U8(&mut out), &mut scratch);
        for y in 0..4 {
            for x in 0..5 {
                for c in 0..3 {
                    assert_eq!(out[c * 20 + y * 5 + x], src[(y * 5 + x) * 3 + c]);
                }
            }
        }
    }
}
