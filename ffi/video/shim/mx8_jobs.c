/* mx8_jobs: see mx8_jobs.h. */
#include "mx8_jobs.h"

#include <string.h>
#include <time.h>

#include <libavutil/frame.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Runs one job; returns the ns spent resizing. */
static int64_t run(Mx8Jobs *j, Mx8Job *job) {
  if (!job->resize) {
    memcpy(job->dst, job->src, job->len);
    return 0;
  }
  int64_t t0 = now_ns();
  mx8_rgb_convert(j->rgb, *j->direct, (const uint8_t *const *)job->frame->data,
                  job->frame->linesize, job->dst);
  int64_t ns = now_ns() - t0;
  av_frame_unref(job->frame);
  if (job->also) memcpy(job->also, job->dst, job->len);
  return ns;
}

static void *worker(void *arg) {
  Mx8Jobs *j = arg;
  pthread_mutex_lock(&j->mu);
  for (;;) {
    while (j->len == 0 && !j->stop) pthread_cond_wait(&j->work, &j->mu);
    if (j->len == 0) break;
    /* The job stays in its slot (and counted) until done: its frame is
       not reused under it. */
    Mx8Job *job = &j->q[j->head];
    pthread_mutex_unlock(&j->mu);
    int64_t ns = run(j, job);
    pthread_mutex_lock(&j->mu);
    j->scale_ns += ns;
    j->head = (j->head + 1) % MX8_JOBS_DEPTH;
    j->len--;
    pthread_cond_broadcast(&j->idle);
  }
  pthread_mutex_unlock(&j->mu);
  return NULL;
}

int mx8_jobs_init(Mx8Jobs *j, Mx8Rgb *rgb, struct SwsContext **direct, int thread) {
  j->rgb = rgb;
  j->direct = direct;
  for (int i = 0; i < MX8_JOBS_DEPTH; i++) {
    j->q[i].frame = av_frame_alloc();
    if (!j->q[i].frame) return -1;
  }
  if (!thread) return 0;
  if (pthread_mutex_init(&j->mu, NULL) != 0) return 0;
  if (pthread_cond_init(&j->work, NULL) != 0) {
    pthread_mutex_destroy(&j->mu);
    return 0;
  }
  if (pthread_cond_init(&j->idle, NULL) != 0) {
    pthread_cond_destroy(&j->work);
    pthread_mutex_destroy(&j->mu);
    return 0;
  }
  if (pthread_create(&j->thread, NULL, worker, j) != 0) {
    pthread_cond_destroy(&j->idle);
    pthread_cond_destroy(&j->work);
    pthread_mutex_destroy(&j->mu);
    return 0; /* no thread: jobs run on the caller's */
  }
  j->threaded = 1;
  return 0;
}

/* The slot for the next job, once there is room (mutex held on return when threaded). */
static Mx8Job *slot(Mx8Jobs *j) {
  if (!j->threaded) return &j->q[0];
  pthread_mutex_lock(&j->mu);
  while (j->len == MX8_JOBS_DEPTH) pthread_cond_wait(&j->idle, &j->mu);
  return &j->q[(j->head + j->len) % MX8_JOBS_DEPTH];
}

static void push(Mx8Jobs *j, Mx8Job *job) {
  if (!j->threaded) {
    j->scale_ns += run(j, job);
    return;
  }
  j->len++;
  pthread_cond_signal(&j->work);
  pthread_mutex_unlock(&j->mu);
}

int mx8_jobs_scale(Mx8Jobs *j, const struct AVFrame *frame, uint8_t *dst, uint8_t *also, size_t len) {
  Mx8Job *job = slot(j);
  if (av_frame_ref(job->frame, frame) < 0) {
    if (j->threaded) pthread_mutex_unlock(&j->mu);
    return -1;
  }
  job->resize = 1;
  job->src = NULL;
  job->dst = dst;
  job->also = also;
  job->len = len;
  push(j, job);
  return 0;
}

void mx8_jobs_copy(Mx8Jobs *j, const uint8_t *src, uint8_t *dst, size_t len) {
  Mx8Job *job = slot(j);
  job->resize = 0;
  job->src = src;
  job->dst = dst;
  job->also = NULL;
  job->len = len;
  push(j, job);
}

int64_t mx8_jobs_wait(Mx8Jobs *j) {
  if (j->threaded) {
    pthread_mutex_lock(&j->mu);
    while (j->len > 0) pthread_cond_wait(&j->idle, &j->mu);
    pthread_mutex_unlock(&j->mu);
  }
  int64_t ns = j->scale_ns;
  j->scale_ns = 0;
  return ns;
}

void mx8_jobs_free(Mx8Jobs *j) {
  if (j->threaded) {
    mx8_jobs_wait(j);
    pthread_mutex_lock(&j->mu);
    j->stop = 1;
    pthread_cond_signal(&j->work);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    pthread_cond_destroy(&j->idle);
    pthread_cond_destroy(&j->work);
    pthread_mutex_destroy(&j->mu);
  }
  for (int i = 0; i < MX8_JOBS_DEPTH; i++) av_frame_free(&j->q[i].frame);
  memset(j, 0, sizeof *j);
}
