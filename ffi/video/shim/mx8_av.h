/*
 * mx8_av: a flat, versioned C API over FFmpeg (libavformat, libavcodec,
 * libswscale, libavutil) for MX8's video clips. Compiled against the
 * system's FFmpeg headers by build.rs, so no FFmpeg struct layout is ever
 * copied into Rust: only integers, doubles and byte buffers cross.
 *
 * Every function is reentrant (no global state but a counter of live
 * sessions); a session is used by one thread at a time, so calls on
 * different threads never share FFmpeg objects.
 */
#ifndef MX8_AV_H
#define MX8_AV_H

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever a signature or the meaning of an output slot changes. */
#define MX8AV_ABI 3

/* Result codes (mirrored by ffi/video/src/status.rs). */
#define MX8AV_OK 0
#define MX8AV_EARG 1      /* bad argument (count 0, size 0, …) */
#define MX8AV_EOPEN 2     /* the container could not be opened or parsed */
#define MX8AV_ENOSTREAM 3 /* no video stream */
#define MX8AV_ECODEC 4    /* no decoder for the codec, or it failed to open */
#define MX8AV_EDECODE 5   /* a read or decode error the clip cannot go past */
#define MX8AV_ELIMIT 6    /* the per-clip packet or time limit was reached */
#define MX8AV_ESHORT 7    /* the video ends before a frame the clip wants */
#define MX8AV_ENOMEM 8    /* an FFmpeg allocation failed */

/* Probe output slots (int64_t out[MX8AV_PROBE_SLOTS]). */
#define MX8AV_PROBE_TB_NUM 0
#define MX8AV_PROBE_TB_DEN 1
#define MX8AV_PROBE_FR_NUM 2     /* average frame rate (0/1 when unknown) */
#define MX8AV_PROBE_FR_DEN 3
#define MX8AV_PROBE_FRAMES 4     /* frame count the container states, 0 if none */
#define MX8AV_PROBE_WIDTH 5
#define MX8AV_PROBE_HEIGHT 6
#define MX8AV_PROBE_START 7      /* first timestamp, time-base ticks */
#define MX8AV_PROBE_DURATION 8   /* duration, time-base ticks */
#define MX8AV_PROBE_KEYFRAMES 9  /* keyframes in the container index (may exceed keys_cap) */
#define MX8AV_PROBE_INDEXED 10   /* index entries (all frames for MP4, cues for MKV) */
#define MX8AV_PROBE_SLOTS 12

/* Decode statistics slots (int64_t stats[MX8AV_STAT_SLOTS]). */
#define MX8AV_STAT_PACKETS 0   /* packets sent to the decoder */
#define MX8AV_STAT_DECODED 1   /* frames decoded */
#define MX8AV_STAT_SCALED 2    /* frames resized into the output */
#define MX8AV_STAT_COPIED 3    /* wanted frames copied from one already scaled */
#define MX8AV_STAT_SEEKS 4     /* seeks */
#define MX8AV_STAT_OPEN_NS 5   /* opening the container and the decoder */
#define MX8AV_STAT_SCALE_NS 6  /* resizing (on the resize thread, if the pass has one) */
#define MX8AV_STAT_TOTAL_NS 7  /* the whole call */
#define MX8AV_STAT_ERR_CLIP 8  /* the clip `err` is about (-1: none) */
#define MX8AV_STAT_SLOTS 10

/* ABI version of this shim (MX8AV_ABI). */
uint32_t mx8av_abi(void);

/*
 * FFmpeg's own log (process-wide): quiet (0, MX8 reports every error
 * itself) or warnings and errors on stderr (1).
 */
void mx8av_set_log(int verbose);

/*
 * FFmpeg library versions: out[0..4] the major versions compiled against
 * (avformat, avcodec, swscale, avutil), out[4..8] those loaded at run time.
 */
void mx8av_versions(uint32_t out[8]);

/*
 * Reads a video's index from its bytes: no frame is decoded beyond what
 * avformat_find_stream_info needs. keys receives up to keys_cap keyframe
 * timestamps (time-base ticks) from the container index.
 */
int mx8av_probe(const uint8_t *data, size_t len, int64_t *out, char *codec,
                size_t codec_cap, int64_t *keys, size_t keys_cap, char *err,
                size_t err_cap);

