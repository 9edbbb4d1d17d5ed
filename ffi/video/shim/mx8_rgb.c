/*
 * mx8_rgb: see mx8_rgb.h. The formulas mirror libswscale's
 * ff_yuv2rgb_c_init_tables (tables and full-chroma coefficients),
 * yuv2rgb_X_c_template (RGB24, chroma shared by two pixels) and
 * yuv2rgb_write_full (RGB24), so the output is that of the one-step
 * context but for the rounding of Y, U, V to 8 bits.
 */
#include "mx8_rgb.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/mem.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

/* libswscale's YUVRGB_TABLE_HEADROOM / YUVRGB_TABLE_LUMA_HEADROOM. */
#define LUMA_HEADROOM 512
#define TABLE_SIZE (1024 + 2 * LUMA_HEADROOM)

static uint8_t clip_u8(int64_t v) { return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v; }

static int64_t round_int16(int64_t f) {
  int64_t r = (f + (1 << 15)) >> 16;
  return r < -0x7FFF ? -0x8000 : r > 0x7FFF ? 0x7FFF : r;
}

/* The inputs mirrored: 8-bit planar YUV, 4:2:0 / 4:2:2 / 4:4:4, either range. */
static int handled(int fmt) {
  switch (fmt) {
  case AV_PIX_FMT_YUV420P:
  case AV_PIX_FMT_YUVJ420P:
  case AV_PIX_FMT_YUV422P:
  case AV_PIX_FMT_YUVJ422P:
  case AV_PIX_FMT_YUV444P:
  case AV_PIX_FMT_YUVJ444P:
    return 1;
  default:
    return 0;
  }
}

/* swscale's tables and coefficients for inv_table, range, brightness, contrast, saturation. */
static void init_tables(Mx8Rgb *r, const int inv[4], int full_range, int brightness, int contrast,
                        int saturation) {
  int64_t crv = inv[0], cbu = inv[1], cgu = -inv[2], cgv = -inv[3];
  int64_t cy = 1 << 16, oy = 0;
  if (!full_range) {
    cy = (cy * 255) / 219;
    oy = 16 << 16;
  } else {
    crv = (crv * 224) / 255;
    cbu = (cbu * 224) / 255;
    cgu = (cgu * 224) / 255;
    cgv = (cgv * 224) / 255;
  }
  cy = (cy * contrast) >> 16;
  crv = (crv * contrast * saturation) >> 32;
  cbu = (cbu * contrast * saturation) >> 32;
  cgu = (cgu * contrast * saturation) >> 32;
  cgv = (cgv * contrast * saturation) >> 32;
  oy -= 256LL * brightness;
  /* Full chroma (yuv2rgb_write_full). */
  r->y_coeff = (int16_t)round_int16(cy * (1 << 13));
  r->y_off = (int16_t)round_int16(oy * (1 << 9));
  r->v2r = (int16_t)round_int16(crv * (1 << 13));
  r->v2g = (int16_t)round_int16(cgv * (1 << 13));
  r->u2g = (int16_t)round_int16(cgu * (1 << 13));
  r->u2b = (int16_t)round_int16(cbu * (1 << 13));
  /* Tables (24 bpp), the chroma coefficients scaled by cy. */
  int64_t d = cy > 1 ? cy : 1;
  crv = ((crv * (1 << 16)) + 0x8000) / d;
  cbu = ((cbu * (1 << 16)) + 0x8000) / d;
  cgu = ((cgu * (1 << 16)) + 0x8000) / d;
  cgv = ((cgv * (1 << 16)) + 0x8000) / d;
  int64_t yb = -(384LL << 16) - LUMA_HEADROOM * cy - oy;
  for (int i = 0; i < TABLE_SIZE; i++) {
    r->ytab[i] = clip_u8((yb + 0x8000) >> 16);
    yb += cy;
  }
  int yoffs = (full_range ? 384 : 326) + LUMA_HEADROOM;
  for (int i = 0; i < 256; i++) {
    r->r_v[i] = (int)(yoffs - (crv >> 9) + ((i * crv) >> 16));
    r->g_u[i] = (int)(yoffs - (cgu >> 9) + ((i * cgu) >> 16));
    r->g_v[i] = (int)(-(cgv >> 9) + ((i * cgv) >> 16));
    r->b_u[i] = (int)(yoffs - (cbu >> 9) + ((i * cbu) >> 16));
  }
}

static int forced_direct(void) {
  const char *e = getenv("MX8_VIDEO_SCALE");
  return e && strcmp(e, "swscale") == 0;
}

void mx8_rgb_free(Mx8Rgb *r) {
  sws_freeContext(r->sws);
  av_free(r->buf);
  memset(r, 0, sizeof *r);
}

