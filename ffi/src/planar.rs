//! Resize straight from decoded Y/Cb/Cr planes to RGB NCHW output.
//!
//! libjpeg-turbo can stop before chroma upsampling and colour conversion
//! (`tjDecompressToYUVPlanes`). Each plane is then resized with the same
//! antialiased triangle filter as [`crate::resize`], mapped through its
//! chroma siting (a subsampled sample covers `fx × fy` luma pixels, centred,
//! as in JFIF), and colour conversion (JFIF BT.601 full range) runs on the
//! output pixels only. Resize and colour conversion are both linear, so the
//! result equals "upsample, convert, resize" up to rounding, at a fraction
//! of the work: the full-size RGB image is never built.

use std::ffi::c_int;

use crate::resize::{to_byte, to_unit, vertical_dispatch, Planes, Taps};
use crate::turbojpeg::TJSAMP_GRAY;

/// Geometry of a decoded YUV image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YuvLayout {
    /// Scaled image size (luma pixels).
    pub width: usize,
    pub height: usize,
    pub subsamp: c_int,
    /// (plane width = stride, plane height) per component.
    pub planes: [(usize, usize); 3],
}

impl YuvLayout {
    pub fn is_gray(&self) -> bool {
        self.subsamp == TJSAMP_GRAY
    }

    /// (horizontal, vertical) subsampling factor of chroma planes.
    fn chroma_factors(&self) -> (usize, usize) {
        // TJSAMP_444, 422, 420, GRAY, 440, 411.
        match self.subsamp {
            1 => (2, 1),
            2 => (2, 2),
            4 => (1, 2),
            5 => (4, 1),
            _ => (1, 1),
        }
    }
}

struct PlaneTaps {
    v: Taps,
    h: BlockTaps,
}

/// Lanes per horizontal block.
const LANES: usize = 8;
/// Independent accumulators per block, to hide add latency.
const ACCUMULATORS: usize = 4;

/// Horizontal taps regrouped for SIMD: outputs are processed in blocks of
/// [`LANES`]; block `b` reads source samples `base[b]..base[b] + span` and
/// `weights[(b * span + j) * LANES + l]` is the weight of sample
/// `base[b] + j` for output `b * LANES + l` (zero when it does not
/// contribute). Each block costs `span` broadcast multiply-adds of
/// `LANES` lanes instead of `LANES × taps` scalar ones.
struct BlockTaps {
    span: usize,
    base: Vec<usize>,
    weights: Vec<f32>,
}

impl BlockTaps {
    fn new(t: &Taps, dst: usize) -> Self {
        let blocks = dst.div_ceil(LANES);
        let mut span = 1;
        let mut base = Vec::with_capacity(blocks);
        for b in 0..blocks {
            let first = t.start[b * LANES];
            let last = ((b + 1) * LANES).min(dst) - 1;
            span = span.max(t.start[last] + t.taps - first);
            base.push(first);
        }
        // A multiple of the accumulator count (extra weights are zero).
        let span = span.next_multiple_of(ACCUMULATORS);
        let mut weights = vec![0f32; blocks * span * LANES];
        for x in 0..dst {
            let (b, l) = (x / LANES, x % LANES);
            for k in 0..t.taps {
                let j = t.start[x] + k - base[b];
                weights[(b * span + j) * LANES + l] = t.weights[x * t.taps + k];
            }
        }
        Self {
            span,
            base,
            weights,
        }
    }
}

/// Reusable per-thread buffers and cached filter taps.
#[derive(Default)]
pub struct PlanarScratch {
    rows: [Vec<f32>; 3],
    cols: [Vec<f32>; 3],
    cached: Option<(YuvLayout, usize, usize, Vec<PlaneTaps>)>,
}

