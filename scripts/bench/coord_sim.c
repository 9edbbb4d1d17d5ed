/*
 * Native client process of scripts/bench/coordinator.ts (`--sim native`):
 * simulates a share of the nodes against a running coordinator, speaking the
 * Connect protocol (unary POST, application/proto) over h2c with libnghttp2,
 * one connection per node, all in one epoll loop. Same contract with the
 * driver as _coord_worker.ts: argv
 *   --url http://HOST:PORT --node-ids a,b,... --seconds S
 *   --heartbeat-ms H --progress-ms P --step K [--prefetch 1|0]
 *   [--timeline-ms T] [--warmup-ms W] [--content-length 1|0]
 *   [--progress-from send|answer]
 * prints "registered" once every node registered, reads the window start
 * (Unix ms) from stdin, and prints one JSON WorkerReport line at the end:
 * {"hist":{bucket:count},"calls":{method:count},"errors":N,"firstError":"…",
 *  "timeline":{"binMs":T,"bins":[[hb,lease,progress,slow,max_ms],…]},
 *  "starts10":[n,…],"cpuSeconds":C,"runtime":"native (nghttp2 x.y.z)"},
 * starts10 being the RPCs started per 10 ms of the window (how bunched the
 * calls are) and C its own CPU time over the window. Latency buckets are
 * 0.05 ms.
 *
 * Nodes behave as lib/distributed/lease_source.ts: first heartbeat and
 * first RequestLease at a random phase of one heartbeat interval, heartbeat
 * periods of 90-100 % of the interval, lease waits up to 10 % longer than
 * asked, and (--prefetch 1, the default) the next lease requested (want 2)
 * at a random point in [50 %, 90 %) of the current one.
 *
 * Progress reports keep their own pace, as an agent's consumer does (it
 * reports each batch as it finishes it, whenever the previous report was
 * answered): the next one is due one interval after the previous one was
 * sent, or at once when the previous answer came later than that
 * (--progress-from send, the default). --progress-from answer makes it due
 * one interval after the answer instead (the simulator before): every node
 * answered in the same coordinator turn then reports again in the same
 * instant, so each slow turn bunches the reports for the rest of the run.
 *
 * Why: a JS simulator costs the shared 2-core machine more CPU per RPC than
 * the coordinator itself, and its own event-loop delays land in the measured
 * latency. This one costs a few microseconds per RPC.
 *
 * Every request carries `content-length`, as the agents' Connect client
 * (Deno fetch) sends it; --content-length 0 leaves it out (HTTP/2 allows
 * that), which makes the coordinator read the body as a stream.
 *
 * Build: cc -O2 -o coord_sim coord_sim.c -lnghttp2   (Debian: libnghttp2-dev)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUCKET_US 50
#define MAX_BUCKETS 200000 /* 10 s */
#define JOB "bench"

enum method { M_REGISTER, M_HEARTBEAT, M_LEASE, M_PROGRESS, M_COUNT };
static const char *METHOD_PATH[M_COUNT] = {
    "/mx8.v1.Coordinator/RegisterNode", "/mx8.v1.Coordinator/Heartbeat",
    "/mx8.v1.Coordinator/RequestLease", "/mx8.v1.Coordinator/ReportProgress"};
static const char *METHOD_NAME[M_COUNT] = {"register_node", "heartbeat",
                                           "request_lease", "report_progress"};

/* ------------------------------------------------------------ protobuf */

typedef struct {
  uint8_t b[512];
  size_t n;
} buf_t;

static void pb_varint(buf_t *o, uint64_t v) {
  while (v >= 0x80) {
    o->b[o->n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  o->b[o->n++] = (uint8_t)v;
}
static void pb_uint(buf_t *o, int field, uint64_t v) {
  if (v == 0) return;
  pb_varint(o, (uint64_t)field << 3);
  pb_varint(o, v);
}
static void pb_bytes(buf_t *o, int field, const void *p, size_t len) {
  pb_varint(o, ((uint64_t)field << 3) | 2);
  pb_varint(o, len);
  memcpy(o->b + o->n, p, len);
  o->n += len;
}
static void pb_str(buf_t *o, int field, const char *s) {
  pb_bytes(o, field, s, strlen(s));
}

/* Reads one varint; returns 0 on a malformed buffer. */
static int rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t x = 0;
  int shift = 0;
  while (*p < end && shift < 64) {
    uint8_t c = *(*p)++;
    x |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *v = x;
      return 1;
    }
    shift += 7;
  }
  return 0;
}