int mx8_rgb_prepare(Mx8Rgb *r, struct SwsContext *direct, int src_w, int src_h, int src_fmt,
                    int dst_w, int dst_h) {
  if (r->ready && r->src_w == src_w && r->src_h == src_h && r->src_fmt == src_fmt &&
      r->dst_w == dst_w && r->dst_h == dst_h)
    return r->mode != MX8_RGB_DIRECT;
  r->ready = 0;
  r->mode = MX8_RGB_DIRECT;
  if (handled(src_fmt) && !forced_direct()) {
    int *inv, *table, src_range, dst_range, brightness, contrast, saturation;
    int64_t flags = 0;
    if (sws_getColorspaceDetails(direct, &inv, &src_range, &table, &dst_range, &brightness,
                                 &contrast, &saturation) >= 0 &&
        av_opt_get_int(direct, "sws_flags", 0, &flags) >= 0) {
      /* The packed writer shares a chroma sample between two pixels unless
         swscale chose (or was told) to interpolate chroma fully. */
      int full = (flags & SWS_FULL_CHR_H_INT) != 0;
      enum AVPixelFormat to = full ? AV_PIX_FMT_YUV444P : AV_PIX_FMT_YUV422P;
      r->sws = sws_getCachedContext(r->sws, src_w, src_h, src_fmt, dst_w, dst_h, to,
                                    SWS_BILINEAR, NULL, NULL, NULL);
      int yr, ur, yb, yc, ys;
      int *yi, *yt;
      /* Same range in and out: no range conversion in the planar step. */
      if (r->sws) sws_setColorspaceDetails(r->sws, inv, src_range, inv, src_range, 0, 1 << 16, 1 << 16);
      if (r->sws &&
          sws_getColorspaceDetails(r->sws, &yi, &yr, &yt, &ur, &yb, &yc, &ys) >= 0 &&
          yr == src_range && ur == src_range) {
        int cw = full ? dst_w : (dst_w + 1) / 2;
        int ls = (dst_w + 63) & ~63, cs = (cw + 63) & ~63;
        size_t need = (size_t)ls * dst_h + 2 * (size_t)cs * dst_h + 64;
        av_free(r->buf);
        r->buf = av_malloc(need);
        if (!r->buf) return -1;
        r->planes[0] = r->buf;
        r->planes[1] = r->buf + (size_t)ls * dst_h;
        r->planes[2] = r->planes[1] + (size_t)cs * dst_h;
        r->strides[0] = ls;
        r->strides[1] = r->strides[2] = cs;
        r->cw = cw;
        init_tables(r, inv, src_range, brightness, contrast, saturation);
        r->mode = full ? MX8_RGB_FULL : MX8_RGB_SHARED;
      }
    }
  }
  r->src_w = src_w;
  r->src_h = src_h;
  r->src_fmt = src_fmt;
  r->dst_w = dst_w;
  r->dst_h = dst_h;
  r->ready = 1;
  return r->mode != MX8_RGB_DIRECT;
}

/* yuv2rgb_X_c_template, RGB24: one chroma sample for pixels 2i and 2i+1. */
static void rows_shared(const Mx8Rgb *r, uint8_t *dst) {
  const uint8_t *tab = r->ytab;
  int w = r->dst_w, pairs = w / 2;
  for (int y = 0; y < r->dst_h; y++) {
    const uint8_t *py = r->planes[0] + (size_t)y * r->strides[0];
    const uint8_t *pu = r->planes[1] + (size_t)y * r->strides[1];
    const uint8_t *pv = r->planes[2] + (size_t)y * r->strides[2];
    uint8_t *d = dst + (size_t)y * w * 3;
    for (int i = 0; i < pairs; i++) {
      int u = pu[i], v = pv[i];
      const uint8_t *cr = tab + r->r_v[v], *cg = tab + r->g_u[u] + r->g_v[v], *cb = tab + r->b_u[u];
      int y1 = py[2 * i], y2 = py[2 * i + 1];
      d[0] = cr[y1];
      d[1] = cg[y1];
      d[2] = cb[y1];
      d[3] = cr[y2];
      d[4] = cg[y2];
      d[5] = cb[y2];
      d += 6;
    }
    if (w & 1) {
      int u = pu[pairs], v = pv[pairs], y1 = py[w - 1];
      d[0] = tab[r->r_v[v] + y1];
      d[1] = tab[r->g_u[u] + r->g_v[v] + y1];
      d[2] = tab[r->b_u[u] + y1];
    }
  }
}

static uint8_t full_out(int64_t v) {
  v = v < 0 ? 0 : v > (1 << 30) - 1 ? (1 << 30) - 1 : v;
  return (uint8_t)(v >> 22);
}

/* yuv2rgb_write_full, RGB24, from 8-bit Y, U, V (swscale's carry 9 more bits). */
static void rows_full(const Mx8Rgb *r, uint8_t *dst) {
  int w = r->dst_w;
  for (int y = 0; y < r->dst_h; y++) {
    const uint8_t *py = r->planes[0] + (size_t)y * r->strides[0];
    const uint8_t *pu = r->planes[1] + (size_t)y * r->strides[1];
    const uint8_t *pv = r->planes[2] + (size_t)y * r->strides[2];
    uint8_t *d = dst + (size_t)y * w * 3;
    for (int i = 0; i < w; i++) {
      int64_t Y = (((int64_t)py[i] << 9) - r->y_off) * r->y_coeff + (1 << 21);
      int64_t U = ((int64_t)pu[i] - 128) << 9, V = ((int64_t)pv[i] - 128) << 9;
      d[0] = full_out(Y + V * r->v2r);
      d[1] = full_out(Y + V * r->v2g + U * r->u2g);
      d[2] = full_out(Y + U * r->u2b);
      d += 3;
    }
  }
}

void mx8_rgb_scale(Mx8Rgb *r, const uint8_t *const src[], const int src_stride[], uint8_t *dst) {
  sws_scale(r->sws, src, src_stride, 0, r->src_h, r->planes, r->strides);
  if (r->mode == MX8_RGB_SHARED)
    rows_shared(r, dst);
  else
    rows_full(r, dst);
}

void mx8_rgb_convert(Mx8Rgb *r, struct SwsContext *direct, const uint8_t *const src[],
                     const int src_stride[], uint8_t *dst) {
  if (r->mode != MX8_RGB_DIRECT) {
    mx8_rgb_scale(r, src, src_stride, dst);
    return;
  }
  uint8_t *planes[4] = {dst, NULL, NULL, NULL};
  int strides[4] = {r->dst_w * 3, 0, 0, 0};
  sws_scale(direct, src, src_stride, 0, r->src_h, planes, strides);
}