/// Resizes Y/Cb/Cr `planes` (layout `layout`, stride = plane width) to
/// `dh × dw` RGB planes in `out`.
pub fn resize_yuv_to_planes(
    planes: [&[u8]; 3],
    layout: &YuvLayout,
    dh: usize,
    dw: usize,
    out: &mut Planes<'_>,
    scratch: &mut PlanarScratch,
) {
    let n_planes = if layout.is_gray() { 1 } else { 3 };
    for (c, plane) in planes.iter().enumerate().take(n_planes) {
        let (pw, ph) = layout.planes[c];
        assert!(plane.len() >= pw * ph, "plane {c} too small");
    }
    let fresh =
        !matches!(&scratch.cached, Some((l, h, w, _)) if l == layout && *h == dh && *w == dw);
    if fresh {
        let (fx, fy) = layout.chroma_factors();
        let taps = (0..n_planes)
            .map(|c| {
                // Luma uses only the real pixels (plane widths are padded to
                // the MCU); chroma samples are all real.
                let (fx, fy) = if c == 0 { (1, 1) } else { (fx, fy) };
                let (pw, ph) = layout.planes[c];
                let (sw, sh) = if c == 0 {
                    (layout.width, layout.height)
                } else {
                    (pw, ph)
                };
                let h = Taps::with_scale(sw, dw, layout.width as f64 / (dw * fx) as f64, 1.0);
                PlaneTaps {
                    v: Taps::with_scale(sh, dh, layout.height as f64 / (dh * fy) as f64, 1.0),
                    h: BlockTaps::new(&h, dw),
                }
            })
            .collect();
        scratch.cached = Some((*layout, dh, dw, taps));
    }
    let Some((_, _, _, taps)) = &scratch.cached else {
        unreachable!()
    };
    for (c, t) in taps.iter().enumerate() {
        // Zero padding after the row lets every block read `span` samples.
        let width = if c == 0 {
            layout.width
        } else {
            layout.planes[c].0
        };
        scratch.rows[c].clear();
        scratch.rows[c].resize(width + t.h.span, 0.0);
        scratch.cols[c].resize(dw.next_multiple_of(LANES), 0.0);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe {
                run_avx2(
                    planes,
                    layout,
                    n_planes,
                    dh,
                    dw,
                    out,
                    taps,
                    &mut scratch.rows,
                    &mut scratch.cols,
                )
            };
            return;
        }
    }
    run(
        planes,
        layout,
        n_planes,
        dh,
        dw,
        out,
        taps,
        &mut scratch.rows,
        &mut scratch.cols,
    );
}