typedef struct {
  char lease_id[128];
  uint64_t start, end;
  int got;
  uint64_t wait_ms;
} grant_t;

/*
 * Next field of a message: its number, and its value (varint) or bytes
 * (length-delimited, `*v` = length); fixed-width fields are skipped over.
 * Returns 0 at the end or on a malformed buffer.
 */
static int next_field(const uint8_t **p, const uint8_t *end, int *f,
                      uint64_t *v, const uint8_t **bytes) {
  while (*p < end) {
    uint64_t key;
    if (!rd_varint(p, end, &key)) return 0;
    *f = (int)(key >> 3);
    *bytes = NULL;
    switch (key & 7) {
    case 0:
      return rd_varint(p, end, v);
    case 2:
      if (!rd_varint(p, end, v) || *v > (uint64_t)(end - *p)) return 0;
      *bytes = *p;
      *p += *v;
      return 1;
    case 1:
      *p += 8;
      break;
    case 5:
      *p += 4;
      break;
    default:
      return 0;
    }
  }
  return 0;
}

/* WorkRange { uint64 start_id = 1; uint64 end_id = 2; ... } */
static void parse_range(const uint8_t *p, const uint8_t *end, grant_t *g) {
  int f;
  uint64_t v;
  const uint8_t *b;
  while (next_field(&p, end, &f, &v, &b)) {
    if (b) continue;
    if (f == 1) g->start = v;
    if (f == 2) g->end = v;
  }
}

/* Lease { string lease_id = 1; ...; WorkRange range = 3; ... } */
static void parse_lease(const uint8_t *p, const uint8_t *end, grant_t *g) {
  int f;
  uint64_t v;
  const uint8_t *b;
  while (next_field(&p, end, &f, &v, &b)) {
    if (!b) continue;
    if (f == 1 && v < sizeof g->lease_id) {
      memcpy(g->lease_id, b, v);
      g->lease_id[v] = 0;
      g->got = 1;
    } else if (f == 3) {
      parse_range(b, b + v, g);
    }
  }
}

/* RequestLeaseResponse { repeated Lease leases = 1; uint32 wait_ms = 2; } */
static void parse_grant(const uint8_t *p, size_t n, grant_t *g) {
  int f;
  uint64_t v;
  const uint8_t *b, *end = p + n;
  memset(g, 0, sizeof *g);
  while (next_field(&p, end, &f, &v, &b)) {
    if (!b && f == 2) g->wait_ms = v;
    if (b && f == 1 && !g->got) parse_lease(b, b + v, g);
  }
}

/* ------------------------------------------------------------ state */

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
/* Uniform in [0, 1). */
static double rand01(void) { return rand() / ((double)RAND_MAX + 1.0); }
static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct node node_t;

/* One RPC in flight on a stream. */
typedef struct {
  node_t *node;
  enum method m;
  buf_t req;
  size_t sent;
  int status;
  char content_length[24];
  uint8_t body[4096];
  size_t body_n;
  int64_t t0_us;
  int in_window;
  int prefetch; /* M_LEASE: a prefetch of the next lease */
} call_t;

struct node {
  char id[64];
  int fd;
  nghttp2_session *session;
  int want_write;
  int registered;
  /* Heartbeat loop: next send time (µs), or in flight. */
  int64_t next_hb;
  int hb_busy;
  /* Work loop. */
  int64_t next_work;
  int work_busy;
  char lease_id[128];
  uint64_t cursor, end;
  int has_lease;
  /* Prefetch of the next lease (as lib/distributed/lease_source.ts): once
   * the cursor passes prefetch_at, a random point of the lease, request
   * one more lease; at the end of this one, go on with it at once. */
  uint64_t prefetch_at;
  int prefetch_due, pf_busy, prefetched, has_next;
  char next_id[128];
  uint64_t next_start, next_end;
};

