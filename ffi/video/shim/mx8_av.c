/*
 * mx8_av: see mx8_av.h. In-memory AVIO over the caller's bytes, seek to the
 * keyframe before a clip, frames picked by best_effort_timestamp, resized
 * (mx8_rgb.c; on mx8_jobs.c's thread with frame threads) straight into the
 * caller's buffer.
 */
#include "mx8_av.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "mx8_jobs.h"
#include "mx8_rgb.h"

#define AVIO_BUFFER 65536

uint32_t mx8av_abi(void) { return MX8AV_ABI; }

void mx8av_set_log(int verbose) { av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_QUIET); }

void mx8av_versions(uint32_t out[8]) {
  out[0] = LIBAVFORMAT_VERSION_MAJOR;
  out[1] = LIBAVCODEC_VERSION_MAJOR;
  out[2] = LIBSWSCALE_VERSION_MAJOR;
  out[3] = LIBAVUTIL_VERSION_MAJOR;
  out[4] = AV_VERSION_MAJOR(avformat_version());
  out[5] = AV_VERSION_MAJOR(avcodec_version());
  out[6] = AV_VERSION_MAJOR(swscale_version());
  out[7] = AV_VERSION_MAJOR(avutil_version());
}

static void set_err(char *err, size_t cap, const char *fmt, ...) {
  if (!err || cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
}

static const char *av_text(int code, char *buf, size_t cap) {
  av_strerror(code, buf, cap);
  return buf;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- in-memory AVIO ---------------------------------------------------- */

typedef struct {
  const uint8_t *data;
  size_t len;
  size_t pos;
  double deadline; /* 0 = none */
} MemSource;

static int mem_read(void *opaque, uint8_t *buf, int size) {
  MemSource *m = opaque;
  size_t left = m->len - m->pos;
  if (left == 0) return AVERROR_EOF;
  size_t n = (size_t)size < left ? (size_t)size : left;
  memcpy(buf, m->data + m->pos, n);
  m->pos += n;
  return (int)n;
}

static int64_t mem_seek(void *opaque, int64_t offset, int whence) {
  MemSource *m = opaque;
  whence &= ~AVSEEK_FORCE;
  if (whence == AVSEEK_SIZE) return (int64_t)m->len;
  int64_t base = whence == SEEK_CUR ? (int64_t)m->pos
                 : whence == SEEK_END ? (int64_t)m->len
                                      : 0;
  int64_t to = base + offset;
  if (to < 0 || to > (int64_t)m->len) return AVERROR(EINVAL);
  m->pos = (size_t)to;
  return to;
}

static int interrupt_cb(void *opaque) {
  MemSource *m = opaque;
  return m->deadline > 0 && now_seconds() > m->deadline;
}

typedef struct {
  MemSource src;
  AVIOContext *avio;
  AVFormatContext *fmt;
  AVCodecContext *dec;
  int stream;
} Video;

static void video_close(Video *v) {
  if (v->dec) avcodec_free_context(&v->dec);
  if (v->fmt) avformat_close_input(&v->fmt);
  if (v->avio) {
    av_freep(&v->avio->buffer);
    avio_context_free(&v->avio);
  }
}

/* Opens the container and finds the best video stream. */
/* Picks the video stream (the best one, as FFmpeg ranks them). */
static int pick_stream(Video *v, char *err, size_t err_cap) {
  int r = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (r < 0) {
    set_err(err, err_cap, "no video stream among %u streams (format %s)", v->fmt->nb_streams,
            v->fmt->iformat->name);
    return MX8AV_ENOSTREAM;
  }
  v->stream = r;
  return MX8AV_OK;
}

/* The stream-info probe on an opened video; picks the best stream again
   (the probe may have filled in what the header lacked). */
static int stream_info(Video *v, char *err, size_t err_cap) {
  char t[128];
  int r = avformat_find_stream_info(v->fmt, NULL);
  if (r < 0) {
    set_err(err, err_cap, "cannot read the stream info: %s", av_text(r, t, sizeof t));
    return MX8AV_EOPEN;
  }
  return pick_stream(v, err, err_cap);
}

/* The containers MX8 reads (.mp4 .mov: mov; .mkv .webm: matroska) and, for a
   path, the file protocol only. Without these a "video" could be, say, an
   HLS playlist, and its demuxer would open the local files or URLs it lists. */
static const char FORMATS[] = "mov,matroska";

static AVDictionary *open_options(int file) {
  AVDictionary *o = NULL;
  av_dict_set(&o, "format_whitelist", FORMATS, 0);
  av_dict_set(&o, "protocol_whitelist", file ? "file" : "none", 0);
  return o;
}

static int video_open(Video *v, const uint8_t *data, size_t len, int find_info,
                      double deadline, char *err, size_t err_cap) {
  char t[128];
  memset(v, 0, sizeof(*v));
  v->src.data = data;
  v->src.len = len;
  v->src.deadline = deadline;
  uint8_t *buf = av_malloc(AVIO_BUFFER);
  if (!buf) return set_err(err, err_cap, "out of memory (avio buffer)"), MX8AV_ENOMEM;
  v->avio = avio_alloc_context(buf, AVIO_BUFFER, 0, &v->src, mem_read, NULL, mem_seek);
  if (!v->avio) {
    av_free(buf);
    return set_err(err, err_cap, "out of memory (avio context)"), MX8AV_ENOMEM;
  }
  v->fmt = avformat_alloc_context();
  if (!v->fmt) return set_err(err, err_cap, "out of memory (format context)"), MX8AV_ENOMEM;
  v->fmt->pb = v->avio;
  v->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  v->fmt->interrupt_callback.callback = interrupt_cb;
  v->fmt->interrupt_callback.opaque = &v->src;
  AVDictionary *opts = open_options(0);
  int r = avformat_open_input(&v->fmt, NULL, NULL, &opts);
  av_dict_free(&opts);
  if (r < 0) {
    /* avformat_open_input frees the context on failure. */
    v->fmt = NULL;
    if (r == AVERROR_EXIT) {
      set_err(err, err_cap, "clip exceeded its time limit while opening the container");
      return MX8AV_ELIMIT;
    }
    set_err(err, err_cap, "cannot open the container (%zu bytes; MX8 reads MP4/MOV and Matroska/WebM): %s", len, av_text(r, t, sizeof t));
    return MX8AV_EOPEN;
  }
  return find_info ? stream_info(v, err, err_cap) : pick_stream(v, err, err_cap);
}

static int decoder_open(Video *v, uint32_t threads, char *err, size_t err_cap) {
  char t[128];
  AVCodecParameters *par = v->fmt->streams[v->stream]->codecpar;
  const AVCodec *codec = avcodec_find_decoder(par->codec_id);
  if (!codec) {
    set_err(err, err_cap, "no decoder for codec %s in this FFmpeg", avcodec_get_name(par->codec_id));
    return MX8AV_ECODEC;
  }
  v->dec = avcodec_alloc_context3(codec);
  if (!v->dec) return set_err(err, err_cap, "out of memory (codec context)"), MX8AV_ENOMEM;
  int r = avcodec_parameters_to_context(v->dec, par);
  if (r < 0) {
    set_err(err, err_cap, "bad codec parameters: %s", av_text(r, t, sizeof t));
    return MX8AV_ECODEC;
  }
  v->dec->pkt_timebase = v->fmt->streams[v->stream]->time_base;
  v->dec->thread_count = threads ? (int)threads : 1;
  r = avcodec_open2(v->dec, codec, NULL);
  if (r < 0) {
    set_err(err, err_cap, "cannot open the %s decoder: %s", codec->name, av_text(r, t, sizeof t));
    return MX8AV_ECODEC;
  }
  return MX8AV_OK;
}

/* ---- probe ------------------------------------------------------------- */

/* True when an MP4/MOV header already gives every probe output, so
   avformat_find_stream_info (which decodes the first frames: ~20 ms for a
   720p H.264 video) adds nothing. The mov demuxer reads the sample tables at
   open: width, height, time base, duration, frame count, start and the
   average frame rate (sample count over the tables' duration) all come
   from them, and its index lists every sample. Any other container (Matroska
   / WebM have no frame count or rate in their header), or an MP4 missing one
   of these, still gets the stream-info probe. */
static int header_complete(const Video *v) {
  const AVStream *st = v->fmt->streams[v->stream];
  const AVCodecParameters *par = st->codecpar;
  if (strcmp(v->fmt->iformat->name, "mov,mp4,m4a,3gp,3g2,mj2") != 0) return 0;
  return par->codec_id != AV_CODEC_ID_NONE && par->width > 0 && par->height > 0 &&
         st->time_base.num > 0 && st->time_base.den > 0 && st->avg_frame_rate.num > 0 &&
         st->avg_frame_rate.den > 0 && st->nb_frames > 0 && st->duration > 0 &&
         st->start_time != AV_NOPTS_VALUE && avformat_index_get_entries_count(st) > 0;
}

/* Fills the probe outputs from an opened video (stream info read). */
static int probe_fill(Video *v, int64_t *out, char *codec, size_t codec_cap, int64_t *keys,
                      size_t keys_cap) {
  AVStream *st = v->fmt->streams[v->stream];
  AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
  memset(out, 0, sizeof(int64_t) * MX8AV_PROBE_SLOTS);
  out[MX8AV_PROBE_TB_NUM] = st->time_base.num;
  out[MX8AV_PROBE_TB_DEN] = st->time_base.den;
  out[MX8AV_PROBE_FR_NUM] = fr.num > 0 ? fr.num : 0;
  out[MX8AV_PROBE_FR_DEN] = fr.num > 0 ? fr.den : 1;
  out[MX8AV_PROBE_FRAMES] = st->nb_frames > 0 ? st->nb_frames : 0;
  out[MX8AV_PROBE_WIDTH] = st->codecpar->width;
  out[MX8AV_PROBE_HEIGHT] = st->codecpar->height;
  int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  out[MX8AV_PROBE_START] = start;
  int64_t duration = st->duration;
  if (duration == AV_NOPTS_VALUE || duration <= 0) {
    duration = v->fmt->duration != AV_NOPTS_VALUE
                   ? av_rescale_q(v->fmt->duration, AV_TIME_BASE_Q, st->time_base)
                   : 0;
  }
  out[MX8AV_PROBE_DURATION] = duration;
  int entries = avformat_index_get_entries_count(st);
  int64_t nkeys = 0;
  for (int i = 0; i < entries; i++) {
    const AVIndexEntry *e = avformat_index_get_entry(st, i);
    if (!e || !(e->flags & AVINDEX_KEYFRAME)) continue;
    if (keys && (size_t)nkeys < keys_cap) keys[nkeys] = e->timestamp;
    nkeys++;
  }
  out[MX8AV_PROBE_KEYFRAMES] = nkeys;
  out[MX8AV_PROBE_INDEXED] = entries;
  if (codec && codec_cap > 0) snprintf(codec, codec_cap, "%s", avcodec_get_name(st->codecpar->codec_id));
  return MX8AV_OK;
}


int mx8av_probe(const uint8_t *data, size_t len, int64_t *out, char *codec,
                size_t codec_cap, int64_t *keys, size_t keys_cap, char *err,
                size_t err_cap) {
  if (!data || len == 0 || !out) return set_err(err, err_cap, "empty input"), MX8AV_EARG;
  Video v;
  int r = video_open(&v, data, len, 0, 0, err, err_cap);
  /* A stream whose type only the stream-info probe tells is not "no video" yet. */
  if (r == MX8AV_ENOSTREAM || (r == MX8AV_OK && !header_complete(&v))) {
    r = stream_info(&v, err, err_cap);
  }
  if (r == MX8AV_OK) r = probe_fill(&v, out, codec, codec_cap, keys, keys_cap);
  video_close(&v);
  return r;
}

int mx8av_probe_file(const char *path, int64_t *out, char *codec, size_t codec_cap,
                     int64_t *keys, size_t keys_cap, char *err, size_t err_cap) {
  char t[128];
  if (!path || !path[0] || !out) return set_err(err, err_cap, "empty path"), MX8AV_EARG;
  Video v;
  memset(&v, 0, sizeof v);
  /* FFmpeg's file protocol reads only what the demuxer asks for: the
     header and the index (an MP4's moov, wherever it is), not the frames. */
  /* "file:" so that no prefix of the path reads as a protocol ("http:…"). */
  size_t n = strlen(path);
  char *url = av_malloc(n + 6);
  if (!url) return set_err(err, err_cap, "out of memory (path)"), MX8AV_ENOMEM;
  memcpy(url, "file:", 5);
  memcpy(url + 5, path, n + 1);
  AVDictionary *opts = open_options(1);
  int r = avformat_open_input(&v.fmt, url, NULL, &opts);
  av_dict_free(&opts);
  av_free(url);
  if (r < 0) {
    v.fmt = NULL;
    set_err(err, err_cap, "cannot open the container (MX8 reads MP4/MOV and Matroska/WebM): %s", av_text(r, t, sizeof t));
    return MX8AV_EOPEN;
  }
  r = av_find_best_stream(v.fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (r >= 0) v.stream = r;
  r = r >= 0 && header_complete(&v) ? MX8AV_OK : stream_info(&v, err, err_cap);
  if (r != MX8AV_OK) {
    video_close(&v);
    return r;
  }
  r = probe_fill(&v, out, codec, codec_cap, keys, keys_cap);
  video_close(&v);
  return r;
}

/* ---- clip decode ------------------------------------------------------- */

/* One wanted frame: clip `clip`'s frame `frame` is the frame shown at `target`. */
typedef struct {
  int64_t target;
  uint32_t clip, frame;
} Want;

static int want_cmp(const void *a, const void *b) {
  const Want *x = a, *y = b;
  if (x->target != y->target) return x->target < y->target ? -1 : 1;
  if (x->clip != y->clip) return x->clip < y->clip ? -1 : 1;
  return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static int64_t elapsed_ns(double since) { return (int64_t)((now_seconds() - since) * 1e9); }

/* `until` of a kept frame whose successor is not decoded yet. */
#define UNTIL_UNKNOWN INT64_MAX

/*
 * A decoder kept open across passes over one video: the container and the
 * decoder with their position, the frame last decoded, and the last frames
 * scaled (the overlap of one batch's last clip with the next batch's first:
 * clips overlap when the stride is below the clip length).
 */
struct Mx8avSession {
  Video v;
  int opened;               /* v and its decoder are open */
  int one_shot;             /* one pass then closed: keeps no frames */
  uint8_t *owned;           /* the video's bytes, when the session copied them */
  const uint8_t *data;
  size_t len;
  uint32_t threads;
  AVPacket *pkt;
  AVFrame *frame, *held;    /* held: the frame decoded last (shown until the next one) */
  int64_t held_ts, last_ts;
  /* sought: the keyframe timestamp of the last seek (INT64_MIN: none, the
     pass decodes from where the demuxer is); last_dts: the furthest decode
     time read; skipped: the latest presentation time of a skipped frame. */
  int64_t sought, last_dts, skipped;
  int fresh, skipping, may_seek; /* fresh: no frame decoded since the last seek */
  AVStream *st;
  AVRational tb;
  int64_t start, delay;
  struct SwsContext *sws;
  Mx8Rgb rgb;               /* the planar-YUV scale + own RGB24 conversion (mx8_rgb.c) */
  Mx8Jobs jobs;             /* resizes and copies, on their own thread with frame threads */
  int jobs_ready;
  /* Kept scaled frames (a ring of `kcap`): kept frame j is shown at times
     [kts[j], kuntil[j]); kts INT64_MIN: empty. */
  uint32_t kh, kw;
  size_t kcap, knext;
  uint8_t *kpix;
  int64_t *kts, *kuntil;
};

static atomic_long live_sessions = 0;

long mx8av_session_live(void) { return live_sessions; }

/* Kept frames whose successor is unknown are exact from now on (a seek). */
static void kept_exact(Mx8avSession *s) {
  for (size_t j = 0; j < s->kcap; j++)
    if (s->kts[j] != INT64_MIN && s->kuntil[j] == UNTIL_UNKNOWN) s->kuntil[j] = s->kts[j] + 1;
}

/* A frame shown from `ts` on was decoded or skipped: it ends what precedes it. */
static void kept_bound(Mx8avSession *s, int64_t ts) {
  for (size_t j = 0; j < s->kcap; j++)
    if (s->kts[j] != INT64_MIN && s->kts[j] < ts && s->kuntil[j] > ts) s->kuntil[j] = ts;
}

/* Records a kept frame shown from `ts`: returns where its pixels go (NULL: kept already, or no room). */
static uint8_t *kept_add(Mx8avSession *s, int64_t ts) {
  if (s->kcap == 0) return NULL;
  for (size_t j = 0; j < s->kcap; j++)
    if (s->kts[j] == ts) return NULL;
  size_t plane = (size_t)s->kh * s->kw * 3;
  size_t j = s->knext;
  s->knext = (j + 1) % s->kcap;
  s->kts[j] = ts;
  s->kuntil[j] = UNTIL_UNKNOWN;
  return s->kpix + j * plane;
}

/* The kept frame shown at `target`, or -1. */
static long kept_find(const Mx8avSession *s, int64_t target) {
  for (size_t j = 0; j < s->kcap; j++) {
    if (s->kts[j] == INT64_MIN) continue;
    if (s->kts[j] == target) return (long)j;
    if (s->kts[j] < target && s->kuntil[j] != UNTIL_UNKNOWN && target < s->kuntil[j]) return (long)j;
  }
  return -1;
}

/* Sizes the kept frames for clips of `count` frames of height x width (emptied on a change). */
static int kept_size(Mx8avSession *s, uint32_t height, uint32_t width, size_t count) {
  if (s->one_shot) return MX8AV_OK;
  if (s->kh == height && s->kw == width && s->kcap == count) return MX8AV_OK;
  av_freep(&s->kpix);
  av_freep(&s->kts);
  av_freep(&s->kuntil);
  s->kcap = s->knext = 0;
  s->kpix = av_malloc_array(count, (size_t)height * width * 3);
  s->kts = av_malloc_array(count, sizeof(int64_t));
  s->kuntil = av_malloc_array(count, sizeof(int64_t));
  if (!s->kpix || !s->kts || !s->kuntil) return MX8AV_ENOMEM;
  for (size_t j = 0; j < count; j++) s->kts[j] = INT64_MIN;
  s->kh = height;
  s->kw = width;
  s->kcap = count;
  return MX8AV_OK;
}

/* Closes the container and the decoder (the next pass opens them again). */
static void session_shut(Mx8avSession *s) {
  if (!s->opened) return;
  video_close(&s->v);
  av_frame_unref(s->held);
  s->opened = 0;
#ifdef __GLIBC__
  /* The decoder's frame buffers (MiBs each) are back in glibc's arena of
     this thread; give the pages to the system now, or the process keeps
     each worker thread's peak as RSS beyond the loader's byte budget. */
  malloc_trim(0);
#endif
}

/* (Re)opens the container and the decoder at the start of the video. */
static int session_reopen(Mx8avSession *s, double deadline, char *err, size_t err_cap) {
  session_shut(s);
  if (s->kts) kept_exact(s);
  int r = video_open(&s->v, s->data, s->len, 0, deadline, err, err_cap);
  if (r == MX8AV_OK) r = decoder_open(&s->v, s->threads, err, err_cap);
  if (r != MX8AV_OK) {
    video_close(&s->v);
    return r;
  }
  s->opened = 1;
  s->st = s->v.fmt->streams[s->v.stream];
  s->tb = s->st->time_base;
  s->start = s->st->start_time != AV_NOPTS_VALUE ? s->st->start_time : 0;
  /* How far the index's first timestamp precedes the first presentation
     time: the reorder delay of an index that lists decode times. */
  s->delay = 0;
  if (avformat_index_get_entries_count(s->st) > 0) {
    const AVIndexEntry *e0 = avformat_index_get_entry(s->st, 0);
    if (e0 && e0->timestamp < s->start) s->delay = s->start - e0->timestamp;
  }
  s->held_ts = s->last_ts = AV_NOPTS_VALUE;
  s->sought = s->last_dts = s->skipped = INT64_MIN;
  s->fresh = 1;
  s->skipping = 0;
  s->may_seek = 1;
  return MX8AV_OK;
}

Mx8avSession *mx8av_session_open(const uint8_t *data, size_t len, int copy, uint32_t threads) {
  if (!data || len == 0) return NULL;
  Mx8avSession *s = av_mallocz(sizeof *s);
  if (!s) return NULL;
  s->pkt = av_packet_alloc();
  s->frame = av_frame_alloc();
  s->held = av_frame_alloc();
  if (copy) {
    s->owned = av_malloc(len);
    if (s->owned) memcpy(s->owned, data, len);
  }
  if (!s->pkt || !s->frame || !s->held || (copy && !s->owned)) {
    av_packet_free(&s->pkt);
    av_frame_free(&s->frame);
    av_frame_free(&s->held);
    av_free(s->owned);
    av_free(s);
    return NULL;
  }
  s->data = copy ? s->owned : data;
  s->len = len;
  s->threads = threads ? threads : 1;
  s->held_ts = AV_NOPTS_VALUE;
  live_sessions++;
  return s;
}

void mx8av_session_close(Mx8avSession *s) {
  if (!s) return;
  session_shut(s);
  if (s->jobs_ready) mx8_jobs_free(&s->jobs);
  sws_freeContext(s->sws);
  mx8_rgb_free(&s->rgb);
  av_packet_free(&s->pkt);
  av_frame_free(&s->frame);
  av_frame_free(&s->held);
  av_free(s->kpix);
  av_free(s->kts);
  av_free(s->kuntil);
  av_free(s->owned);
  av_free(s);
  live_sessions--;
}

typedef struct {
  Mx8avSession *s;
  uint32_t height, width;
  size_t count; /* frames per clip */
  uint8_t *out;
  const uint32_t *slots;
  int64_t *out_pts;
  uint32_t *done; /* frames written per clip */
  int64_t *stats;
  /* The last frame scaled: a frame wanted again (overlapping clips, or fps
     above the source's) is copied, not scaled again. */
  int64_t last_ts;
  const uint8_t *last_dst;
} Sink;

static uint8_t *slot_frame(Sink *s, const Want *w) {
  size_t plane = (size_t)s->height * s->width * 3;
  return s->out + ((size_t)s->slots[w->clip] * s->count + w->frame) * plane;
}

/* Records that `w` got the frame shown from `ts`. */
static void wrote(Sink *s, const Want *w, int64_t ts) {
  if (s->out_pts) s->out_pts[(size_t)s->slots[w->clip] * s->count + w->frame] = ts;
  s->done[w->clip]++;
}

/* Writes `frame` (timestamp ts) as the wanted frame `w` (resized RGB24): a
   job (mx8_jobs.h), done by the time the pass returns. */
static int emit(Sink *s, const AVFrame *frame, int64_t ts, const Want *w, char *err, size_t err_cap) {
  size_t plane = (size_t)s->height * s->width * 3;
  uint8_t *dst = slot_frame(s, w);
  Mx8avSession *se = s->s;
  if (s->last_dst && s->last_ts == ts) {
    mx8_jobs_copy(&se->jobs, s->last_dst, dst, plane);
    s->stats[MX8AV_STAT_COPIED]++;
  } else {
    Mx8Rgb *r = &se->rgb;
    if (!se->sws || !r->ready || r->src_w != frame->width || r->src_h != frame->height ||
        r->src_fmt != frame->format || r->dst_w != (int)s->width || r->dst_h != (int)s->height) {
      /* A new size or format (first frame, or a stream that changes): the
         contexts change only with no job running. */
      s->stats[MX8AV_STAT_SCALE_NS] += mx8_jobs_wait(&se->jobs);
      /* The one-step context: the reference conversion (also the fallback,
         and where the planar path reads swscale's colour details and flags). */
      se->sws = sws_getCachedContext(se->sws, frame->width, frame->height, frame->format,
                                     (int)s->width, (int)s->height, AV_PIX_FMT_RGB24,
                                     SWS_BILINEAR, NULL, NULL, NULL);
      if (!se->sws) {
        r->ready = 0;
        set_err(err, err_cap, "swscale cannot convert %dx%d %s to %ux%u rgb24", frame->width,
                frame->height, av_get_pix_fmt_name(frame->format), s->width, s->height);
        return MX8AV_EDECODE;
      }
      if (mx8_rgb_prepare(r, se->sws, frame->width, frame->height, frame->format,
                          (int)s->width, (int)s->height) < 0)
        return set_err(err, err_cap, "out of memory (scale buffer)"), MX8AV_ENOMEM;
    }
    if (mx8_jobs_scale(&se->jobs, frame, dst, kept_add(se, ts), plane) < 0)
      return set_err(err, err_cap, "out of memory (frame reference)"), MX8AV_ENOMEM;
    s->stats[MX8AV_STAT_SCALED]++;
    s->last_ts = ts;
    s->last_dst = dst;
  }
  wrote(s, w, ts);
  return MX8AV_OK;
}

static double ticks_seconds(int64_t ticks, AVRational tb) { return (double)ticks * av_q2d(tb); }

/* Timestamp of the container's keyframe at or before ts (INT64_MIN if none). */
static int64_t keyframe_before(AVStream *st, int64_t ts) {
  int i = av_index_search_timestamp(st, ts, AVSEEK_FLAG_BACKWARD);
  if (i < 0) return INT64_MIN;
  const AVIndexEntry *e = avformat_index_get_entry(st, i);
  return e ? e->timestamp : INT64_MIN;
}

int mx8av_session_decode(Mx8avSession *se, const int64_t *targets, size_t n_clips, size_t count,
                         int64_t tolerance, uint32_t height, uint32_t width, uint8_t *out,
                         const uint32_t *slots, uint64_t max_packets, double max_seconds,
                         int32_t *status, int64_t *out_pts, int64_t *stats, char *err,
                         size_t err_cap) {
  char t[128];
  int64_t no_stats[MX8AV_STAT_SLOTS];
  if (!stats) stats = no_stats;
  memset(stats, 0, sizeof(int64_t) * MX8AV_STAT_SLOTS);
  stats[MX8AV_STAT_ERR_CLIP] = -1;
  if (err && err_cap > 0) err[0] = 0;
  if (!se) return set_err(err, err_cap, "no session"), MX8AV_EARG;
  if (!targets || n_clips == 0 || count == 0 || !out || !slots || !status || height == 0 ||
      width == 0)
    return set_err(err, err_cap, "a clip needs at least one target and a non-empty output"), MX8AV_EARG;
  for (size_t k = 0; k < n_clips; k++) {
    status[k] = MX8AV_OK;
    for (size_t i = 1; i < count; i++) {
      if (targets[k * count + i] < targets[k * count + i - 1])
        return set_err(err, err_cap, "clip timestamps must ascend: %lld after %lld",
                       (long long)targets[k * count + i], (long long)targets[k * count + i - 1]),
               MX8AV_EARG;
    }
  }
  size_t n = n_clips * count;
  Want *wants = av_malloc_array(n, sizeof(Want));
  uint32_t *done = av_calloc(n_clips, sizeof(uint32_t));
  Sink sink = {se, height, width, count, out, slots, out_pts, done, stats, 0, NULL};
  AVPacket *pkt = se->pkt;
  AVFrame *frame = se->frame;
  AVFrame *held = se->held;
  /* A failure that ends the pass: every unfinished clip gets `r`. */
  int r = (!wants || !done) ? MX8AV_ENOMEM : kept_size(se, height, width, count);
  if (r == MX8AV_OK && !se->jobs_ready) {
    /* With frame threads, resizes run on a thread of their own, so the
       decoder is fed while a frame is resized. */
    if (mx8_jobs_init(&se->jobs, &se->rgb, &se->sws, se->threads > 1) == 0)
      se->jobs_ready = 1;
    else
      mx8_jobs_free(&se->jobs), r = MX8AV_ENOMEM;
  }
  if (r != MX8AV_OK) set_err(err, err_cap, "out of memory (frames)");
  /* Limits are per clip: the pass gets n_clips times each. */
  uint64_t packet_cap = max_packets > 0 ? max_packets * n_clips : 0;
  double time_cap = max_seconds > 0 ? max_seconds * (double)n_clips : 0;
  double started = now_seconds();
  double deadline = time_cap > 0 ? started + time_cap : 0;
  size_t next = 0;
  if (r == MX8AV_OK) {
    for (size_t k = 0; k < n_clips; k++)
      for (size_t i = 0; i < count; i++)
        wants[k * count + i] = (Want){targets[k * count + i], (uint32_t)k, (uint32_t)i};
    qsort(wants, n, sizeof(Want), want_cmp);
    if (se->opened) {
      /* Wanted frames behind the decoder's position come from the frames
         kept from the last pass; without them, decode again from the start. */
      while (next < n && se->held_ts != AV_NOPTS_VALUE && wants[next].target < se->held_ts) {
        long j = kept_find(se, wants[next].target);
        if (j < 0) break;
        size_t plane = (size_t)height * width * 3;
        memcpy(slot_frame(&sink, &wants[next]), se->kpix + (size_t)j * plane, plane);
        stats[MX8AV_STAT_COPIED]++;
        wrote(&sink, &wants[next], se->kts[j]);
        next++;
      }
      if (next < n && se->held_ts != AV_NOPTS_VALUE && wants[next].target < se->held_ts)
        session_shut(se);
    }
    if (!se->opened) r = session_reopen(se, deadline, err, err_cap);
    else se->v.src.deadline = deadline;
  }
  stats[MX8AV_STAT_OPEN_NS] = elapsed_ns(started);
  AVStream *st = se->opened ? se->st : NULL;
  AVRational tb = st ? se->tb : (AVRational){1, 1};
  int64_t start = se->start, delay = se->delay;
  int draining = 0, retries = 0;
  /* Lead-in frames nobody wants (one frame duration or more before the next
     wanted frame) that no other frame references are not decoded
     (AVDISCARD_NONREF). Should the frame shown at a wanted time be one of
     them (variable frame rate), the pass decodes that stretch again
     without skipping. */
  int may_skip = 1, redo = 0;
  uint64_t packets = 0;
  while (r == MX8AV_OK && next < n) {
    if (time_cap > 0 && now_seconds() - started > time_cap) {
      set_err(err, err_cap,
              "clip exceeded its time limit of %.3f s after %llu packets (frame %u of %zu)",
              max_seconds, (unsigned long long)packets, wants[next].frame + 1, count);
      r = MX8AV_ELIMIT;
      break;
    }
    if (redo) {
      /* A skipped frame was the one shown at a wanted time: decode again
         from the keyframe before it, skipping nothing. */
      redo = 0;
      may_skip = 0;
      se->skipped = INT64_MIN;
      int64_t key = keyframe_before(st, wants[next].target - delay);
      int64_t back = key != INT64_MIN ? key + delay : start;
      if (av_seek_frame(se->v.fmt, se->v.stream, back, AVSEEK_FLAG_BACKWARD) < 0 &&
          avformat_seek_file(se->v.fmt, se->v.stream, INT64_MIN, start, start, 0) < 0) {
        set_err(err, err_cap, "cannot seek back to find the frame at %.3f s",
                ticks_seconds(wants[next].target, tb));
        r = MX8AV_EDECODE;
        break;
      }
      stats[MX8AV_STAT_SEEKS]++;
      avcodec_flush_buffers(se->v.dec);
      kept_exact(se);
      av_frame_unref(held);
      se->held_ts = AV_NOPTS_VALUE;
      se->sought = key != INT64_MIN ? key : INT64_MIN;
      se->last_dts = key != INT64_MIN ? key : INT64_MIN;
      se->fresh = 1;
      draining = 0;
    }
    /* Seek when the container's keyframe before the next wanted frame lies
       ahead of what was read: decoding up to it would be wasted. */
    int64_t want = wants[next].target;
    if (se->may_seek && !draining && want > start) {
      /* The index may list decode times (MP4): the keyframe shown at or
         before `want` is the one whose decode time is at or before
         want - delay. */
      int64_t key = keyframe_before(st, want - delay);
      int ahead = se->last_dts == INT64_MIN ? 1 : key != INT64_MIN && key > se->last_dts;
      /* Demuxers seek by presentation time (MP4 maps it back to the
         index's decode times). */
      int64_t to = key != INT64_MIN ? key + delay : want;
      if (ahead && av_seek_frame(se->v.fmt, se->v.stream, to, AVSEEK_FLAG_BACKWARD) >= 0) {
        avcodec_flush_buffers(se->v.dec);
        kept_exact(se);
        av_frame_unref(held);
        se->held_ts = AV_NOPTS_VALUE;
        se->skipped = INT64_MIN;
        se->sought = key == INT64_MIN ? want : key;
        se->last_dts = se->sought;
        se->fresh = 1;
        stats[MX8AV_STAT_SEEKS]++;
      } else if (ahead) {
        se->last_dts = want; /* unseekable: decode forward from here */
      }
    }
    int rr;
    if (!draining) {
      rr = av_read_frame(se->v.fmt, pkt);
      if (rr == AVERROR_EOF || rr == AVERROR(EIO) || rr == AVERROR_INVALIDDATA) {
        draining = 1;
        rr = avcodec_send_packet(se->v.dec, NULL);
        /* With frame threads, the error of an earlier (corrupt, cut)
           packet comes back here; the flush is under way all the same. */
        if (rr == AVERROR_INVALIDDATA) rr = 0;
      } else if (rr < 0) {
        set_err(err, err_cap, "read failed after %llu packets: %s", (unsigned long long)packets,
                av_text(rr, t, sizeof t));
        r = rr == AVERROR_EXIT ? MX8AV_ELIMIT : MX8AV_EDECODE;
        break;
      } else {
        if (pkt->stream_index != se->v.stream) {
          av_packet_unref(pkt);
          continue;
        }
        if (packet_cap > 0 && ++packets > packet_cap) {
          av_packet_unref(pkt);
          set_err(err, err_cap, "clip exceeded its limit of %llu decoded packets (frame %u of %zu)",
                  (unsigned long long)max_packets, wants[next].frame + 1, count);
          r = MX8AV_ELIMIT;
          break;
        }
        if (packet_cap == 0) packets++;
        if (pkt->dts != AV_NOPTS_VALUE && pkt->dts > se->last_dts) se->last_dts = pkt->dts;
        int skip = may_skip && pkt->pts != AV_NOPTS_VALUE && pkt->duration > 0 &&
                   pkt->pts + pkt->duration <= wants[next].target;
        if (skip != se->skipping) {
          se->v.dec->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
          se->skipping = skip;
        }
        if (skip) {
          if (pkt->pts > se->skipped) se->skipped = pkt->pts;
          kept_bound(se, pkt->pts);
        }
        rr = avcodec_send_packet(se->v.dec, pkt);
        av_packet_unref(pkt);
        /* A corrupt packet: the decoder conceals what it can; go on. */
        if (rr == AVERROR_INVALIDDATA) rr = 0;
      }
      if (rr < 0 && rr != AVERROR(EAGAIN) && rr != AVERROR_EOF) {
        set_err(err, err_cap, "decoder rejected packet %llu: %s", (unsigned long long)packets,
                av_text(rr, t, sizeof t));
        r = MX8AV_EDECODE;
        break;
      }
    }
    for (;;) {
      rr = avcodec_receive_frame(se->v.dec, frame);
      if (rr == AVERROR(EAGAIN)) break;
      if (rr == AVERROR_EOF) {
        if (se->skipped != INT64_MIN && se->skipped > se->held_ts) {
          /* The last frame shown may be a skipped one. */
          redo = 1;
          break;
        }
        /* Drained: wanted frames past the last one get it only within
           tolerance; the clips past it fail, the others are complete. */
        for (; next < n; next++) {
          const Want *w = &wants[next];
          if (status[w->clip] != MX8AV_OK) continue;
          if (se->held_ts == AV_NOPTS_VALUE) {
            if (err && err[0] == 0) stats[MX8AV_STAT_ERR_CLIP] = w->clip;
            if (err && err[0] == 0)
              set_err(err, err_cap,
                      "no frame decodes from the keyframe before %.3f s to the end (clip frame %u "
                      "of %zu): the file is truncated or shorter than its header says",
                      ticks_seconds(w->target, tb), w->frame + 1, count);
            status[w->clip] = MX8AV_ESHORT;
          } else if (w->target > se->held_ts + tolerance) {
            if (err && err[0] == 0) stats[MX8AV_STAT_ERR_CLIP] = w->clip;
            if (err && err[0] == 0)
              set_err(err, err_cap,
                      "the video ends at %.3f s but clip frame %u of %zu is at %.3f s: the file "
                      "is truncated or shorter than its header says",
                      ticks_seconds(se->held_ts, tb), w->frame + 1, count,
                      ticks_seconds(w->target, tb));
            status[w->clip] = MX8AV_ESHORT;
          } else {
            int e = emit(&sink, held, se->held_ts, w, err, err_cap);
            if (e != MX8AV_OK) status[w->clip] = e;
          }
        }
        goto done;
      }
      if (rr < 0) {
        set_err(err, err_cap, "decode failed: %s", av_text(rr, t, sizeof t));
        r = MX8AV_EDECODE;
        goto done;
      }
      stats[MX8AV_STAT_DECODED]++;
      int64_t ts = frame->best_effort_timestamp;
      if (ts == AV_NOPTS_VALUE) ts = frame->pts;
      if (ts == AV_NOPTS_VALUE) ts = se->last_ts == AV_NOPTS_VALUE ? start : se->last_ts + 1;
      se->last_ts = ts;
      if (se->fresh && se->sought != INT64_MIN && ts > wants[next].target) {
        /* The seek landed after the wanted frame (an index that lists
           decode times, or lies): seek to the keyframe before that one,
           and after a few tries decode from the start without seeking. */
        av_frame_unref(frame);
        int64_t back = ++retries < 4 ? keyframe_before(st, se->sought - 1) : INT64_MIN;
        int ok = back != INT64_MIN &&
                 av_seek_frame(se->v.fmt, se->v.stream, back + delay, AVSEEK_FLAG_BACKWARD) >= 0;
        if (!ok) {
          back = start;
          se->may_seek = 0;
          ok = av_seek_frame(se->v.fmt, se->v.stream, start, AVSEEK_FLAG_BACKWARD) >= 0 ||
               avformat_seek_file(se->v.fmt, se->v.stream, INT64_MIN, start, start, 0) >= 0;
        }
        if (!ok) {
          set_err(err, err_cap, "cannot seek back to the start to find the frame at %.3f s",
                  ticks_seconds(wants[next].target, tb));
          r = MX8AV_EDECODE;
          goto done;
        }
        stats[MX8AV_STAT_SEEKS]++;
        avcodec_flush_buffers(se->v.dec);
        kept_exact(se);
        av_frame_unref(held);
        se->held_ts = AV_NOPTS_VALUE;
        se->skipped = INT64_MIN;
        se->sought = back;
        se->last_dts = back;
        draining = 0;
        break;
      }
      se->fresh = 0;
      if (se->skipped != INT64_MIN && next < n && wants[next].target < ts &&
          se->skipped <= wants[next].target && se->skipped > se->held_ts) {
        /* The frame shown at the next wanted time was skipped. */
        av_frame_unref(frame);
        redo = 1;
        break;
      }
      /* Wanted frames before this one are shown by the held (previous)
         frame; one before the very first frame gets the first frame. */
      while (r == MX8AV_OK && next < n && wants[next].target < ts) {
        if (se->held_ts != AV_NOPTS_VALUE)
          r = emit(&sink, held, se->held_ts, &wants[next], err, err_cap);
        else
          r = emit(&sink, frame, ts, &wants[next], err, err_cap);
        next++;
      }
      while (r == MX8AV_OK && next < n && wants[next].target == ts) {
        r = emit(&sink, frame, ts, &wants[next], err, err_cap);
        next++;
      }
      /* The frame kept last (the held one, or one before) is shown until this one. */
      kept_bound(se, ts);
      av_frame_unref(held);
      av_frame_move_ref(held, frame);
      se->held_ts = ts;
      if (r != MX8AV_OK || next == n) goto done;
    }
    if (draining && rr == AVERROR(EAGAIN)) {
      /* Cannot happen after a flush packet; guard against a spin. */
      set_err(err, err_cap, "decoder stalled while draining");
      r = MX8AV_EDECODE;
    }
  }
done:
  /* Every resize and copy of the pass is done before it returns. */
  if (se->jobs_ready) stats[MX8AV_STAT_SCALE_NS] += mx8_jobs_wait(&se->jobs);
  stats[MX8AV_STAT_PACKETS] = (int64_t)packets;
  int first = MX8AV_OK;
  for (size_t k = 0; k < n_clips; k++) {
    if (status[k] == MX8AV_OK && done && done[k] < count) status[k] = r != MX8AV_OK ? r : MX8AV_ESHORT;
    if (!done) status[k] = r;
    if (first == MX8AV_OK && status[k] != MX8AV_OK) first = status[k];
  }
  if (r != MX8AV_OK && next < n && wants) stats[MX8AV_STAT_ERR_CLIP] = wants[next].clip;
  for (size_t k = 0; k < n_clips && stats[MX8AV_STAT_ERR_CLIP] < 0; k++)
    if (status[k] != MX8AV_OK) stats[MX8AV_STAT_ERR_CLIP] = (int64_t)k;
  if (first == MX8AV_ESHORT && err && err_cap > 0 && err[0] == 0)
    set_err(err, err_cap, "the video ends before a frame the clip wants");
  av_free(wants);
  av_free(done);
  /* After a failure or the end of the video the decoder's state is not one
     the next pass can go on from: it opens the video again. */
  if (r != MX8AV_OK || draining) session_shut(se);
  se->v.src.deadline = 0;
  stats[MX8AV_STAT_TOTAL_NS] = elapsed_ns(started);
  return first;
}

int mx8av_decode_clips(const uint8_t *data, size_t len, const int64_t *targets, size_t n_clips,
                       size_t count, int64_t tolerance, uint32_t height, uint32_t width,
                       uint8_t *out, const uint32_t *slots, uint32_t threads,
                       uint64_t max_packets, double max_seconds, int32_t *status,
                       int64_t *out_pts, int64_t *stats, char *err, size_t err_cap) {
  if (err && err_cap > 0) err[0] = 0;
  if (stats) memset(stats, 0, sizeof(int64_t) * MX8AV_STAT_SLOTS);
  if (!data || len == 0) return set_err(err, err_cap, "empty input"), MX8AV_EARG;
  Mx8avSession *s = mx8av_session_open(data, len, 0, threads);
  if (!s) return set_err(err, err_cap, "out of memory (session)"), MX8AV_ENOMEM;
  s->one_shot = 1;
  int r = mx8av_session_decode(s, targets, n_clips, count, tolerance, height, width, out, slots,
                               max_packets, max_seconds, status, out_pts, stats, err, err_cap);
  mx8av_session_close(s);
  return r;
}

int mx8av_decode_clip(const uint8_t *data, size_t len, const int64_t *targets, size_t count,
                      int64_t tolerance, uint32_t height, uint32_t width, uint8_t *out,
                      uint32_t threads, uint64_t max_packets, double max_seconds,
                      int64_t *out_pts, char *err, size_t err_cap) {
  uint32_t slot = 0;
  int32_t status = MX8AV_OK;
  return mx8av_decode_clips(data, len, targets, 1, count, tolerance, height, width, out, &slot,
                            threads, max_packets, max_seconds, &status, out_pts, NULL, err,
                            err_cap);
}
