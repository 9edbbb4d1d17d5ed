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

int mx8av_probe(const uint8_t *data, size_t len, int64_t *out, char *codec,
                size_t codec_cap, int64_t *keys, size_t keys_cap, char *err,
                size_t err_cap) {
  if (!data || len == 0 || !out) return set_err(err, err_cap, "empty input"), MX8AV_EARG;
  Video v;
  int r = video_open(&v, data, len, 1, 0, err, err_cap);
  if (r != MX8AV_OK) {
    video_close(&v);
    return r;
  }
  AVStream *st = v.fmt->streams[v.stream];
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
    duration = v.fmt->duration != AV_NOPTS_VALUE
                   ? av_rescale_q(v.fmt->duration, AV_TIME_BASE_Q, st->time_base)
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
  video_close(&v);
  return MX8AV_OK;
}

/* ---- clip decode ------------------------------------------------------- */

typedef struct {
  struct SwsContext *sws;
  uint32_t height, width;
  uint8_t *out;
  int64_t *out_pts;
} Sink;

/* Writes `frame` as clip frame `i` (scaled RGB24). */
static int emit(Sink *s, const AVFrame *frame, int64_t ts, size_t i, char *err, size_t err_cap) {
  size_t plane = (size_t)s->height * s->width * 3;
  uint8_t *dst = s->out + i * plane;
  s->sws = sws_getCachedContext(s->sws, frame->width, frame->height, frame->format, (int)s->width,
                                (int)s->height, AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL, NULL);
  if (!s->sws) {
    set_err(err, err_cap, "swscale cannot convert %dx%d %s to %ux%u rgb24", frame->width,
            frame->height, av_get_pix_fmt_name(frame->format), s->width, s->height);
    return MX8AV_EDECODE;
  }
  uint8_t *planes[4] = {dst, NULL, NULL, NULL};
  int strides[4] = {(int)s->width * 3, 0, 0, 0};
  sws_scale(s->sws, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height, planes,
            strides);
  if (s->out_pts) s->out_pts[i] = ts;
  return MX8AV_OK;
}

static double ticks_seconds(int64_t ticks, AVRational tb) { return (double)ticks * av_q2d(tb); }