static node_t *nodes;
static int n_nodes;
static int epfd;
static int64_t window_start_us = INT64_MAX, window_end_us = INT64_MAX;
static int64_t warmup_us;
static int64_t heartbeat_us = 200000, progress_us = 200000;
static uint64_t step = 10;
static int prefetch = 1;
/* Send content-length with every request (--content-length, default 1). */
static int send_content_length = 1;
/* Next progress report one interval after the previous one was sent (1,
 * as an agent's consumer) or after its answer (0, --progress-from answer). */
static int progress_from_send = 1;
/* RPCs started per 10 ms of the window. */
#define FINE_US 10000
static uint64_t *starts10;
static int starts10_bins;
static uint64_t *hist;
static uint64_t calls[M_COUNT];
/* Timeline (--timeline-ms T > 0): per T ms bin of the window, RPCs started
 * per method, RPCs slower than 5 ms and the slowest (µs), by start time. */
static int64_t timeline_us;
static int timeline_bins;
typedef struct {
  uint64_t started[M_COUNT];
  uint64_t slow;
  int64_t max_us;
} tbin_t;
static tbin_t *timeline;
static uint64_t errors;
static char first_error[256];
static int registered_count;

static int in_window(int64_t t) {
  return t >= window_start_us && t < window_end_us;
}

static void fail(const char *what) {
  fprintf(stderr, "coord_sim: %s\n", what);
  exit(1);
}

/* ------------------------------------------------------------ nghttp2 */

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len,
                       int flags, void *user) {
  (void)s;
  (void)flags;
  node_t *n = user;
  ssize_t w = send(n->fd, data, len, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      n->want_write = 1;
      return NGHTTP2_ERR_WOULDBLOCK;
    }
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return w;
}

static ssize_t read_body_cb(nghttp2_session *s, int32_t stream_id,
                            uint8_t *buf, size_t length, uint32_t *flags,
                            nghttp2_data_source *src, void *user) {
  (void)s;
  (void)stream_id;
  (void)user;
  call_t *c = src->ptr;
  size_t left = c->req.n - c->sent;
  size_t k = left < length ? left : length;
  memcpy(buf, c->req.b + c->sent, k);
  c->sent += k;
  if (c->sent == c->req.n) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)k;
}

static int header_cb(nghttp2_session *s, const nghttp2_frame *frame,
                     const uint8_t *name, size_t namelen, const uint8_t *value,
                     size_t valuelen, uint8_t flags, void *user) {
  (void)flags;
  (void)user;
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  call_t *c = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
  if (c && namelen == 7 && memcmp(name, ":status", 7) == 0) {
    char tmp[8] = {0};
    memcpy(tmp, value, valuelen < 7 ? valuelen : 7);
    c->status = atoi(tmp);
  }
  return 0;
}

static int data_cb(nghttp2_session *s, uint8_t flags, int32_t stream_id,
                   const uint8_t *data, size_t len, void *user) {
  (void)flags;
  (void)user;
  call_t *c = nghttp2_session_get_stream_user_data(s, stream_id);
  if (c && c->body_n + len <= sizeof c->body) {
    memcpy(c->body + c->body_n, data, len);
    c->body_n += len;
  }
  return 0;
}

static void on_done(call_t *c, int ok);

static int close_cb(nghttp2_session *s, int32_t stream_id, uint32_t code,
                    void *user) {
  (void)user;
  call_t *c = nghttp2_session_get_stream_user_data(s, stream_id);
  if (!c) return 0;
  on_done(c, code == 0 && c->status == 200);
  free(c);
  return 0;
}