/*
 * mx8av_probe from a file path: FFmpeg reads only the header and the index
 * (an MP4's moov wherever it lies), so indexing costs what reading the
 * headers costs.
 */
int mx8av_probe_file(const char *path, int64_t *out, char *codec, size_t codec_cap,
                     int64_t *keys, size_t keys_cap, char *err, size_t err_cap);

/*
 * Decodes one clip: for each target timestamp (time-base ticks, ascending)
 * the frame shown at that time (the last frame whose best_effort_timestamp
 * is <= the target), scaled to width x height RGB24 into
 * out + i * height * width * 3. out_pts receives each chosen frame's
 * timestamp. tolerance (ticks, usually one frame duration) is how far past
 * the last frame a target may lie. threads: decoder threads (0 = 1).
 * max_packets / max_seconds (0 = no limit) bound the work of one clip.
 * mx8av_decode_clip is this with one clip.
 *
 * mx8av_decode_clips decodes several clips of one video in one pass: one open, the wanted
 * frames of all clips merged in time order, each frame decoded once (a seek
 * only where the container's keyframe before the next wanted frame lies
 * ahead of what was read), each distinct frame scaled once (a frame wanted
 * by two overlapping clips is copied). targets: n_clips rows of count
 * ticks, each row ascending. Clip k goes to out + slots[k] * count * height
 * * width * 3 (out_pts, NULL or indexed the same way, gets each chosen
 * frame's timestamp). status[k] receives clip k's result (a clip past the
 * end fails alone with MX8AV_ESHORT; a failure that stops the pass fails
 * every unfinished clip); err the message about clip stats[ERR_CLIP].
 * max_packets / max_seconds are per clip (the pass gets n_clips times
 * each). stats (NULL or MX8AV_STAT_SLOTS) receives counters and times.
 * Returns MX8AV_OK when every clip decoded, else the first failed clip's
 * code.
 */
int mx8av_decode_clips(const uint8_t *data, size_t len, const int64_t *targets, size_t n_clips,
                       size_t count, int64_t tolerance, uint32_t height, uint32_t width,
                       uint8_t *out, const uint32_t *slots, uint32_t threads,
                       uint64_t max_packets, double max_seconds, int32_t *status,
                       int64_t *out_pts, int64_t *stats, char *err, size_t err_cap);

/*
 * A session: one video's decoder kept open across passes (batches), so a
 * pass whose first wanted frame lies after where the last one stopped goes
 * on decoding forward, with no seek and no GOP lead-in decoded again.
 * mx8av_session_open copies the video's bytes when `copy` is set (else
 * they must outlive the session) and opens nothing yet (the first pass
 * opens the container and the decoder with `threads` threads; NULL: out of
 * memory or no bytes). A session keeps the last `count` frames it scaled
 * (height x width RGB24; the overlap of one batch's last clip with the
 * next's first), so a pass that starts at most that far behind the
 * decoder still needs no seek; one that starts further behind, or follows
 * a failed pass or the end of the video, opens the video again.
 * mx8av_session_decode is mx8av_decode_clips on the session (same
 * arguments and results; one pass at a time). mx8av_session_close frees
 * everything; mx8av_session_live counts the sessions open in the process.
 */
typedef struct Mx8avSession Mx8avSession;

Mx8avSession *mx8av_session_open(const uint8_t *data, size_t len, int copy, uint32_t threads);

int mx8av_session_decode(Mx8avSession *s, const int64_t *targets, size_t n_clips, size_t count,
                         int64_t tolerance, uint32_t height, uint32_t width, uint8_t *out,
                         const uint32_t *slots, uint64_t max_packets, double max_seconds,
                         int32_t *status, int64_t *out_pts, int64_t *stats, char *err,
                         size_t err_cap);

void mx8av_session_close(Mx8avSession *s);

long mx8av_session_live(void);

int mx8av_decode_clip(const uint8_t *data, size_t len, const int64_t *targets,
                      size_t count, int64_t tolerance, uint32_t height,
                      uint32_t width, uint8_t *out, uint32_t threads,
                      uint64_t max_packets, double max_seconds,
                      int64_t *out_pts, char *err, size_t err_cap);

#endif
