//! Separable antialiased triangle-filter resize from interleaved RGB `u8` to
//! planar (NCHW) `f32` in [0, 1] or `u8`, with normalization fused into the
//! last pass.
//!
//! The filter is a triangle (tent) whose radius is the scale factor when
//! shrinking (so every source pixel contributes: antialiased, like PIL's
//! `BILINEAR` reduce or libvips' `linear` kernel) and one source pixel when
//! enlarging (plain bilinear). The image is produced one output row at a time:
//! a vertical pass blends the contributing source rows into one `f32` row
//! (a contiguous multiply-add the compiler vectorizes), then a horizontal
//! pass with a compile-time tap count writes the three output planes.

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
        assert!(src > 0 && dst > 0, "empty axis");
        let scale = src as f64 / dst as f64;
        let radius = scale.max(1.0);
        let mut rows: Vec<(usize, Vec<f64>)> = Vec::with_capacity(dst);
        let mut taps = 1;
        for i in 0..dst {
            let center = (i as f64 + 0.5) * scale;
            let lo = ((center - radius).floor().max(0.0)) as usize;
            let hi = ((center + radius).ceil() as usize).min(src);
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
    let is_f32 = matches!(out, Planes::F32(_));
    let fresh = !matches!(&scratch.cached,
        Some((a, b, c, d, e, _, _)) if (*a, *b, *c, *d, *e) == (sh, sw, dh, dw, is_f32));
    if fresh {
        let gain = if is_f32 { 1.0 / 255.0 } else { 1.0 };
        let v = Taps::new(sh, dh, 1.0);
        let h = Taps::new(sw, dw, gain);
        scratch.cached = Some((sh, sw, dh, dw, is_f32, v, h));
    }
    let Some((_, _, _, _, _, vt, ht)) = &scratch.cached else {
        unreachable!()
    };
    let row_len = sw * 3;
    scratch.row.resize(row_len, 0.0);
    let row = &mut scratch.row[..];
    let plane = dh * dw;
    for y in 0..dh {
        vertical_pass(src, row_len, vt, y, row);
        match out {
            Planes::F32(p) => {
                let (r, rest) = p.split_at_mut(plane);
                let (g, b) = rest.split_at_mut(plane);
                let span = y * dw..(y + 1) * dw;
                horizontal_dispatch(
                    row,
                    ht,
                    &mut r[span.clone()],
                    &mut g[span.clone()],
                    &mut b[span],
                    |x| x.clamp(0.0, 1.0),
                );
            }
            Planes::U8(p) => {
                let (r, rest) = p.split_at_mut(plane);
                let (g, b) = rest.split_at_mut(plane);
                let span = y * dw..(y + 1) * dw;
                horizontal_dispatch(
                    row,
                    ht,
                    &mut r[span.clone()],
                    &mut g[span.clone()],
                    &mut b[span],
                    |x| (x + 0.5).clamp(0.0, 255.0) as u8,
                );
            }
        }
    }
}

/// Blends the source rows contributing to output row `y` into `row`.
#[inline]
fn vertical_pass(src: &[u8], row_len: usize, vt: &Taps, y: usize, row: &mut [f32]) {
    let s = vt.start[y];
    let w = &vt.weights[y * vt.taps..(y + 1) * vt.taps];
    let first = &src[s * row_len..(s + 1) * row_len];
    let w0 = w[0];
    for (o, &p) in row.iter_mut().zip(first) {
        *o = w0 * p as f32;
    }
    for (k, &wk) in w.iter().enumerate().skip(1) {
        if wk == 0.0 {
            continue;
        }
        let line = &src[(s + k) * row_len..(s + k + 1) * row_len];
        for (o, &p) in row.iter_mut().zip(line) {
            *o += wk * p as f32;
        }
    }
}

#[inline]
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

#[inline]
fn horizontal<T: Copy, const N: usize>(
    row: &[f32],
    ht: &Taps,
    r: &mut [T],
    g: &mut [T],
    b: &mut [T],
    conv: impl Fn(f32) -> T,
) {
    let weights = ht.weights.chunks_exact(N);
    for ((((x, w), or), og), ob) in ht.start.iter().zip(weights).zip(r).zip(g).zip(b) {
        let px = &row[x * 3..x * 3 + N * 3];
        let (mut ar, mut ag, mut ab) = (0f32, 0f32, 0f32);
        for k in 0..N {
            ar += w[k] * px[k * 3];
            ag += w[k] * px[k * 3 + 1];
            ab += w[k] * px[k * 3 + 2];
        }
        *or = conv(ar);
        *og = conv(ag);
        *ob = conv(ab);
    }
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