static call_t *submit(node_t *n, enum method m, buf_t *req) {
  call_t *c = calloc(1, sizeof *c);
  c->node = n;
  c->m = m;
  c->req = *req;
  c->t0_us = now_us();
  c->in_window = in_window(c->t0_us);
  snprintf(c->content_length, sizeof c->content_length, "%zu", req->n);
  nghttp2_nv nva[] = {
#define NV(k, v)                                                              \
  {(uint8_t *)(k), (uint8_t *)(v), sizeof(k) - 1, strlen(v),                  \
   NGHTTP2_NV_FLAG_NONE}
      NV(":method", "POST"),
      NV(":scheme", "http"),
      NV(":authority", "coordinator"),
      NV(":path", METHOD_PATH[m]),
      NV("content-type", "application/proto"),
      NV("connect-protocol-version", "1"),
      NV("content-length", c->content_length),
#undef NV
  };
  nghttp2_data_provider prd = {.source = {.ptr = c}, .read_callback = read_body_cb};
  size_t nvlen = sizeof nva / sizeof nva[0] - (send_content_length ? 0 : 1);
  if (nghttp2_submit_request(n->session, NULL, nva, nvlen,
                             &prd, c) < 0)
    fail("nghttp2_submit_request failed");
  return c;
}

/* ------------------------------------------------------------ node loops */

static void send_register(node_t *n) {
  buf_t b = {.n = 0};
  pb_str(&b, 1, JOB);
  pb_str(&b, 2, n->id);
  submit(n, M_REGISTER, &b);
}
static void send_heartbeat(node_t *n) {
  buf_t b = {.n = 0}, stats = {.n = 0};
  pb_str(&b, 1, JOB);
  pb_str(&b, 2, n->id);
  pb_uint(&b, 3, (uint64_t)wall_ms());
  pb_uint(&stats, 1, 1u << 20); /* inflight_bytes */
  pb_uint(&stats, 5, 2);        /* queue_depth_batches */
  pb_bytes(&b, 4, stats.b, stats.n);
  n->hb_busy = 1;
  submit(n, M_HEARTBEAT, &b);
}
/* want 1 (the node's lease), or 2 (prefetch: the one it holds + one). */
static void send_lease(node_t *n, int is_prefetch) {
  buf_t b = {.n = 0};
  pb_str(&b, 1, JOB);
  pb_str(&b, 2, n->id);
  pb_uint(&b, 3, is_prefetch ? 2 : 1);
  if (is_prefetch) n->pf_busy = 1;
  else n->work_busy = 1;
  submit(n, M_LEASE, &b)->prefetch = is_prefetch;
}

/* Starts a granted lease: cursor at its start, prefetch point drawn in
 * [50 %, 90 %) of it (PREFETCH_FROM/TO of lib/distributed/jitter.ts). */
static void start_lease(node_t *n, const char *id, uint64_t start, uint64_t end) {
  snprintf(n->lease_id, sizeof n->lease_id, "%s", id);
  n->cursor = start;
  n->end = end;
  n->has_lease = 1;
  n->prefetched = 0;
  n->prefetch_at = start + (uint64_t)((double)(end - start) * (0.5 + 0.4 * rand01()));
}
static void send_progress(node_t *n) {
  uint64_t next = n->cursor + step < n->end ? n->cursor + step : n->end;
  buf_t b = {.n = 0};
  pb_str(&b, 1, JOB);
  pb_str(&b, 2, n->id);
  pb_str(&b, 3, n->lease_id);
  pb_uint(&b, 4, next);
  pb_uint(&b, 5, next - n->cursor);
  pb_uint(&b, 6, (next - n->cursor) * 100000);
  n->cursor = next;
  n->work_busy = 1;
  submit(n, M_PROGRESS, &b);
}

static void on_lease(node_t *n, call_t *c, int ok, int64_t t) {
  grant_t g;
  if (ok) parse_grant(c->body, c->body_n, &g);
  if (c->prefetch) {
    n->pf_busy = 0;
    if (ok && g.got) {
      snprintf(n->next_id, sizeof n->next_id, "%s", g.lease_id);
      n->next_start = g.start;
      n->next_end = g.end;
      n->has_next = 1;
    }
    return; /* nothing to prefetch: the lease's end asks again */
  }
  n->work_busy = 0;
  if (ok && g.got) {
    start_lease(n, g.lease_id, g.start, g.end);
    n->next_work = t + progress_us;
  } else if (n->has_next) { /* the prefetch answered first */
    n->has_next = 0;
    start_lease(n, n->next_id, n->next_start, n->next_end);
    n->next_work = t + progress_us;
  } else {
    /* Told to wait: up to 10 % later than asked, as LeaseSource does. */
    int64_t wait = ok && g.wait_ms ? (int64_t)g.wait_ms * 1000 : progress_us;
    n->next_work = t + wait + (int64_t)(wait / 10 * rand01());
  }
}

