/*
 * mx8_rgb: the resize of a decoded frame to packed RGB24, as swscale's
 * bilinear YUV -> RGB24 context does it, but in two cheaper steps:
 *
 * 1. swscale resizes to planar YUV at the output size, with the chroma
 *    layout swscale uses inside its packed-RGB path: 4:2:2 (each chroma
 *    sample shared by two horizontal pixels, full height) or, when that
 *    context interpolates chroma fully (odd output width, 4:4:4 input),
 *    4:4:4. Same filters, same chroma siting; only swscale's SIMD planar
 *    writers instead of its C packed-RGB24 writer (yuv2rgb24_X_c).
 * 2. Our integer YUV -> RGB24 conversion, with the matrix, range and
 *    arithmetic of the RGB24 context (its lookup tables, or its full-chroma
 *    formula), straight into the caller's buffer.
 *
 * The only difference to the one-step context is that the vertically
 * filtered Y, U, V are rounded to 8 bits before the conversion (swscale's
 * own packed writer rounds them too, except on the full-chroma path): at
 * most 1 in a few RGB values differs by 1-2.
 *
 * Inputs other than 8-bit planar YUV (4:2:0, 4:2:2, 4:4:4, limited or full
 * range), or MX8_VIDEO_SCALE=swscale in the environment, use the one-step
 * context itself.
 */
#ifndef MX8_RGB_H
#define MX8_RGB_H

#include <stdint.h>
#include <stddef.h>

struct SwsContext;

typedef struct {
  int ready;                               /* the fields below are prepared for: */
  int src_w, src_h, src_fmt, dst_w, dst_h;
  int mode;                                /* MX8_RGB_DIRECT / _SHARED / _FULL */
  struct SwsContext *sws;                  /* to planar YUV at the output size */
  uint8_t *buf;                            /* its Y, U, V planes */
  uint8_t *planes[3];
  int strides[3];
  int cw;                                  /* chroma width */
  /* _SHARED: swscale's yuv2rgb tables (R = ytab[Y + r_v[V]], ...). */
  uint8_t ytab[2048];
  int r_v[256], g_u[256], g_v[256], b_u[256];
  /* _FULL: swscale's yuv2rgb_write_full coefficients. */
  int64_t y_off, y_coeff, v2r, v2g, u2g, u2b;
} Mx8Rgb;

#define MX8_RGB_DIRECT 0 /* swscale straight to RGB24 */
#define MX8_RGB_SHARED 1 /* 4:2:2 planar, each chroma sample shared by 2 pixels */
#define MX8_RGB_FULL 2   /* 4:4:4 planar, full chroma */

/*
 * Prepares `r` for frames of src_w x src_h `src_fmt` to dst_w x dst_h RGB24
 * (cached: a no-op while those stay the same). `direct` is the one-step
 * SWS_BILINEAR RGB24 context for the same sizes (its colour details and
 * flags are mirrored). Returns 1 when mx8_rgb_scale is to be used, 0 when
 * the caller must use `direct` itself, -1 when out of memory.
 */
int mx8_rgb_prepare(Mx8Rgb *r, struct SwsContext *direct, int src_w, int src_h, int src_fmt,
                    int dst_w, int dst_h);

/* Resizes one frame into dst (dst_h rows of dst_w * 3 bytes). */
void mx8_rgb_scale(Mx8Rgb *r, const uint8_t *const src[], const int src_stride[], uint8_t *dst);

/* Resizes one frame into dst: mx8_rgb_scale, or `direct` itself when prepared so. */
void mx8_rgb_convert(Mx8Rgb *r, struct SwsContext *direct, const uint8_t *const src[],
                     const int src_stride[], uint8_t *dst);

/* Frees what mx8_rgb_prepare allocated (`r` is zeroed: reusable). A zeroed Mx8Rgb is empty. */
void mx8_rgb_free(Mx8Rgb *r);

#endif
