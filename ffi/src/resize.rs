//! The separable antialiased triangle-filter taps, the output planes and
//! the vertical pass shared by the planar resize ([`crate::planar`]).
//!
//! The filter is a triangle (tent) whose radius is the scale factor when
//! shrinking (so every source pixel contributes: antialiased, like PIL's
//! `BILINEAR` reduce or libvips' `linear` kernel) and one source pixel when
//! enlarging (plain bilinear). A vertical pass blends the contributing source
//! rows into one `f32` row (one pass with a compile-time tap count, which the
//! compiler vectorizes).

/// Filter taps for one axis: output `i` reads source `start[i]..start[i] + taps`
/// with weights `weights[i * taps..(i + 1) * taps]` (zero-padded).
pub struct Taps {
    pub taps: usize,
    pub start: Vec<usize>,
    pub weights: Vec<f32>,
}

impl Taps {
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
            let t = Taps::with_scale(src, dst, src as f64 / dst as f64, 1.0);
            for i in 0..dst {
                let s: f32 = t.weights[i * t.taps..(i + 1) * t.taps].iter().sum();
                assert!((s - 1.0).abs() < 1e-5, "{src}->{dst} row {i} sums {s}");
                assert!(t.start[i] + t.taps <= src);
            }
        }
    }
}