static void on_done(call_t *c, int ok) {
  node_t *n = c->node;
  int64_t t = now_us();
  if (c->in_window) {
    int64_t f = (c->t0_us - window_start_us) / FINE_US;
    if (f >= 0 && f < starts10_bins) starts10[f]++;
    int64_t b = (t - c->t0_us) / BUCKET_US;
    if (b >= MAX_BUCKETS) b = MAX_BUCKETS - 1;
    hist[b]++;
    calls[c->m]++;
    if (timeline) {
      int64_t k = (c->t0_us - window_start_us) / timeline_us;
      if (k >= 0 && k < timeline_bins) {
        tbin_t *tb = &timeline[k];
        int64_t lat = t - c->t0_us;
        tb->started[c->m]++;
        if (lat > 5000) tb->slow++;
        if (lat > tb->max_us) tb->max_us = lat;
      }
    }
    if (!ok) {
      errors++;
      if (!first_error[0]) {
        snprintf(first_error, sizeof first_error, "%s: HTTP %d %.*s",
                 METHOD_NAME[c->m], c->status, (int)(c->body_n < 120 ? c->body_n : 120),
                 (const char *)c->body);
      }
    }
  }
  switch (c->m) {
  case M_REGISTER:
    if (!ok) fail("RegisterNode failed");
    n->registered = 1;
    registered_count++;
    break;
  case M_HEARTBEAT:
    n->hb_busy = 0;
    /* Next beat 90-100 % of an interval after this one started, as
     * lib/distributed/lease_source.ts (jitteredPeriodMs) does. */
    n->next_hb = c->t0_us + (int64_t)(heartbeat_us * (1 - 0.1 * rand01()));
    if (n->next_hb < t) n->next_hb = t;
    break;
  case M_LEASE:
    on_lease(n, c, ok, t);
    break;
  case M_PROGRESS: {
    /* The consumer's next batch: one interval after this report went out
     * (not later than now), or one interval after its answer. */
    int64_t due = progress_from_send ? c->t0_us + progress_us : t + progress_us;
    if (due < t) due = t;
    n->work_busy = 0;
    if (n->cursor >= n->end) {
      n->has_lease = 0;
      if (n->has_next) { /* go on with the prefetched lease */
        n->has_next = 0;
        start_lease(n, n->next_id, n->next_start, n->next_end);
        n->next_work = due;
      } else {
        n->next_work = t; /* lease the next block at once */
      }
    } else {
      n->next_work = due;
      if (prefetch && !n->prefetched && n->cursor >= n->prefetch_at) {
        n->prefetched = 1;
        n->prefetch_due = 1;
      }
    }
    break;
  }
  default:
    break;
  }
}

/* ------------------------------------------------------------ I/O */

static void flush(node_t *n) {
  int was = n->want_write;
  n->want_write = 0;
  if (nghttp2_session_send(n->session) != 0) fail("nghttp2_session_send failed");
  if (was != n->want_write) { /* only touch epoll when the interest changes */
    struct epoll_event ev = {.events = EPOLLIN | (n->want_write ? EPOLLOUT : 0),
                             .data.ptr = n};
    epoll_ctl(epfd, EPOLL_CTL_MOD, n->fd, &ev);
  }
}

static void on_readable(node_t *n) {
  uint8_t buf[16384];
  for (;;) {
    ssize_t r = recv(n->fd, buf, sizeof buf, 0);
    if (r > 0) {
      if (nghttp2_session_mem_recv(n->session, buf, (size_t)r) < 0)
        fail("nghttp2_session_mem_recv failed");
      continue;
    }
    if (r == 0) fail("coordinator closed a connection");
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    fail("recv failed");
  }
}