int mx8av_decode_clip(const uint8_t *data, size_t len, const int64_t *targets,
                      size_t count, int64_t tolerance, uint32_t height,
                      uint32_t width, uint8_t *out, uint32_t threads,
                      uint64_t max_packets, double max_seconds,
                      int64_t *out_pts, char *err, size_t err_cap) {
  char t[128];
  if (!data || len == 0) return set_err(err, err_cap, "empty input"), MX8AV_EARG;
  if (!targets || count == 0 || !out || height == 0 || width == 0)
    return set_err(err, err_cap, "a clip needs at least one target and a non-empty output"), MX8AV_EARG;
  for (size_t i = 1; i < count; i++) {
    if (targets[i] < targets[i - 1])
      return set_err(err, err_cap, "clip timestamps must ascend: %lld after %lld",
                     (long long)targets[i], (long long)targets[i - 1]),
             MX8AV_EARG;
  }
  Video v;
  Sink sink = {NULL, height, width, out, out_pts};
  AVPacket *pkt = av_packet_alloc();
  AVFrame *frame = av_frame_alloc();
  AVFrame *held = av_frame_alloc();
  int64_t held_ts = AV_NOPTS_VALUE;
  int r = (!pkt || !frame || !held) ? MX8AV_ENOMEM : MX8AV_OK;
  if (r != MX8AV_OK) set_err(err, err_cap, "out of memory (frames)");
  double started = now_seconds();
  if (r == MX8AV_OK) {
    r = video_open(&v, data, len, 0, max_seconds > 0 ? started + max_seconds : 0, err, err_cap);
  } else {
    memset(&v, 0, sizeof v);
  }
  if (r == MX8AV_OK) r = decoder_open(&v, threads, err, err_cap);
  AVRational tb = r == MX8AV_OK ? v.fmt->streams[v.stream]->time_base : (AVRational){1, 1};
  int64_t start = 0;
  if (r == MX8AV_OK && v.fmt->streams[v.stream]->start_time != AV_NOPTS_VALUE)
    start = v.fmt->streams[v.stream]->start_time;
  int seeked = 0, retried = 0, draining = 0;
  if (r == MX8AV_OK && targets[0] > start) {
    /* The keyframe at or before the clip's first frame. */
    if (av_seek_frame(v.fmt, v.stream, targets[0], AVSEEK_FLAG_BACKWARD) >= 0) seeked = 1;
  }
  size_t next = 0;
  uint64_t packets = 0;
  int64_t last_ts = AV_NOPTS_VALUE;
  while (r == MX8AV_OK && next < count) {
    if (max_seconds > 0 && now_seconds() - started > max_seconds) {
      set_err(err, err_cap, "clip exceeded its time limit of %.3f s after %llu packets (frame %zu of %zu)",
              max_seconds, (unsigned long long)packets, next, count);
      r = MX8AV_ELIMIT;
      break;
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
        if (max_packets > 0 && ++packets > max_packets) {
          av_packet_unref(pkt);
          set_err(err, err_cap, "clip exceeded its limit of %llu decoded packets (frame %zu of %zu)",
                  (unsigned long long)max_packets, next, count);
          r = MX8AV_ELIMIT;
          break;
        }
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
        /* Drained: targets past the last frame get it only within tolerance. */
        for (; next < count && r == MX8AV_OK; next++) {
          if (held_ts == AV_NOPTS_VALUE) {
            set_err(err, err_cap,
                    "no frame decodes from the keyframe before %.3f s to the end (clip frame %zu of "
                    "%zu): the file is truncated or shorter than its header says",
                    ticks_seconds(targets[next], tb), next + 1, count);
            r = MX8AV_ESHORT;
            break;
          }
          if (targets[next] > held_ts + tolerance) {
            set_err(err, err_cap,
                    "the video ends at %.3f s but clip frame %zu of %zu is at %.3f s: the file is "
                    "truncated or shorter than its header says",
                    ticks_seconds(held_ts, tb), next + 1, count, ticks_seconds(targets[next], tb));
            r = MX8AV_ESHORT;
            break;
          }
          r = emit(&sink, held, held_ts, next, err, err_cap);
        }
        if (r == MX8AV_OK && next < count) r = MX8AV_ESHORT;
        goto done;
      }
      if (rr < 0) {
        set_err(err, err_cap, "decode failed: %s", av_text(rr, t, sizeof t));
        r = MX8AV_EDECODE;
        goto done;
      }
      int64_t ts = frame->best_effort_timestamp;
      if (ts == AV_NOPTS_VALUE) ts = frame->pts;
      if (ts == AV_NOPTS_VALUE) ts = last_ts == AV_NOPTS_VALUE ? start : last_ts + 1;
      last_ts = ts;
      if (held_ts == AV_NOPTS_VALUE && seeked && !retried && ts > targets[0]) {
        /* The seek landed after the clip's first frame (a lying index):
           decode from the start instead. */
        retried = 1;
        av_frame_unref(frame);
        if (av_seek_frame(v.fmt, v.stream, start, AVSEEK_FLAG_BACKWARD) < 0 &&
            avformat_seek_file(v.fmt, v.stream, INT64_MIN, start, start, 0) < 0) {
          set_err(err, err_cap, "cannot seek back to the start to find the frame at %.3f s",
                  ticks_seconds(targets[0], tb));
          r = MX8AV_EDECODE;
          goto done;
        }
        avcodec_flush_buffers(v.dec);
        draining = 0;
        break;
      }
      /* Targets before this frame are shown by the held (previous) frame;
         a target before the very first frame gets the first frame. */
      while (r == MX8AV_OK && next < count && targets[next] < ts) {
        if (held_ts != AV_NOPTS_VALUE) r = emit(&sink, held, held_ts, next, err, err_cap);
        else r = emit(&sink, frame, ts, next, err, err_cap);
        next++;
      }
      while (r == MX8AV_OK && next < count && targets[next] == ts) {
        r = emit(&sink, frame, ts, next, err, err_cap);
        next++;
      }
      av_frame_unref(held);
      av_frame_move_ref(held, frame);
      held_ts = ts;
      if (r != MX8AV_OK || next == count) goto done;
    }
    if (draining && rr == AVERROR(EAGAIN)) {
      /* Cannot happen after a flush packet; guard against a spin. */
      set_err(err, err_cap, "decoder stalled while draining");
      r = MX8AV_EDECODE;
    }
  }
done:
  if (r == MX8AV_ESHORT && err && err_cap > 0 && err[0] == 0)
    set_err(err, err_cap, "the video ends before clip frame %zu of %zu", next + 1, count);
  sws_freeContext(sink.sws);
  av_frame_free(&held);
  av_frame_free(&frame);
  av_packet_free(&pkt);
  video_close(&v);
  return r;
}