/// [`run`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn run_avx2(
    planes: [&[u8]; 3],
    layout: &YuvLayout,
    n_planes: usize,
    dh: usize,
    dw: usize,
    out: &mut Planes<'_>,
    taps: &[PlaneTaps],
    rows: &mut [Vec<f32>; 3],
    cols: &mut [Vec<f32>; 3],
) {
    run(planes, layout, n_planes, dh, dw, out, taps, rows, cols);
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn run(
    planes: [&[u8]; 3],
    layout: &YuvLayout,
    n_planes: usize,
    dh: usize,
    dw: usize,
    out: &mut Planes<'_>,
    taps: &[PlaneTaps],
    rows: &mut [Vec<f32>; 3],
    cols: &mut [Vec<f32>; 3],
) {
    let plane = dh * dw;
    for y in 0..dh {
        for c in 0..n_planes {
            let stride = layout.planes[c].0;
            let width = if c == 0 { layout.width } else { stride };
            vertical_dispatch(planes[c], stride, &taps[c].v, y, &mut rows[c][..width]);
            horizontal_blocks(&rows[c], &taps[c].h, &mut cols[c]);
        }
        let span = y * dw..(y + 1) * dw;
        match out {
            Planes::F32(p) => {
                let (r, rest) = p.split_at_mut(plane);
                let (g, b) = rest.split_at_mut(plane);
                to_rgb(
                    cols,
                    n_planes,
                    &mut r[span.clone()],
                    &mut g[span.clone()],
                    &mut b[span],
                    1.0 / 255.0,
                    to_unit,
                );
            }
            Planes::U8(p) => {
                let (r, rest) = p.split_at_mut(plane);
                let (g, b) = rest.split_at_mut(plane);
                to_rgb(
                    cols,
                    n_planes,
                    &mut r[span.clone()],
                    &mut g[span.clone()],
                    &mut b[span],
                    1.0,
                    to_byte,
                );
            }
        }
    }
}

/// JFIF YCbCr → RGB on one output row (or grey replicated), scaled by `gain`.
#[inline(always)]
fn to_rgb<T: Copy>(
    cols: &[Vec<f32>; 3],
    n_planes: usize,
    r: &mut [T],
    g: &mut [T],
    b: &mut [T],
    gain: f32,
    conv: impl Fn(f32) -> T + Copy,
) {
    let yy = &cols[0][..r.len()];
    if n_planes == 1 {
        for (((&l, r), g), b) in yy.iter().zip(r).zip(g).zip(b) {
            let v = conv(l * gain);
            *r = v;
            *g = v;
            *b = v;
        }
        return;
    }
    let cb = &cols[1][..r.len()];
    let cr = &cols[2][..r.len()];
    for (((((&l, &u), &v), r), g), b) in yy.iter().zip(cb).zip(cr).zip(r).zip(g).zip(b) {
        let (u, v) = (u - 128.0, v - 128.0);
        *r = conv((l + 1.402 * v) * gain);
        *g = conv((l - 0.344_136_3 * u - 0.714_136_3 * v) * gain);
        *b = conv((l + 1.772 * u) * gain);
    }
}

/// Horizontal pass over one plane row, [`LANES`] outputs at a time, with
/// [`ACCUMULATORS`] independent sums so the adds pipeline.
#[inline(always)]
fn horizontal_blocks(row: &[f32], ht: &BlockTaps, out: &mut [f32]) {
    let span = ht.span;
    let blocks = out
        .chunks_exact_mut(LANES)
        .zip(ht.weights.chunks_exact(span * LANES));
    for ((o, w), &base) in blocks.zip(&ht.base) {
        let px = &row[base..base + span];
        let mut acc = [[0f32; LANES]; ACCUMULATORS];
        for (pj, wj) in px
            .chunks_exact(ACCUMULATORS)
            .zip(w.chunks_exact(ACCUMULATORS * LANES))
        {
            for a in 0..ACCUMULATORS {
                let v = pj[a];
                let wa = &wj[a * LANES..(a + 1) * LANES];
                for l in 0..LANES {
                    acc[a][l] += v * wa[l];
                }
            }
        }
        for l in 0..LANES {
            o[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(w: usize, h: usize, subsamp: c_int) -> YuvLayout {
        let mut l = YuvLayout {
            width: w,
            height: h,
            subsamp,
            planes: [(0, 0); 3],
        };
        let n = if subsamp == TJSAMP_GRAY { 1 } else { 3 };
        for c in 0..n {
            l.planes[c] = crate::turbojpeg::plane_size(c, w, h, subsamp).unwrap();
        }
        l
    }

    #[test]
    fn block_taps_match_scalar_taps() {
        for (src, dst) in [(500, 224), (250, 224), (100, 37), (9, 20)] {
            let t = Taps::with_scale(src, dst, src as f64 / dst as f64, 1.0);
            let b = BlockTaps::new(&t, dst);
            let mut row: Vec<f32> = (0..src).map(|i| ((i * 37) % 101) as f32).collect();
            row.resize(src + b.span, 0.0);
            let mut out = vec![0f32; dst.next_multiple_of(LANES)];
            horizontal_blocks(&row, &b, &mut out);
            for x in 0..dst {
                let want: f32 = (0..t.taps)
                    .map(|k| t.weights[x * t.taps + k] * row[t.start[x] + k])
                    .sum();
                assert!(
                    (out[x] - want).abs() < 1e-3,
                    "{src}->{dst} x={x}: {} != {want}",
                    out[x]
                );
            }
        }
    }

    #[test]
    fn constant_planes_convert_to_the_expected_rgb() {
        // Y=120, Cb=90, Cr=170 (4:2:0) -> JFIF RGB (178.9, 103.1, 52.7).
        let l = layout(33, 17, 2);
        let y = vec![120u8; l.planes[0].0 * l.planes[0].1];
        let u = vec![90u8; l.planes[1].0 * l.planes[1].1];
        let v = vec![170u8; l.planes[2].0 * l.planes[2].1];
        let mut out = vec![0u8; 3 * 8 * 12];
        let mut scratch = PlanarScratch::default();
        resize_yuv_to_planes(
            [&y, &u, &v],
            &l,
            8,
            12,
            &mut Planes::U8(&mut out),
            &mut scratch,
        );
        for (c, want) in [179u8, 103, 53].into_iter().enumerate() {
            assert!(
                out[c * 96..(c + 1) * 96].iter().all(|&p| p == want),
                "channel {c}"
            );
        }
    }

    #[test]
    fn grayscale_identity_size_copies_luma_to_all_channels() {
        let l = layout(7, 5, TJSAMP_GRAY);
        let y: Vec<u8> = (0..l.planes[0].0 * l.planes[0].1)
            .map(|i| (i * 9) as u8)
            .collect();
        let mut out = vec![0u8; 3 * 35];
        let mut scratch = PlanarScratch::default();
        resize_yuv_to_planes(
            [&y, &[], &[]],
            &l,
            5,
            7,
            &mut Planes::U8(&mut out),
            &mut scratch,
        );
        for row in 0..5 {
            for x in 0..7 {
                let want = y[row * l.planes[0].0 + x];
                for c in 0..3 {
                    assert_eq!(out[c * 35 + row * 7 + x], want);
                }
            }
        }
    }
}