static void connect_node(node_t *n, struct sockaddr_in *addr) {
  n->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (n->fd < 0) fail("socket failed");
  if (connect(n->fd, (struct sockaddr *)addr, sizeof *addr) != 0)
    fail("cannot connect to the coordinator");
  int one = 1;
  setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(n->fd, F_SETFL, fcntl(n->fd, F_GETFL) | O_NONBLOCK);
  nghttp2_session_callbacks *cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
  nghttp2_session_callbacks_set_on_header_callback(cbs, header_cb);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, data_cb);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, close_cb);
  nghttp2_session_client_new(&n->session, cbs, n);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
  nghttp2_submit_settings(n->session, NGHTTP2_FLAG_NONE, iv, 1);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = n};
  epoll_ctl(epfd, EPOLL_CTL_ADD, n->fd, &ev);
}

/* Runs the loop until `until_us`, or (until_us = 0) until `registered_target` nodes registered. */
static int registered_target;
static void run(int64_t until_us) {
  struct epoll_event evs[256];
  for (;;) {
    int64_t t = now_us();
    if (until_us == 0 ? registered_count >= registered_target : t >= until_us) return;
    int64_t next = until_us ? until_us : t + 100000;
    if (until_us) {
      for (int i = 0; i < n_nodes; i++) {
        node_t *n = &nodes[i];
        if (!n->hb_busy) {
          if (n->next_hb <= t) send_heartbeat(n);
          else if (n->next_hb < next) next = n->next_hb;
        }
        if (n->prefetch_due && !n->pf_busy) {
          n->prefetch_due = 0;
          send_lease(n, 1);
        }
        if (!n->work_busy) {
          if (n->next_work <= t) {
            if (n->has_lease) send_progress(n);
            else send_lease(n, 0);
          } else if (n->next_work < next) next = n->next_work;
        }
      }
    }
    for (int i = 0; i < n_nodes; i++) {
      if (!nodes[i].want_write && nghttp2_session_want_write(nodes[i].session))
        flush(&nodes[i]);
    }
    /* Sleep until the next deadline, rounded up to whole ms: never spin. */
    int64_t wait = (next - now_us() + 999) / 1000;
    int k = epoll_wait(epfd, evs, 256, wait < 0 ? 0 : (int)wait);
    for (int i = 0; i < k; i++) {
      node_t *n = evs[i].data.ptr;
      if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(n);
      if (evs[i].events & EPOLLOUT) n->want_write = 0;
      if (nghttp2_session_want_write(n->session)) flush(n);
    }
  }
}

/* ------------------------------------------------------------ main */

static const char *arg(int argc, char **argv, const char *name, const char *dflt) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return dflt;
}

