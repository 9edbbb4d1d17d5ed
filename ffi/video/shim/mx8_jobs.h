/*
 * mx8_jobs: the resizes (and copies) of a decode pass, on one thread of
 * their own, in order, so the decoder's frame threads are fed packets
 * while a frame is being resized instead of waiting for the caller.
 *
 * A job is either "resize this frame (a reference taken on it) into dst,
 * then copy dst to `also` (the kept frame), if any" or "copy src to dst"
 * (a frame wanted twice, whose resize may still be queued before it:
 * jobs run in the order given). mx8_jobs_wait returns when every job
 * given so far is done; a pass waits before it returns, so its output is
 * complete and nothing refers to it afterwards.
 *
 * Without the thread (mx8_jobs_init with `thread` 0, or when it cannot be
 * started) every job runs at once on the caller's thread: one code path.
 */
#ifndef MX8_JOBS_H
#define MX8_JOBS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mx8_rgb.h"

struct AVFrame;
struct SwsContext;

#define MX8_JOBS_DEPTH 4 /* jobs queued at most (frames referenced at most) */

typedef struct {
  int resize;            /* a resize job (else a copy) */
  struct AVFrame *frame; /* the slot's frame: a reference while a resize job waits */
  const uint8_t *src;
  uint8_t *dst, *also;
  size_t len;
} Mx8Job;

typedef struct {
  Mx8Rgb *rgb;               /* the resize (mx8_rgb_convert) */
  struct SwsContext **direct;
  int threaded, stop;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t work, idle;
  Mx8Job q[MX8_JOBS_DEPTH];
  size_t head, len;          /* len counts the job running too */
  int64_t scale_ns;          /* time in resizes since the last wait */
} Mx8Jobs;

/* Sets up `j` (zeroed before); starts its thread when `thread`. 0, or -1: out of memory. */
int mx8_jobs_init(Mx8Jobs *j, Mx8Rgb *rgb, struct SwsContext **direct, int thread);

/* Queues a resize of `frame` into dst (then a copy to `also` unless NULL). 0, or -1: out of memory. */
int mx8_jobs_scale(Mx8Jobs *j, const struct AVFrame *frame, uint8_t *dst, uint8_t *also, size_t len);

/* Queues a copy of len bytes from src to dst. */
void mx8_jobs_copy(Mx8Jobs *j, const uint8_t *src, uint8_t *dst, size_t len);

/* Waits until every queued job is done; returns the ns spent resizing since the last wait. */
int64_t mx8_jobs_wait(Mx8Jobs *j);

/* Waits, stops the thread and frees everything. */
void mx8_jobs_free(Mx8Jobs *j);

#endif
