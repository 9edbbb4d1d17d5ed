/*
 * mx8_av: see mx8_av.h. In-memory AVIO over the caller's bytes, seek to the
 * keyframe before a clip, frames picked by best_effort_timestamp, swscale
 * straight into the caller's buffer.
 */
#include "mx8_av.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

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
  int r = avformat_open_input(&v->fmt, NULL, NULL, NULL);
  if (r < 0) {
    /* avformat_open_input frees the context on failure. */
    v->fmt = NULL;
    if (r == AVERROR_EXIT) {
      set_err(err, err_cap, "clip exceeded its time limit while opening the container");
      return MX8AV_ELIMIT;
    }
    set_err(err, err_cap, "cannot open the container (%zu bytes): %s", len, av_text(r, t, sizeof t));
    return MX8AV_EOPEN;
  }
  if (find_info) {
    r = avformat_find_stream_info(v->fmt, NULL);
    if (r < 0) {
      set_err(err, err_cap, "cannot read the stream info: %s", av_text(r, t, sizeof t));
      return MX8AV_EOPEN;
    }
  }
  r = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (r < 0) {
    set_err(err, err_cap, "no video stream among %u streams (format %s)", v->fmt->nb_streams,
            v->fmt->iformat->name);
    return MX8AV_ENOSTREAM;
  }
  v->stream = r;
  return MX8AV_OK;
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
  int r = video_open(&v, data, len, 1, 0, err, err_cap);
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
  int r = avformat_open_input(&v.fmt, path, NULL, NULL);
  if (r < 0) {
    v.fmt = NULL;
    set_err(err, err_cap, "cannot open the container: %s", av_text(r, t, sizeof t));
    return MX8AV_EOPEN;
  }
  r = avformat_find_stream_info(v.fmt, NULL);
  if (r < 0) {
    set_err(err, err_cap, "cannot read the stream info: %s", av_text(r, t, sizeof t));
    video_close(&v);
    return MX8AV_EOPEN;
  }
  r = av_find_best_stream(v.fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (r < 0) {
    set_err(err, err_cap, "no video stream among %u streams (format %s)", v.fmt->nb_streams,
            v.fmt->iformat->name);
    video_close(&v);
    return MX8AV_ENOSTREAM;
  }
  v.stream = r;
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

typedef struct {
  struct SwsContext *sws;
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

/* Writes `frame` (timestamp ts) as the wanted frame `w` (scaled RGB24). */
static int emit(Sink *s, const AVFrame *frame, int64_t ts, const Want *w, char *err, size_t err_cap) {
  size_t plane = (size_t)s->height * s->width * 3;
  uint8_t *dst = slot_frame(s, w);
  if (s->last_dst && s->last_ts == ts) {
    memcpy(dst, s->last_dst, plane);
    s->stats[MX8AV_STAT_COPIED]++;
  } else {
    double t0 = now_seconds();
    s->sws = sws_getCachedContext(s->sws, frame->width, frame->height, frame->format, (int)s->width,
                                  (int)s->height, AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
    if (!s->sws) {
      set_err(err, err_cap, "swscale cannot convert %dx%d %s to %ux%u rgb24", frame->width,
              frame->height, av_get_pix_fmt_name(frame->format), s->width, s->height);
      return MX8AV_EDECODE;
    }
    uint8_t *planes[4] = {dst, NULL, NULL, NULL};
    int strides[4] = {(int)s->width * 3, 0, 0, 0};
    sws_scale(s->sws, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height,
              planes, strides);
    s->stats[MX8AV_STAT_SCALED]++;
    s->stats[MX8AV_STAT_SCALE_NS] += elapsed_ns(t0);
    s->last_ts = ts;
    s->last_dst = dst;
  }
  if (s->out_pts) s->out_pts[(size_t)s->slots[w->clip] * s->count + w->frame] = ts;
  s->done[w->clip]++;
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

int mx8av_decode_clips(const uint8_t *data, size_t len, const int64_t *targets, size_t n_clips,
                       size_t count, int64_t tolerance, uint32_t height, uint32_t width,
                       uint8_t *out, const uint32_t *slots, uint32_t threads,
                       uint64_t max_packets, double max_seconds, int32_t *status,
                       int64_t *out_pts, int64_t *stats, char *err, size_t err_cap) {
  char t[128];
  int64_t no_stats[MX8AV_STAT_SLOTS];
  if (!stats) stats = no_stats;
  memset(stats, 0, sizeof(int64_t) * MX8AV_STAT_SLOTS);
  stats[MX8AV_STAT_ERR_CLIP] = -1;
  if (err && err_cap > 0) err[0] = 0;
  if (!data || len == 0) return set_err(err, err_cap, "empty input"), MX8AV_EARG;
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
  Video v;
  memset(&v, 0, sizeof v);
  Sink sink = {NULL, height, width, count, out, slots, out_pts, done, stats, 0, NULL};
  AVPacket *pkt = av_packet_alloc();
  AVFrame *frame = av_frame_alloc();
  AVFrame *held = av_frame_alloc();
  int64_t held_ts = AV_NOPTS_VALUE;
  /* A failure that ends the pass: every unfinished clip gets `r`. */
  int r = (!wants || !done || !pkt || !frame || !held) ? MX8AV_ENOMEM : MX8AV_OK;
  if (r != MX8AV_OK) set_err(err, err_cap, "out of memory (frames)");
  /* Limits are per clip: the pass gets n_clips times each. */
  uint64_t packet_cap = max_packets > 0 ? max_packets * n_clips : 0;
  double time_cap = max_seconds > 0 ? max_seconds * (double)n_clips : 0;
  double started = now_seconds();
  if (r == MX8AV_OK) {
    for (size_t k = 0; k < n_clips; k++)
      for (size_t i = 0; i < count; i++)
        wants[k * count + i] = (Want){targets[k * count + i], (uint32_t)k, (uint32_t)i};
    qsort(wants, n, sizeof(Want), want_cmp);
    r = video_open(&v, data, len, 0, time_cap > 0 ? started + time_cap : 0, err, err_cap);
  }
  if (r == MX8AV_OK) r = decoder_open(&v, threads, err, err_cap);
  stats[MX8AV_STAT_OPEN_NS] = elapsed_ns(started);
  AVStream *st = r == MX8AV_OK ? v.fmt->streams[v.stream] : NULL;
  AVRational tb = st ? st->time_base : (AVRational){1, 1};
  int64_t start = st && st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  /* How far the index's first timestamp precedes the first presentation
     time: the reorder delay of an index that lists decode times. */
  int64_t delay = 0;
  if (st && avformat_index_get_entries_count(st) > 0) {
    const AVIndexEntry *e0 = avformat_index_get_entry(st, 0);
    if (e0 && e0->timestamp < start) delay = start - e0->timestamp;
  }
  /* sought: the keyframe timestamp of the last seek (INT64_MIN: none, the
     pass decodes from where the demuxer is). fresh: no frame decoded since
     the last seek. */
  int64_t sought = INT64_MIN, last_dts = INT64_MIN;
  int fresh = 1, draining = 0, retries = 0, may_seek = 1;
  /* Lead-in frames nobody wants (one frame duration or more before the next
     wanted frame) that no other frame references are not decoded
     (AVDISCARD_NONREF). skipped: the latest presentation time among them.
     Should the frame shown at a wanted time be one of them (variable frame
     rate), the pass decodes that stretch again without skipping. */
  int may_skip = 1, skipping = 0, redo = 0;
  int64_t skipped = INT64_MIN;
  size_t next = 0;
  uint64_t packets = 0;
  int64_t last_ts = AV_NOPTS_VALUE;
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
      skipped = INT64_MIN;
      int64_t key = keyframe_before(st, wants[next].target - delay);
      int64_t back = key != INT64_MIN ? key + delay : start;
      if (av_seek_frame(v.fmt, v.stream, back, AVSEEK_FLAG_BACKWARD) < 0 &&
          avformat_seek_file(v.fmt, v.stream, INT64_MIN, start, start, 0) < 0) {
        set_err(err, err_cap, "cannot seek back to find the frame at %.3f s",
                ticks_seconds(wants[next].target, tb));
        r = MX8AV_EDECODE;
        break;
      }
      stats[MX8AV_STAT_SEEKS]++;
      avcodec_flush_buffers(v.dec);
      av_frame_unref(held);
      held_ts = AV_NOPTS_VALUE;
      sought = key != INT64_MIN ? key : INT64_MIN;
      last_dts = key != INT64_MIN ? key : INT64_MIN;
      fresh = 1;
      draining = 0;
    }
    /* Seek when the container's keyframe before the next wanted frame lies
       ahead of what was read: decoding up to it would be wasted. */
    int64_t want = wants[next].target;
    if (may_seek && !draining && want > start) {
      /* The index may list decode times (MP4): the keyframe shown at or
         before `want` is the one whose decode time is at or before
         want - delay. */
      int64_t key = keyframe_before(st, want - delay);
      int ahead = last_dts == INT64_MIN ? 1 : key != INT64_MIN && key > last_dts;
      /* Demuxers seek by presentation time (MP4 maps it back to the
         index's decode times). */
      int64_t to = key != INT64_MIN ? key + delay : want;
      if (ahead && av_seek_frame(v.fmt, v.stream, to, AVSEEK_FLAG_BACKWARD) >= 0) {
        avcodec_flush_buffers(v.dec);
        av_frame_unref(held);
        held_ts = AV_NOPTS_VALUE;
        skipped = INT64_MIN;
        sought = key == INT64_MIN ? want : key;
        last_dts = sought;
        fresh = 1;
        stats[MX8AV_STAT_SEEKS]++;
      } else if (ahead) {
        last_dts = want; /* unseekable: decode forward from here */
      }
    }
    int rr;
    if (!draining) {
      rr = av_read_frame(v.fmt, pkt);
      if (rr == AVERROR_EOF || rr == AVERROR(EIO) || rr == AVERROR_INVALIDDATA) {
        draining = 1;
        rr = avcodec_send_packet(v.dec, NULL);
      } else if (rr < 0) {
        set_err(err, err_cap, "read failed after %llu packets: %s", (unsigned long long)packets,
                av_text(rr, t, sizeof t));
        r = rr == AVERROR_EXIT ? MX8AV_ELIMIT : MX8AV_EDECODE;
        break;
      } else {
        if (pkt->stream_index != v.stream) {
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
        if (pkt->dts != AV_NOPTS_VALUE && pkt->dts > last_dts) last_dts = pkt->dts;
        int skip = may_skip && pkt->pts != AV_NOPTS_VALUE && pkt->duration > 0 &&
                   pkt->pts + pkt->duration <= wants[next].target;
        if (skip != skipping) {
          v.dec->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
          skipping = skip;
        }
        if (skip && pkt->pts > skipped) skipped = pkt->pts;
        rr = avcodec_send_packet(v.dec, pkt);
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
      rr = avcodec_receive_frame(v.dec, frame);
      if (rr == AVERROR(EAGAIN)) break;
      if (rr == AVERROR_EOF) {
        if (skipped != INT64_MIN && skipped > held_ts) {
          /* The last frame shown may be a skipped one. */
          redo = 1;
          break;
        }
        /* Drained: wanted frames past the last one get it only within
           tolerance; the clips past it fail, the others are complete. */
        for (; next < n; next++) {
          const Want *w = &wants[next];
          if (status[w->clip] != MX8AV_OK) continue;
          if (held_ts == AV_NOPTS_VALUE) {
            if (err && err[0] == 0) stats[MX8AV_STAT_ERR_CLIP] = w->clip;
            if (err && err[0] == 0)
              set_err(err, err_cap,
                      "no frame decodes from the keyframe before %.3f s to the end (clip frame %u "
                      "of %zu): the file is truncated or shorter than its header says",
                      ticks_seconds(w->target, tb), w->frame + 1, count);
            status[w->clip] = MX8AV_ESHORT;
          } else if (w->target > held_ts + tolerance) {
            if (err && err[0] == 0) stats[MX8AV_STAT_ERR_CLIP] = w->clip;
            if (err && err[0] == 0)
              set_err(err, err_cap,
                      "the video ends at %.3f s but clip frame %u of %zu is at %.3f s: the file "
                      "is truncated or shorter than its header says",
                      ticks_seconds(held_ts, tb), w->frame + 1, count,
                      ticks_seconds(w->target, tb));
            status[w->clip] = MX8AV_ESHORT;
          } else {
            int e = emit(&sink, held, held_ts, w, err, err_cap);
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
      if (ts == AV_NOPTS_VALUE) ts = last_ts == AV_NOPTS_VALUE ? start : last_ts + 1;
      last_ts = ts;
      if (fresh && sought != INT64_MIN && ts > wants[next].target) {
        /* The seek landed after the wanted frame (an index that lists
           decode times, or lies): seek to the keyframe before that one,
           and after a few tries decode from the start without seeking. */
        av_frame_unref(frame);
        int64_t back = ++retries < 4 ? keyframe_before(st, sought - 1) : INT64_MIN;
        int ok = back != INT64_MIN &&
                 av_seek_frame(v.fmt, v.stream, back + delay, AVSEEK_FLAG_BACKWARD) >= 0;
        if (!ok) {
          back = start;
          may_seek = 0;
          ok = av_seek_frame(v.fmt, v.stream, start, AVSEEK_FLAG_BACKWARD) >= 0 ||
               avformat_seek_file(v.fmt, v.stream, INT64_MIN, start, start, 0) >= 0;
        }
        if (!ok) {
          set_err(err, err_cap, "cannot seek back to the start to find the frame at %.3f s",
                  ticks_seconds(wants[next].target, tb));
          r = MX8AV_EDECODE;
          goto done;
        }
        stats[MX8AV_STAT_SEEKS]++;
        avcodec_flush_buffers(v.dec);
        av_frame_unref(held);
        held_ts = AV_NOPTS_VALUE;
        skipped = INT64_MIN;
        sought = back;
        last_dts = back;
        draining = 0;
        break;
      }
      fresh = 0;
      if (skipped != INT64_MIN && next < n && wants[next].target < ts &&
          skipped <= wants[next].target && skipped > held_ts) {
        /* The frame shown at the next wanted time was skipped. */
        av_frame_unref(frame);
        redo = 1;
        break;
      }
      /* Wanted frames before this one are shown by the held (previous)
         frame; one before the very first frame gets the first frame. */
      while (r == MX8AV_OK && next < n && wants[next].target < ts) {
        if (held_ts != AV_NOPTS_VALUE) r = emit(&sink, held, held_ts, &wants[next], err, err_cap);
        else r = emit(&sink, frame, ts, &wants[next], err, err_cap);
        next++;
      }
      while (r == MX8AV_OK && next < n && wants[next].target == ts) {
        r = emit(&sink, frame, ts, &wants[next], err, err_cap);
        next++;
      }
      av_frame_unref(held);
      av_frame_move_ref(held, frame);
      held_ts = ts;
      if (r != MX8AV_OK || next == n) goto done;
    }
    if (draining && rr == AVERROR(EAGAIN)) {
      /* Cannot happen after a flush packet; guard against a spin. */
      set_err(err, err_cap, "decoder stalled while draining");
      r = MX8AV_EDECODE;
    }
  }
done:
  stats[MX8AV_STAT_PACKETS] = (int64_t)packets;
  stats[MX8AV_STAT_TOTAL_NS] = elapsed_ns(started);
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
  sws_freeContext(sink.sws);
  av_frame_free(&held);
  av_frame_free(&frame);
  av_packet_free(&pkt);
  av_free(wants);
  av_free(done);
  video_close(&v);
#ifdef __GLIBC__
  /* The decoder's frame buffers (MiBs each) are back in glibc's arena of
     this thread; give the pages to the system now, or the process keeps
     each worker thread's peak as RSS beyond the loader's byte budget. */
  malloc_trim(0);
#endif
  return first;
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