int main(int argc, char **argv) {
  const char *url = arg(argc, argv, "--url", NULL);
  const char *ids = arg(argc, argv, "--node-ids", NULL);
  if (!url || !ids) fail("usage: coord_sim --url http://HOST:PORT --node-ids a,b,...");
  double seconds = atof(arg(argc, argv, "--seconds", "10"));
  heartbeat_us = (int64_t)(atof(arg(argc, argv, "--heartbeat-ms", "200")) * 1000);
  progress_us = (int64_t)(atof(arg(argc, argv, "--progress-ms", "200")) * 1000);
  step = strtoull(arg(argc, argv, "--step", "10"), NULL, 10);
  timeline_us = (int64_t)(atof(arg(argc, argv, "--timeline-ms", "0")) * 1000);
  warmup_us = (int64_t)(atof(arg(argc, argv, "--warmup-ms", "0")) * 1000);
  prefetch = atoi(arg(argc, argv, "--prefetch", "1"));
  send_content_length = atoi(arg(argc, argv, "--content-length", "1"));
  const char *from = arg(argc, argv, "--progress-from", "send");
  if (strcmp(from, "send") != 0 && strcmp(from, "answer") != 0)
    fail("--progress-from must be send or answer");
  progress_from_send = strcmp(from, "send") == 0;

  char host[256];
  int port;
  if (sscanf(url, "http://%255[^:]:%d", host, &port) != 2)
    fail("--url must be http://HOST:PORT");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) fail("--url host must be an IPv4 address");

  char *list = strdup(ids);
  n_nodes = 1;
  for (char *p = list; *p; p++) n_nodes += *p == ',';
  nodes = calloc((size_t)n_nodes, sizeof *nodes);
  hist = calloc(MAX_BUCKETS, sizeof *hist);
  epfd = epoll_create1(0);
  int i = 0;
  for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
    snprintf(nodes[i].id, sizeof nodes[i].id, "%s", tok);
    connect_node(&nodes[i], &addr);
    i++;
  }
  n_nodes = i;
  for (i = 0; i < n_nodes; i += 64) {
    for (int k = i; k < n_nodes && k < i + 64; k++) send_register(&nodes[k]);
    registered_target = i + 64 < n_nodes ? i + 64 : n_nodes;
    run(0);
  }
  printf("registered\n");
  fflush(stdout);

  char line[64];
  if (!fgets(line, sizeof line, stdin)) fail("no window start on stdin");
  int64_t start_wall = strtoll(line, NULL, 10);
  int64_t delay_us = (start_wall - wall_ms()) * 1000;
  window_start_us = now_us() + (delay_us > 0 ? delay_us : 0);
  window_end_us = window_start_us + (int64_t)(seconds * 1e6);
  starts10_bins = (int)((window_end_us - window_start_us + FINE_US - 1) / FINE_US);
  starts10 = calloc((size_t)starts10_bins, sizeof *starts10);
  if (timeline_us > 0) {
    timeline_bins = (int)((window_end_us - window_start_us + timeline_us - 1) / timeline_us);
    timeline = calloc((size_t)timeline_bins, sizeof *timeline);
  }
  /* As lib/distributed/lease_source.ts: each node's first heartbeat and
   * first RequestLease at a random phase of one heartbeat interval. */
  srand((unsigned)getpid());
  /* Traffic starts --warmup-ms before the measured window (first grants,
   * cold JIT): those calls are made but not recorded. */
  int64_t traffic_start_us = window_start_us - warmup_us;
  for (i = 0; i < n_nodes; i++) {
    nodes[i].next_hb = traffic_start_us + (int64_t)(heartbeat_us * rand01());
    nodes[i].next_work = traffic_start_us + (int64_t)(heartbeat_us * rand01());
  }
  /* Wait for the window, then measure own CPU across it. */
  run(window_start_us);
  double cpu0 = cpu_seconds();
  run(window_end_us);
  double cpu = cpu_seconds() - cpu0;

  printf("{\"hist\":{");
  int first = 1;
  for (int b = 0; b < MAX_BUCKETS; b++) {
    if (!hist[b]) continue;
    printf("%s\"%d\":%llu", first ? "" : ",", b, (unsigned long long)hist[b]);
    first = 0;
  }
  printf("},\"calls\":{");
  first = 1;
  for (int m = 0; m < M_COUNT; m++) {
    if (!calls[m]) continue;
    printf("%s\"%s\":%llu", first ? "" : ",", METHOD_NAME[m], (unsigned long long)calls[m]);
    first = 0;
  }
  printf("},\"errors\":%llu", (unsigned long long)errors);
  if (first_error[0]) {
    printf(",\"firstError\":\"");
    for (const char *p = first_error; *p; p++) {
      if (*p == '"' || *p == '\\') putchar('\\');
      if ((unsigned char)*p >= 0x20) putchar(*p);
    }
    printf("\"");
  }
  if (timeline) {
    printf(",\"timeline\":{\"binMs\":%.3f,\"bins\":[", timeline_us / 1000.0);
    for (int b = 0; b < timeline_bins; b++) {
      tbin_t *tb = &timeline[b];
      printf("%s[%llu,%llu,%llu,%llu,%.2f]", b ? "," : "",
             (unsigned long long)tb->started[M_HEARTBEAT],
             (unsigned long long)tb->started[M_LEASE],
             (unsigned long long)tb->started[M_PROGRESS],
             (unsigned long long)tb->slow, tb->max_us / 1000.0);
    }
    printf("]}");
  }
  printf(",\"starts10\":[");
  for (int b = 0; b < starts10_bins; b++)
    printf("%s%llu", b ? "," : "", (unsigned long long)starts10[b]);
  printf("]");
  printf(",\"cpuSeconds\":%.4f", cpu);
  printf(",\"runtime\":\"native (nghttp2 %s)\"}\n", nghttp2_version(0)->version_str);
  fflush(stdout);
  return 0;
}
