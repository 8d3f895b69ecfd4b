/* tug-monitor: Tugboat's per-container monitor (its conmon), a C port of
 * ../monitor.py with the same command line, config file, sync protocol, runc
 * invocation, json-file log lines, attach socket protocol and exit.json.
 * monitor.py is the specification: keep the two in step (the unit tests in
 * tests/unit/runtime run both and compare their log output byte for byte).
 * In step with monitor.py sha256 634dae612aae0647 (test_rt_monitor_c checks it: after a
 * change to monitor.py, port it here, then update this hash).
 *
 * Usage: tug-monitor <bundle>/monitor.conf
 * Build: gcc -O2 -Wall -Wextra -Werror -o tug-monitor tug-monitor.c  (C11, libc only)
 *
 * Life cycle (see monitor.py's docstring for the details):
 * 1. fork; the parent exits at once and the child calls setsid.
 * 2. PR_SET_CHILD_SUBREAPER, so the container's init becomes our child.
 * 3. stdio pipes (or a pty received on a console socket), the attach socket,
 *    `runc create`, then "ok <init pid>" or "error <message>" on the sync fd.
 * 4. epoll loop: output -> json-file log + attach clients (b"\x01"/b"\x02" +
 *    data); client packets -> container stdin; SIGCHLD -> reap.
 * 5. init exited: drain output to EOF (at most 3 s), write exit.json
 *    atomically, flush and close attach clients, exit.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_SIZE (32 * 1024)
#define PACKET_MAX (256 * 1024)
#define MAX_LINE (16 * 1024)
#define CLIENT_HIGH_WATER ((size_t)4 << 20)
#define DRAIN_TIMEOUT 3.0
#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#endif

extern char **environ;

/* ---------------------------------------------------------------- buffers */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void die_oom(void)
{
    static const char m[] = "monitor: out of memory\n";
    if (write(2, m, sizeof m - 1) < 0) {
    }
    _exit(1);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die_oom();
    return q;
}

static void buf_reserve(buf_t *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + extra + 1)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
}

static void buf_add(buf_t *b, const void *d, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_adds(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_addc(buf_t *b, char c) { buf_add(b, &c, 1); }

static void buf_printf(buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof tmp) {
        buf_add(b, tmp, (size_t)n);
    } else if (n >= 0) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

static void buf_consume(buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->p, b->p + n, b->len - n);
        b->len -= n;
    }
    if (b->p)
        b->p[b->len] = 0;
}

static void buf_free(buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* --------------------------------------------------------- python-isms */

/* The exception classes Python gives an OSError of this errno. */
static const char *exc_name(int e)
{
    switch (e) {
    case ENOENT: return "FileNotFoundError";
    case EEXIST: return "FileExistsError";
    case EACCES: case EPERM: return "PermissionError";
    case ENOTDIR: return "NotADirectoryError";
    case EISDIR: return "IsADirectoryError";
    case EAGAIN: case EALREADY: case EINPROGRESS: return "BlockingIOError";
    case ECHILD: return "ChildProcessError";
    case ESRCH: return "ProcessLookupError";
    case EINTR: return "InterruptedError";
    case ETIMEDOUT: return "TimeoutError";
    case EPIPE: case ESHUTDOWN: return "BrokenPipeError";
    case ECONNREFUSED: return "ConnectionRefusedError";
    case ECONNRESET: return "ConnectionResetError";
    case ECONNABORTED: return "ConnectionAbortedError";
    default: return "OSError";
    }
}

/* str(OSError): "[Errno N] strerror" plus ": 'filename'" when Python sets one. */
static void os_error_str(buf_t *b, int e, const char *filename, const char *filename2)
{
    buf_printf(b, "[Errno %d] %s", e, strerror(e));
    if (filename) {
        buf_printf(b, ": '%s'", filename);
        if (filename2)
            buf_printf(b, " -> '%s'", filename2);
    }
}

/* The config's value escaping (tugd writes it with the same rules). */
static void escape_into(buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_adds(b, "\\\\");
        else if (*s == '\n')
            buf_adds(b, "\\n");
        else
            buf_addc(b, *s);
    }
}

static char *unescape(const char *s, size_t n)
{
    buf_t out = {0};
    buf_reserve(&out, n);
    for (size_t i = 0; i < n;) {
        if (s[i] == '\\' && i + 1 < n) {
            buf_addc(&out, s[i + 1] == 'n' ? '\n' : s[i + 1]);
            i += 2;
            continue;
        }
        buf_addc(&out, s[i]);
        i++;
    }
    return out.p;
}

/* Decode UTF-8 as Python's bytes.decode("utf-8", "replace") does (each maximal
 * ill-formed subsequence becomes one U+FFFD) and re-encode as UTF-8. */
static void utf8_replace(buf_t *out, const unsigned char *s, size_t n)
{
    static const char repl[] = "\xef\xbf\xbd";
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            size_t j = i + 1;
            while (j < n && s[j] < 0x80)
                j++;
            buf_add(out, s + i, j - i);
            i = j;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            buf_add(out, repl, 3);
            i++;
            continue;
        }
        size_t k = 1;
        int ok = 1;
        for (; k <= need; k++) {
            if (i + k >= n) {
                ok = 0;
                break;
            }
            unsigned d = s[i + k];
            unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
            if (d < l || d > h) {
                ok = 0;
                break;
            }
        }
        if (ok) {
            buf_add(out, s + i, need + 1);
            i += need + 1;
        } else {
            buf_add(out, repl, 3);
            i += k; /* the valid prefix; the offending byte starts anew */
        }
    }
}

/* _json.encode_basestring (ensure_ascii=False) of valid UTF-8 text. */
static void json_str(buf_t *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_reserve(out, n + 2);
    buf_addc(out, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_add(out, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': buf_adds(out, "\\\""); break;
        case '\\': buf_adds(out, "\\\\"); break;
        case '\b': buf_adds(out, "\\b"); break;
        case '\f': buf_adds(out, "\\f"); break;
        case '\n': buf_adds(out, "\\n"); break;
        case '\r': buf_adds(out, "\\r"); break;
        case '\t': buf_adds(out, "\\t"); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_add(out, e, 6);
        }
        }
    }
    buf_add(out, s + start, n - start);
    buf_addc(out, '"');
}

static int64_t time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Go's RFC3339Nano in UTC, trailing zeros trimmed, as Docker's json-file writes. */
static void log_time(buf_t *out, int64_t ns)
{
    int64_t secs = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[64];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    buf_adds(out, base);
    if (frac) {
        char f[16];
        snprintf(f, sizeof f, ".%09lld", (long long)frac);
        size_t l = strlen(f);
        while (l > 1 && f[l - 1] == '0')
            l--;
        buf_add(out, f, l);
    }
    buf_addc(out, 'Z');
}

static int set_blocking(int fd, int blocking)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    fl = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl);
}

static int set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

static ssize_t read_retry(int fd, void *p, size_t n)
{
    ssize_t r;
    do
        r = read(fd, p, n);
    while (r < 0 && errno == EINTR);
    return r;
}

static ssize_t write_retry(int fd, const void *p, size_t n)
{
    ssize_t r;
    do
        r = write(fd, p, n);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Everything readable now from a non-blocking fd (used after runc fails). */
static void read_available(int fd, buf_t *out)
{
    char tmp[READ_SIZE];
    for (;;) {
        ssize_t r = read_retry(fd, tmp, sizeof tmp);
        if (r <= 0)
            return;
        if (out)
            buf_add(out, tmp, (size_t)r);
    }
}

static int read_file(const char *path, buf_t *out)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -1;
    char tmp[8192];
    for (;;) {
        ssize_t r = read_retry(fd, tmp, sizeof tmp);
        if (r < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        buf_add(out, tmp, (size_t)r);
    }
    close(fd);
    if (!out->p)
        buf_reserve(out, 0);
    return 0;
}

/* ------------------------------------------------------------------ config */

typedef struct {
    char *key, *val;
} kv_t;

static kv_t *cfg;
static size_t ncfg;
static char **oom_files;
static size_t noom;

/* "key=value" lines; oom_file may repeat; "1"/"0" are booleans to the reader. */
static int load_config(const char *path)
{
    buf_t data = {0};
    if (read_file(path, &data) < 0)
        return -1;
    /* monitor.py reads it in text mode: universal newlines ("\r\n" and "\r" are "\n") */
    size_t w = 0;
    for (size_t i = 0; i < data.len; i++) {
        if (data.p[i] == '\r') {
            data.p[w++] = '\n';
            if (i + 1 < data.len && data.p[i + 1] == '\n')
                i++;
        } else {
            data.p[w++] = data.p[i];
        }
    }
    data.len = w;
    char *p = data.p, *end = data.p + data.len;
    while (p <= end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        if (le > p) {
            char *eq = memchr(p, '=', (size_t)(le - p));
            size_t klen = eq ? (size_t)(eq - p) : (size_t)(le - p);
            char *key = xrealloc(NULL, klen + 1);
            memcpy(key, p, klen);
            key[klen] = 0;
            char *val = eq ? unescape(eq + 1, (size_t)(le - eq - 1)) : unescape("", 0);
            if (strcmp(key, "oom_file") == 0) {
                oom_files = xrealloc(oom_files, (noom + 1) * sizeof *oom_files);
                oom_files[noom++] = val;
                free(key);
            } else {
                size_t i;
                for (i = 0; i < ncfg; i++)
                    if (strcmp(cfg[i].key, key) == 0)
                        break;
                if (i < ncfg) {
                    free(cfg[i].val);
                    cfg[i].val = val;
                    free(key);
                } else {
                    cfg = xrealloc(cfg, (ncfg + 1) * sizeof *cfg);
                    cfg[ncfg].key = key;
                    cfg[ncfg].val = val;
                    ncfg++;
                }
            }
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    buf_free(&data);
    return 0;
}

static const char *cfg_get(const char *key)
{
    for (size_t i = 0; i < ncfg; i++)
        if (strcmp(cfg[i].key, key) == 0)
            return cfg[i].val;
    return NULL;
}

static buf_t err; /* the error message of a failed set-up step */

/* cfg[key] inside the reported set-up: a missing key is Python's KeyError. */
static const char *cfg_need(const char *key)
{
    const char *v = cfg_get(key);
    if (!v && !err.len)
        buf_printf(&err, "monitor: KeyError: '%s'", key);
    return v;
}

/* -------------------------------------------------------------------- log */

static const char *const STREAMS[3] = {"", "stdout", "stderr"};

/* Rotation as monitor.py's LogWriter: max_size > 0 splits a batch at record
 * boundaries, writes what fits, then <log> -> <log>.1 -> .2 ... (max_file files
 * in all; max_file 1 truncates in place); a record over max_size goes alone. */
static struct {
    int fd;
    buf_t partial[3];
    const char *path;
    int64_t max_size;
    long max_file;
    int64_t size;
} logw = {.fd = -1, .max_file = 1};

static int makedirs(const char *path)
{
    struct stat st;
    if (!*path || stat(path, &st) == 0)
        return 0;
    char *copy = strdup(path);
    if (!copy)
        die_oom();
    char *slash = strrchr(copy, '/');
    while (slash && slash > copy && slash[-1] == '/')
        slash--;
    if (slash && slash != copy) {
        *slash = 0;
        if (makedirs(copy) < 0) {
            free(copy);
            return -1;
        }
    }
    free(copy);
    if (mkdir(path, 0777) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int log_open(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        die_oom();
    char *slash = strrchr(dir, '/');
    if (slash) {
        char *e = slash;
        while (e > dir && e[-1] == '/')
            e--;
        *(e > dir ? e : slash + 1) = 0;
        if (makedirs(dir) < 0) {
            int e2 = errno;
            fprintf(stderr, "monitor: %s: ", exc_name(e2));
            buf_t m = {0};
            os_error_str(&m, e2, dir, NULL);
            fprintf(stderr, "%s\n", m.p);
            free(dir);
            return -1;
        }
    }
    free(dir);
    logw.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (logw.fd < 0) {
        int e = errno;
        buf_t m = {0};
        os_error_str(&m, e, path, NULL);
        fprintf(stderr, "monitor: %s: %s\n", exc_name(e), m.p);
        return -1;
    }
    struct stat st;
    logw.size = fstat(logw.fd, &st) == 0 ? (int64_t)st.st_size : 0;
    logw.path = path;
    return 0;
}

static void log_record(buf_t *out, int stream, const char *data, size_t n, int64_t now)
{
    static buf_t text;
    text.len = 0;
    utf8_replace(&text, (const unsigned char *)data, n);
    buf_adds(out, "{\"log\":");
    json_str(out, text.p ? text.p : "", text.len);
    buf_adds(out, ",\"stream\":\"");
    buf_adds(out, STREAMS[stream]);
    buf_adds(out, "\",\"time\":\"");
    log_time(out, now);
    buf_adds(out, "\"}\n");
}

static void log_write_raw(const char *d, size_t n)
{
    logw.size += (int64_t)n;
    while (n) {
        ssize_t w = write_retry(logw.fd, d, n);
        if (w < 0) { /* a full disk must not kill the container's monitor */
            buf_t m = {0};
            os_error_str(&m, errno, NULL, NULL);
            fprintf(stderr, "monitor: log write failed: %s\n", m.p);
            fflush(stderr);
            buf_free(&m);
            return;
        }
        d += w;
        n -= (size_t)w;
    }
}

static void log_rotate(void)
{
    int failed = 0;
    if (logw.max_file <= 1) {
        failed = ftruncate(logw.fd, 0) < 0;
    } else {
        size_t len = strlen(logw.path) + 32;
        char *from = malloc(len), *to = malloc(len);
        if (!from || !to)
            die_oom();
        for (long i = logw.max_file - 1; i > 1 && !failed; i--) {
            snprintf(from, len, "%s.%ld", logw.path, i - 1);
            snprintf(to, len, "%s.%ld", logw.path, i);
            failed = rename(from, to) < 0 && errno != ENOENT;
        }
        snprintf(to, len, "%s.1", logw.path);
        if (!failed)
            failed = rename(logw.path, to) < 0;
        if (!failed) {
            int fd = open(logw.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
            failed = fd < 0;
            if (!failed) {
                close(logw.fd);
                logw.fd = fd;
            }
        }
        free(from);
        free(to);
    }
    if (failed) { /* keep appending to the file we have */
        buf_t m = {0};
        os_error_str(&m, errno, NULL, NULL);
        fprintf(stderr, "monitor: log rotation failed: %s\n", m.p);
        fflush(stderr);
        buf_free(&m);
    }
    logw.size = 0;
}

static void log_append(const char *d, size_t n)
{
    if (logw.max_size > 0) {
        while (n && logw.size + (int64_t)n > logw.max_size) {
            int64_t room = logw.max_size - logw.size;
            size_t lim = room > 0 ? (size_t)room : 0;
            const char *nl = lim ? memrchr(d, '\n', lim) : NULL;
            size_t cut = nl ? (size_t)(nl - d) + 1 : 0; /* whole records that fit */
            if (cut == 0 && logw.size == 0) { /* one record over max_size: alone */
                nl = memchr(d, '\n', n);
                cut = nl ? (size_t)(nl - d) + 1 : n;
            }
            if (cut) {
                log_write_raw(d, cut);
                d += cut;
                n -= cut;
            }
            log_rotate();
        }
    }
    if (n)
        log_write_raw(d, n);
}

static void log_write(int stream, const char *data, size_t n)
{
    int64_t now = time_ns();
    buf_t *part = &logw.partial[stream];
    buf_add(part, data, n);
    static buf_t out;
    out.len = 0;
    size_t off = 0;
    /* As moby's copier, which never holds more than 16 KiB: a record ends at a newline
     * within the first MAX_LINE bytes, else it is cut at MAX_LINE, however the data was
     * chunked by the reads (so the records do not depend on timing). */
    for (;;) {
        size_t avail = part->len - off;
        size_t scan = avail < MAX_LINE ? avail : MAX_LINE;
        char *nl = memchr(part->p + off, '\n', scan);
        if (nl) {
            size_t l = (size_t)(nl - (part->p + off)) + 1;
            log_record(&out, stream, part->p + off, l, now);
            off += l;
        } else if (avail >= MAX_LINE) {
            log_record(&out, stream, part->p + off, MAX_LINE, now);
            off += MAX_LINE;
        } else {
            break;
        }
    }
    buf_consume(part, off);
    if (out.len)
        log_append(out.p, out.len);
    if (out.cap > (1 << 20)) {
        buf_free(&out);
    }
}

static void log_flush(void)
{
    int64_t now = time_ns();
    buf_t out = {0};
    for (int s = 1; s <= 2; s++) {
        if (logw.partial[s].len)
            log_record(&out, s, logw.partial[s].p, logw.partial[s].len, now);
        logw.partial[s].len = 0;
    }
    if (out.len)
        log_append(out.p, out.len);
    buf_free(&out);
}

/* ------------------------------------------------------------------ poller */

enum { EV_READ = 1, EV_WRITE = 2 };
enum { K_NONE, K_OUT, K_ACCEPT, K_SIGNAL, K_CLIENT, K_STDIN };

typedef struct packet {
    struct packet *next;
    size_t len;
    unsigned char data[];
} packet_t;

typedef struct client {
    int fd;
    struct client *prev, *next;
    packet_t *head, *tail;
    size_t pending_bytes;
    int reading;
} client_t;

typedef struct {
    unsigned char events, kind, stream; /* stream: 1/2 for an output fd, else 0 */
    client_t *client;
} fdinfo_t;

static int ep = -1;
static fdinfo_t *fds;
static int nfds_cap;

static fdinfo_t *fdi(int fd)
{
    if (fd >= nfds_cap) {
        int cap = nfds_cap ? nfds_cap : 64;
        while (cap <= fd)
            cap *= 2;
        fds = xrealloc(fds, (size_t)cap * sizeof *fds);
        memset(fds + nfds_cap, 0, (size_t)(cap - nfds_cap) * sizeof *fds);
        nfds_cap = cap;
    }
    return &fds[fd];
}

/* Register, modify or (with events == 0) unregister fd. */
static void sel_set(int fd, int events, int kind)
{
    fdinfo_t *f = fdi(fd);
    struct epoll_event ev = {0};
    ev.events = (events & EV_READ ? EPOLLIN : 0) | (events & EV_WRITE ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (!events) {
        if (f->events) {
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, &ev);
            f->events = 0;
            f->kind = K_NONE;
        }
    } else if (f->events) {
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        f->events = (unsigned char)events;
        f->kind = (unsigned char)kind;
    } else {
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        f->events = (unsigned char)events;
        f->kind = (unsigned char)kind;
    }
}

/* ----------------------------------------------------------------- monitor */

static int sync_fd = -1;
static int listener = -1;
static ino_t socket_ino = (ino_t)-1;
static int have_socket_ino;
static int outputs[2] = {-1, -1}; /* container output fds, in registration order */
static int paused;
static int stdin_fd = -1;
static buf_t stdin_buf;
static int stdin_close_pending;
static pid_t init_pid;
static int exit_status = -1;
static int64_t exited_at;
static int tty, open_stdin, stdin_once;
static int wake_r = -1, wake_w = -1;
static client_t *clients_head, *clients_tail;

static void report(const char *kind, const char *value)
{
    if (sync_fd < 0)
        return;
    buf_t m = {0};
    buf_printf(&m, "%s ", kind);
    escape_into(&m, value);
    buf_addc(&m, '\n');
    if (write_retry(sync_fd, m.p, m.len) < 0) {
        /* tugd went away; the container keeps its monitor anyway */
    }
    buf_free(&m);
}

static void close_sync(void)
{
    if (sync_fd >= 0) {
        close(sync_fd);
        sync_fd = -1;
    }
}

/* Listen on path however long it is: bind through /proc/self/fd/<dir fd>/<name>. */
static int do_listen(const char *path)
{
    if (unlink(path) < 0 && errno != ENOENT) {
        int e = errno;
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, path, NULL);
        return -1;
    }
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) {
        int e = errno;
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, NULL, NULL);
        return -1;
    }
    char *dir = strdup(path);
    if (!dir)
        die_oom();
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *ds = strrchr(dir, '/');
    if (ds) {
        char *e = ds;
        while (e > dir && e[-1] == '/')
            e--;
        *(e > dir ? e : ds + 1) = 0;
    } else {
        dir[0] = 0;
    }
    int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, dir, NULL);
        free(dir);
        close(s);
        return -1;
    }
    free(dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, base);
    int rc;
    if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
        errno = EINVAL;
        rc = -1;
        buf_adds(&err, "monitor: OSError: AF_UNIX path too long");
        close(dfd);
        close(s);
        return -1;
    }
    rc = bind(s, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(dfd);
    if (rc < 0) {
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, NULL, NULL);
        close(s);
        return -1;
    }
    struct stat st;
    if (chmod(path, 0600) < 0 || stat(path, &st) < 0) {
        e = errno;
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, path, NULL);
        close(s);
        return -1;
    }
    socket_ino = st.st_ino;
    have_socket_ino = 1;
    if (listen(s, 64) < 0) {
        e = errno;
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, NULL, NULL);
        close(s);
        return -1;
    }
    return s;
}

/* Remove our attach socket, never a successor's bound at the same path. */
static void unlink_socket(void)
{
    const char *path = cfg_get("attach_socket");
    struct stat st;
    if (!path)
        return;
    if (have_socket_ino && stat(path, &st) == 0 && st.st_ino == socket_ino)
        unlink(path);
}

/* A tiny JSON reader for runc's log lines: validates a line as json.loads
 * would and picks the top-level "level" and "msg" strings. */
typedef struct {
    const char *p, *end;
} jp_t;

static void jws(jp_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static void put_utf8(buf_t *o, unsigned cp)
{
    char u[4];
    if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        buf_add(o, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        buf_add(o, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        buf_add(o, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        buf_add(o, u, 4);
    }
}

static int jhex4(jp_t *j, unsigned *v)
{
    if (j->end - j->p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = j->p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v * 16 + (unsigned)d;
    }
    j->p += 4;
    return 0;
}

static int jstring(jp_t *j, buf_t *o)
{
    if (j->p >= j->end || *j->p != '"')
        return -1;
    j->p++;
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"')
            return 0;
        if (c < 0x20)
            return -1; /* strict: no control characters */
        if (c != '\\') {
            if (o)
                buf_addc(o, (char)c);
            continue;
        }
        if (j->p >= j->end)
            return -1;
        char e = *j->p++;
        unsigned cp;
        switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (jhex4(j, &cp) < 0)
                return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                jp_t save = *j;
                unsigned lo;
                j->p += 2;
                if (jhex4(j, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else
                    *j = save;
            }
            break;
        default:
            return -1;
        }
        if (o)
            put_utf8(o, cp);
    }
    return -1;
}

static int jvalue(jp_t *j, int depth);

static int jliteral(jp_t *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return -1;
    j->p += n;
    return 0;
}

static int jnumber(jp_t *j)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (jliteral(j, "Infinity") == 0)
        return 0;
    if (j->p >= j->end || !isdigit((unsigned char)*j->p))
        return -1;
    if (*j->p == '0')
        j->p++;
    else
        while (j->p < j->end && isdigit((unsigned char)*j->p))
            j->p++;
    if (j->p < j->end && *j->p == '.') {
        const char *d = ++j->p;
        while (j->p < j->end && isdigit((unsigned char)*j->p))
            j->p++;
        if (j->p == d) { /* Python: "1." ends the number at "1" -> then "." is extra data */
            j->p = d - 1;
            return j->p > s ? 0 : -1;
        }
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        const char *save = j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        const char *d = j->p;
        while (j->p < j->end && isdigit((unsigned char)*j->p))
            j->p++;
        if (j->p == d)
            j->p = save;
    }
    return 0;
}

static int jvalue(jp_t *j, int depth)
{
    if (depth > 500)
        return -1;
    jws(j);
    if (j->p >= j->end)
        return -1;
    char c = *j->p;
    if (c == '"')
        return jstring(j, NULL);
    if (c == '{' || c == '[') {
        char close_c = c == '{' ? '}' : ']';
        j->p++;
        jws(j);
        if (j->p < j->end && *j->p == close_c) {
            j->p++;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                jws(j);
                if (jstring(j, NULL) < 0)
                    return -1;
                jws(j);
                if (j->p >= j->end || *j->p != ':')
                    return -1;
                j->p++;
            }
            if (jvalue(j, depth + 1) < 0)
                return -1;
            jws(j);
            if (j->p >= j->end)
                return -1;
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p == close_c) {
                j->p++;
                return 0;
            }
            return -1;
        }
    }
    if (jliteral(j, "true") == 0 || jliteral(j, "false") == 0 || jliteral(j, "null") == 0
        || jliteral(j, "NaN") == 0)
        return 0;
    return jnumber(j);
}

/* 1 if the line is a JSON object whose "level" is error/fatal/panic; its msg in *msg. */
static int runc_log_line(const char *s, size_t n, buf_t *msg)
{
    jp_t j = {s, s + n};
    jws(&j);
    if (j.p >= j.end)
        return 0;
    if (*j.p != '{') {
        if (jvalue(&j, 0) < 0)
            return 0;
        return 0; /* valid or not, not a dict */
    }
    buf_t level = {0}, m = {0}, key = {0};
    int have_level = 0, have_msg = 0, ok = 0;
    j.p++;
    jws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
        goto tail;
    }
    for (;;) {
        jws(&j);
        key.len = 0;
        if (jstring(&j, &key) < 0)
            goto out;
        jws(&j);
        if (j.p >= j.end || *j.p != ':')
            goto out;
        j.p++;
        jws(&j);
        int is_level = key.p && strcmp(key.p, "level") == 0 && key.len == 5;
        int is_msg = key.p && strcmp(key.p, "msg") == 0 && key.len == 3;
        if ((is_level || is_msg) && j.p < j.end && *j.p == '"') {
            buf_t *dst = is_level ? &level : &m;
            dst->len = 0;
            buf_reserve(dst, 0);
            dst->p[0] = 0;
            if (jstring(&j, dst) < 0)
                goto out;
            if (is_level)
                have_level = 1;
            else
                have_msg = 1;
        } else {
            const char *vs = j.p;
            if (jvalue(&j, 1) < 0)
                goto out;
            if (is_level)
                have_level = 0;
            if (is_msg) { /* str() of a non-string: its JSON text is close enough */
                m.len = 0;
                buf_add(&m, vs, (size_t)(j.p - vs));
                have_msg = 1;
            }
        }
        jws(&j);
        if (j.p >= j.end)
            goto out;
        if (*j.p == ',') {
            j.p++;
            continue;
        }
        if (*j.p == '}') {
            j.p++;
            break;
        }
        goto out;
    }
tail:
    jws(&j);
    if (j.p != j.end)
        goto out;
    if (have_level && level.p
        && (strcmp(level.p, "error") == 0 || strcmp(level.p, "fatal") == 0 || strcmp(level.p, "panic") == 0)) {
        msg->len = 0;
        if (have_msg && m.len)
            buf_add(msg, m.p, m.len);
        ok = 1;
    }
out:
    buf_free(&level);
    buf_free(&m);
    buf_free(&key);
    return ok;
}

static int is_py_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* runc's last error message from its JSON log, else its stderr text. */
static void runc_error(const char *log_file, const char *stderr_data, size_t stderr_len)
{
    buf_t msg = {0}, raw = {0}, text = {0};
    if (read_file(log_file, &raw) == 0) {
        utf8_replace(&text, (unsigned char *)raw.p, raw.len);
        const char *p = text.p ? text.p : "", *end = p + text.len;
        while (p < end) {
            const char *q = p;
            while (q < end && *q != '\n' && *q != '\r')
                q++;
            buf_t one = {0};
            if (runc_log_line(p, (size_t)(q - p), &one)) {
                msg.len = 0;
                buf_add(&msg, one.p ? one.p : "", one.len);
            }
            buf_free(&one);
            if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
                q++;
            p = q + 1;
        }
    }
    if (!msg.len) {
        text.len = 0;
        utf8_replace(&text, (const unsigned char *)stderr_data, stderr_len);
        const char *p = text.p ? text.p : "", *end = p + text.len;
        const char *last = NULL;
        size_t last_len = 0;
        while (p < end) {
            const char *q = p;
            while (q < end && *q != '\n' && *q != '\r')
                q++;
            const char *a = p, *b = q;
            while (a < b && is_py_space((unsigned char)*a))
                a++;
            while (b > a && is_py_space((unsigned char)b[-1]))
                b--;
            if (b > a) {
                last = a;
                last_len = (size_t)(b - a);
            }
            if (q < end && *q == '\r' && q + 1 < end && q[1] == '\n')
                q++;
            p = q + 1;
        }
        if (last)
            buf_add(&msg, last, last_len);
    }
    if (msg.len)
        buf_add(&err, msg.p, msg.len);
    else
        buf_adds(&err, "runc create failed");
    buf_free(&msg);
    buf_free(&raw);
    buf_free(&text);
}

/* One fd passed with SCM_RIGHTS (what runc sends on the console socket). */
static int recv_fd(int conn)
{
    char data[4096];
    union {
        char b[CMSG_SPACE(16)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {data, sizeof data};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.b;
    mh.msg_controllen = CMSG_LEN(16);
    ssize_t r;
    do
        r = recvmsg(conn, &mh, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -2;
    int got[8], ng = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < n && ng < 8; i++)
                memcpy(&got[ng++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
    }
    for (int i = 1; i < ng; i++)
        close(got[i]);
    return ng ? got[0] : -1;
}

static void set_os_err(const char *prefix, int e)
{
    buf_adds(&err, prefix);
    os_error_str(&err, e, NULL, NULL);
}

/* Returns 0, or -1 with the message in err. */
static int create(void)
{
    const char *attach = cfg_need("attach_socket");
    if (!attach)
        return -1;
    listener = do_listen(attach);
    if (listener < 0)
        return -1;
    int console = -1;
    char console_name[160] = "";
    int child_fds[3], nchild = 0;
    int stdio[3];
    int err_r = -1;
    if (tty) {
        const char *id = cfg_need("id");
        if (!id)
            return -1;
        console = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (console < 0) {
            int e = errno;
            buf_printf(&err, "monitor: %s: ", exc_name(e));
            os_error_str(&err, e, NULL, NULL);
            return -1;
        }
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "tugboat-console-%.32s-%d", id, (int)getpid());
        if (n < 0 || (size_t)n >= sizeof sa.sun_path - 1) {
            buf_adds(&err, "monitor: OSError: AF_UNIX path too long");
            return -1;
        }
        if (bind(console, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) < 0
            || listen(console, 4) < 0) {
            int e = errno;
            buf_printf(&err, "monitor: %s: ", exc_name(e));
            os_error_str(&err, e, NULL, NULL);
            return -1;
        }
        snprintf(console_name, sizeof console_name, "@%s", sa.sun_path + 1);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0) {
            int e = errno;
            buf_printf(&err, "monitor: %s: ", exc_name(e));
            os_error_str(&err, e, "/dev/null", NULL);
            return -1;
        }
        stdio[0] = stdio[1] = stdio[2] = null;
        child_fds[nchild++] = null;
    } else {
        int o[2], e2[2], in[2] = {-1, -1};
        if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e2, O_CLOEXEC) < 0) {
            set_os_err("monitor: OSError: ", errno);
            return -1;
        }
        int in_r;
        if (open_stdin) {
            if (pipe2(in, O_CLOEXEC) < 0) {
                set_os_err("monitor: OSError: ", errno);
                return -1;
            }
            in_r = in[0];
            stdin_fd = in[1];
        } else {
            in_r = open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (in_r < 0) {
                int e = errno;
                buf_printf(&err, "monitor: %s: ", exc_name(e));
                os_error_str(&err, e, "/dev/null", NULL);
                return -1;
            }
        }
        stdio[0] = in_r;
        stdio[1] = o[1];
        stdio[2] = e2[1];
        child_fds[0] = in_r;
        child_fds[1] = o[1];
        child_fds[2] = e2[1];
        nchild = 3;
        err_r = e2[0];
        outputs[0] = o[0];
        outputs[1] = e2[0];
        fdi(o[0])->stream = 1;
        fdi(e2[0])->stream = 2;
    }
    const char *runc = cfg_need("runc"), *runc_root = runc ? cfg_need("runc_root") : NULL;
    const char *runc_log = runc_root ? cfg_need("runc_log") : NULL;
    const char *bundle = runc_log ? cfg_need("bundle") : NULL;
    const char *pid_file = bundle ? cfg_need("pid_file") : NULL;
    const char *id = pid_file ? cfg_need("id") : NULL;
    if (!id)
        return -1;
    const char *argv[16];
    int ac = 0;
    argv[ac++] = runc;
    argv[ac++] = "--root";
    argv[ac++] = runc_root;
    argv[ac++] = "--log";
    argv[ac++] = runc_log;
    argv[ac++] = "--log-format";
    argv[ac++] = "json";
    argv[ac++] = "create";
    argv[ac++] = "--bundle";
    argv[ac++] = bundle;
    argv[ac++] = "--pid-file";
    argv[ac++] = pid_file;
    if (console >= 0) {
        argv[ac++] = "--console-socket";
        argv[ac++] = console_name;
    }
    argv[ac++] = id;
    argv[ac] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < 3; i++)
        posix_spawn_file_actions_adddup2(&fa, stdio[i], i);
    posix_spawnattr_init(&at);
    sigset_t none, defs;
    sigemptyset(&none);
    sigemptyset(&defs);
    sigaddset(&defs, SIGPIPE);
    sigaddset(&defs, SIGXFSZ);
    sigaddset(&defs, SIGHUP);
    sigaddset(&defs, SIGINT);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &defs);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawnp(&pid, runc, &fa, &at, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        buf_adds(&err, "runc: ");
        os_error_str(&err, rc, runc, NULL);
        return -1;
    }
    for (int i = 0; i < nchild; i++)
        close(child_fds[i]);
    int status = 0;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    int code = w < 0 ? 1 : WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : 1;
    if (code != 0) {
        buf_t data = {0};
        if (err_r >= 0) {
            set_blocking(err_r, 0);
            read_available(err_r, &data);
        }
        runc_error(runc_log, data.p ? data.p : "", data.len);
        buf_free(&data);
        return -1;
    }
    buf_t pidtxt = {0};
    if (read_file(pid_file, &pidtxt) < 0) {
        int e = errno;
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, pid_file, NULL);
        return -1;
    }
    char *endp;
    errno = 0;
    long v = strtol(pidtxt.p, &endp, 10);
    while (*endp && isspace((unsigned char)*endp))
        endp++;
    if (errno || endp == pidtxt.p || *endp) {
        buf_adds(&err, "monitor: ValueError: invalid literal for int() with base 10: '");
        buf_adds(&err, pidtxt.p);
        buf_adds(&err, "'");
        buf_free(&pidtxt);
        return -1;
    }
    buf_free(&pidtxt);
    init_pid = (pid_t)v;
    if (console >= 0) {
        int master = -1;
        set_blocking(console, 0);
        while (master < 0) {
            int conn = accept4(console, NULL, NULL, SOCK_CLOEXEC); /* runc has connected and exited by now */
            if (conn < 0) {
                buf_adds(&err, "receiving the container's console: ");
                os_error_str(&err, errno, NULL, NULL);
                close(console);
                return -1;
            }
            struct ucred cred;
            socklen_t cl = sizeof cred;
            if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
                buf_adds(&err, "receiving the container's console: ");
                os_error_str(&err, errno, NULL, NULL);
                close(conn);
                close(console);
                return -1;
            }
            if (cred.pid != pid) {
                close(conn); /* not our runc: ignore whatever it sends */
                continue;
            }
            master = recv_fd(conn);
            if (master == -2) {
                buf_adds(&err, "receiving the container's console: ");
                os_error_str(&err, errno, NULL, NULL);
                close(conn);
                close(console);
                return -1;
            }
            close(conn);
            if (master < 0) {
                buf_adds(&err, "runc sent no console");
                close(console);
                return -1;
            }
        }
        close(console);
        set_cloexec(master);
        outputs[0] = master;
        fdi(master)->stream = 1;
        if (open_stdin) {
            stdin_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
            if (stdin_fd < 0) {
                set_os_err("monitor: OSError: ", errno);
                return -1;
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- the loop */

static void update_pause(void);

static void update_client(client_t *c)
{
    int ev = c->reading && !stdin_buf.len ? EV_READ : 0;
    ev |= c->head ? EV_WRITE : 0;
    sel_set(c->fd, ev, K_CLIENT);
}

static void drop(client_t *c)
{
    fdinfo_t *f = fdi(c->fd);
    if (f->client != c)
        return;
    f->client = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        clients_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        clients_tail = c->prev;
    sel_set(c->fd, 0, K_NONE);
    close(c->fd);
    while (c->head) {
        packet_t *p = c->head;
        c->head = p->next;
        free(p);
    }
    free(c);
    update_pause();
}

static void enqueue(client_t *c, const unsigned char *data, size_t n)
{
    packet_t *p = xrealloc(NULL, sizeof *p + n);
    p->next = NULL;
    p->len = n;
    memcpy(p->data, data, n);
    if (c->tail)
        c->tail->next = p;
    else
        c->head = p;
    c->tail = p;
    c->pending_bytes += n;
}

static void on_accept(void)
{
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        client_t *c = xrealloc(NULL, sizeof *c);
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->reading = 1;
        c->prev = clients_tail;
        if (clients_tail)
            clients_tail->next = c;
        else
            clients_head = c;
        clients_tail = c;
        fdi(fd)->client = c;
        update_client(c);
    }
}

static void send_packet(client_t *c, const unsigned char *data, size_t n)
{
    if (c->head) {
        enqueue(c, data, n);
        return;
    }
    ssize_t r;
    do
        r = send(c->fd, data, n, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r >= 0)
        return;
    if (errno == EAGAIN) {
        enqueue(c, data, n);
        update_client(c);
    } else {
        drop(c);
    }
}

static void flush_client(client_t *c)
{
    if (!c)
        return;
    while (c->head) {
        packet_t *p = c->head;
        ssize_t r;
        do
            r = send(c->fd, p->data, p->len, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            if (errno == EAGAIN)
                return;
            drop(c);
            return;
        }
        c->head = p->next;
        if (!c->head)
            c->tail = NULL;
        c->pending_bytes -= p->len;
        free(p);
    }
    update_client(c);
    update_pause();
}

/* Backpressure: a lagging attach client slows the container, as with dockerd;
 * but once init has exited the rest is drained (the log must be complete). */
static void update_pause(void)
{
    int lagging = 0;
    if (exit_status < 0)
        for (client_t *c = clients_head; c; c = c->next)
            if (c->pending_bytes > CLIENT_HIGH_WATER) {
                lagging = 1;
                break;
            }
    if (lagging && !paused) {
        for (int i = 0; i < 2; i++)
            if (outputs[i] >= 0)
                sel_set(outputs[i], 0, K_NONE);
        paused = 1;
    } else if (!lagging && paused) {
        for (int i = 0; i < 2; i++)
            if (outputs[i] >= 0)
                sel_set(outputs[i], EV_READ, K_OUT);
        paused = 0;
    }
}

static void flush_stdin(void)
{
    int fd = stdin_fd;
    if (fd < 0)
        return;
    while (stdin_buf.len) {
        ssize_t n = write_retry(fd, stdin_buf.p, stdin_buf.len);
        if (n < 0) {
            if (errno == EAGAIN)
                break;
            stdin_buf.len = 0; /* EPIPE: the container closed its stdin */
            stdin_close_pending = 1;
            break;
        }
        buf_consume(&stdin_buf, (size_t)n);
    }
    if (!stdin_buf.len && stdin_buf.cap > PACKET_MAX * 2)
        buf_free(&stdin_buf);
    sel_set(fd, stdin_buf.len ? EV_WRITE : 0, K_STDIN);
    /* Stop taking client data while the container does not read its stdin. */
    for (client_t *c = clients_head, *next; c; c = next) {
        next = c->next;
        update_client(c);
    }
    if (!stdin_buf.len && stdin_close_pending) {
        if (tty && write_retry(fd, "\x04", 1) < 0) {
            /* EOF for the tty's line discipline; errors ignored */
        }
        close(fd);
        stdin_fd = -1;
    }
}

static unsigned char rbuf[PACKET_MAX > READ_SIZE + 1 ? PACKET_MAX : READ_SIZE + 1];

static void on_client_data(client_t *c)
{
    ssize_t r;
    do
        r = recv(c->fd, rbuf, PACKET_MAX, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno != EAGAIN)
            drop(c);
        return;
    }
    if (r > 0) {
        if (stdin_fd >= 0 && !stdin_close_pending) {
            buf_add(&stdin_buf, rbuf, (size_t)r);
            flush_stdin();
        }
        return;
    }
    /* EOF from this client: it shut down its write side or went away. */
    c->reading = 0;
    update_client(c);
    /* As moby's attach: a client's EOF closes the container's stdin only for StdinOnce
     * without a TTY; a TTY client that goes away (detach keys, a dead terminal) leaves
     * the container running with its stdin open for the next attach. */
    if (stdin_once && !tty && stdin_fd >= 0) {
        stdin_close_pending = 1;
        flush_stdin();
    }
}

static void on_output(int fd)
{
    ssize_t r;
    do
        r = read(fd, rbuf + 1, READ_SIZE);
    while (r < 0 && errno == EINTR);
    if (r < 0 && errno == EAGAIN)
        return;
    if (r <= 0) { /* EOF, or EIO: the pty's last slave closed */
        sel_set(fd, 0, K_NONE);
        close(fd);
        fdi(fd)->stream = 0;
        for (int i = 0; i < 2; i++)
            if (outputs[i] == fd)
                outputs[i] = -1;
        return;
    }
    int stream = fdi(fd)->stream;
    /* A client whose connect() returned before this output was produced must
     * get it, even if its accept event comes later in this batch. */
    on_accept();
    log_write(stream, (char *)rbuf + 1, (size_t)r);
    rbuf[0] = (unsigned char)stream;
    for (client_t *c = clients_head, *next; c; c = next) {
        next = c->next;
        send_packet(c, rbuf, (size_t)r + 1);
    }
    update_pause();
}

static void reap(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        if (pid == init_pid && exit_status < 0) {
            if (WIFEXITED(status))
                exit_status = WEXITSTATUS(status);
            else if (WIFSIGNALED(status))
                exit_status = 128 + WTERMSIG(status);
            else
                continue;
            exited_at = time_ns();
        }
    }
}

static int n_outputs(void)
{
    return (outputs[0] >= 0) + (outputs[1] >= 0);
}

static int oom_killed(void)
{
    for (size_t i = 0; i < noom; i++) {
        buf_t d = {0};
        if (read_file(oom_files[i], &d) < 0)
            continue;
        int found = 0, bad = 0;
        char *p = d.p, *end = d.p + d.len;
        while (p < end && !found && !bad) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            char *le = nl ? nl + 1 : end;
            char *sp = memchr(p, ' ', (size_t)(le - p));
            size_t klen = sp ? (size_t)(sp - p) : (size_t)(le - p);
            if (klen == 8 && memcmp(p, "oom_kill", 8) == 0) {
                /* int(v or 0), v keeps the line's \n: int() strips whitespace */
                char *v = sp ? sp + 1 : le;
                char tmp[64];
                size_t vl = (size_t)(le - v);
                if (vl >= sizeof tmp) {
                    bad = 1;
                    break;
                }
                memcpy(tmp, v, vl);
                tmp[vl] = 0;
                char *a = tmp;
                while (*a && isspace((unsigned char)*a))
                    a++;
                if (!*a && vl == 0) {
                    /* v == "": int(0) */
                } else {
                    char *e;
                    errno = 0;
                    long long n = strtoll(a, &e, 10);
                    while (*e && isspace((unsigned char)*e))
                        e++;
                    if (e == a || *e || errno) {
                        bad = 1;
                        break;
                    }
                    if (n > 0)
                        found = 1;
                }
            }
            p = le;
        }
        buf_free(&d);
        if (found)
            return 1;
    }
    return 0;
}

static void fatal_os(const char *what_file, const char *file2, int e)
{
    buf_t m = {0};
    os_error_str(&m, e, what_file, file2);
    fprintf(stderr, "monitor: %s: %s\n", exc_name(e), m.p);
    buf_free(&m);
    exit(1);
}

static void write_atomic(const char *path, const char *data, size_t n)
{
    char tmp[4096 + 64];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        fatal_os(tmp, NULL, errno);
    if (write_retry(fd, data, n) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        fatal_os(NULL, NULL, e);
    }
    close(fd);
    if (rename(tmp, path) < 0)
        fatal_os(tmp, path, errno);
}

static void finish(void)
{
    log_flush();
    const char *oom = oom_killed() ? "true" : "false";
    buf_t state = {0};
    buf_printf(&state, "{\"exit_code\": %d, \"finished_at_ns\": %lld, \"oom_killed\": %s, \"error\": \"\"}\n",
               exit_status < 0 ? 0 : exit_status, (long long)exited_at, oom);
    const char *sd = cfg_get("state_dir");
    if (!sd) {
        fprintf(stderr, "monitor: KeyError: 'state_dir'\n");
        exit(1);
    }
    buf_t path = {0};
    buf_adds(&path, sd);
    if (path.len && path.p[path.len - 1] != '/')
        buf_addc(&path, '/');
    buf_adds(&path, "exit.json");
    write_atomic(path.p, state.p, state.len);
    buf_free(&path);
    buf_free(&state);
    unlink_socket();
    close(listener);
    listener = -1;
    double deadline = monotonic() + DRAIN_TIMEOUT;
    for (client_t *c = clients_head; c; c = c->next) {
        double left = deadline - monotonic();
        if (left < 0.1)
            left = 0.1;
        struct timeval tv = {(time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6)};
        int ok = set_blocking(c->fd, 1) == 0
                 && setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0;
        for (packet_t *p = c->head; ok && p; p = p->next) {
            ssize_t r;
            do
                r = send(c->fd, p->data, p->len, MSG_NOSIGNAL);
            while (r < 0 && errno == EINTR);
            if (r < 0)
                ok = 0;
        }
        if (ok)
            shutdown(c->fd, SHUT_RDWR);
        close(c->fd);
    }
}

static void run(void)
{
    for (int i = 0; i < 2; i++)
        if (outputs[i] >= 0) {
            set_blocking(outputs[i], 0);
            sel_set(outputs[i], EV_READ, K_OUT);
        }
    if (stdin_fd >= 0)
        set_blocking(stdin_fd, 0);
    set_blocking(listener, 0);
    sel_set(listener, EV_READ, K_ACCEPT);
    sel_set(wake_r, EV_READ, K_SIGNAL);
    reap();
    double deadline = -1;
    struct epoll_event evs[64];
    for (;;) {
        int timeout = -1;
        if (exit_status >= 0) {
            if (deadline < 0) {
                deadline = monotonic() + DRAIN_TIMEOUT;
                update_pause();
            }
            if (!n_outputs() || monotonic() >= deadline)
                break;
            double left = deadline - monotonic();
            if (left <= 0) {
                timeout = 0;
            } else {
                double ms = left * 1000.0;
                timeout = (int)ms;
                if ((double)timeout < ms)
                    timeout++;
            }
        }
        int n = epoll_wait(ep, evs, 64, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "monitor: epoll_wait: %s\n", strerror(errno));
            break;
        }
        /* The batch as polled, like monitor.py's Poller: fd -> (kind, events). */
        struct {
            int fd, kind, got;
        } batch[64];
        int nb = 0;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            fdinfo_t *f = fdi(fd);
            if (!f->events)
                continue;
            uint32_t e = evs[i].events;
            int got = ((e & (EPOLLIN | EPOLLHUP | EPOLLERR)) ? EV_READ : 0)
                      | ((e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) ? EV_WRITE : 0);
            got &= f->events;
            if (got) {
                batch[nb].fd = fd;
                batch[nb].kind = f->kind;
                batch[nb].got = got;
                nb++;
            }
        }
        for (int i = 0; i < nb; i++) {
            int fd = batch[i].fd;
            switch (batch[i].kind) {
            case K_OUT:
                if (fdi(fd)->stream)
                    on_output(fd);
                break;
            case K_ACCEPT:
                on_accept();
                break;
            case K_SIGNAL:
                read_available(wake_r, NULL);
                reap();
                break;
            case K_CLIENT: {
                if (batch[i].got & EV_WRITE)
                    flush_client(fdi(fd)->client);
                client_t *c = fdi(fd)->client;
                if ((batch[i].got & EV_READ) && c && c->reading)
                    on_client_data(c);
                break;
            }
            case K_STDIN:
                flush_stdin();
                break;
            }
        }
    }
    finish();
}

/* ------------------------------------------------------------------- main */

static void on_sigchld(int sig)
{
    int e = errno;
    unsigned char b = (unsigned char)sig;
    if (write(wake_w, &b, 1) < 0) {
    }
    errno = e;
}

static long long self_start_time(void)
{
    buf_t d = {0};
    if (read_file("/proc/self/stat", &d) < 0)
        return -1;
    char *p = strrchr(d.p, ')');
    long long v = -1;
    if (p) {
        p++;
        for (int field = 0; field < 20; field++) {
            while (*p == ' ')
                p++;
            if (field == 19) {
                v = strtoll(p, NULL, 10);
                break;
            }
            while (*p && *p != ' ')
                p++;
        }
    }
    buf_free(&d);
    return v;
}

static int setup(void)
{
    const char *pidfile = cfg_need("monitor_pidfile");
    if (!pidfile)
        return -1;
    buf_t tmp = {0}, line = {0};
    buf_adds(&tmp, pidfile);
    buf_adds(&tmp, ".tmp");
    int fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, tmp.p, NULL);
        return -1;
    }
    buf_printf(&line, "%d %lld\n", (int)getpid(), self_start_time());
    if (write_retry(fd, line.p, line.len) < 0) {
        int e = errno;
        close(fd);
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, NULL, NULL);
        return -1;
    }
    close(fd);
    if (rename(tmp.p, pidfile) < 0) {
        int e = errno;
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, tmp.p, pidfile);
        return -1;
    }
    buf_free(&tmp);
    buf_free(&line);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        int e = errno;
        buf_printf(&err, "monitor: %s: ", exc_name(e));
        os_error_str(&err, e, "prctl(PR_SET_CHILD_SUBREAPER)", NULL);
        return -1;
    }
    int w[2];
    if (pipe2(w, O_CLOEXEC | O_NONBLOCK) < 0) {
        set_os_err("monitor: OSError: ", errno);
        return -1;
    }
    wake_r = w[0];
    wake_w = w[1];
    struct sigaction sa = {0};
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    return create();
}

int main(int argc, char **argv)
{
    /* As CPython does at start-up: SIGPIPE and SIGXFSZ ignored (runc gets them back). */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        fprintf(stderr, "usage: %s <monitor.conf>\n", argv[0]);
        return 1;
    }
    if (load_config(argv[1]) < 0) {
        buf_t m = {0};
        os_error_str(&m, errno, argv[1], NULL);
        fprintf(stderr, "monitor: %s: %s\n", exc_name(errno), m.p);
        return 1;
    }
    const char *sfd = cfg_get("sync_fd");
    char *endp = NULL;
    long sv = sfd ? strtol(sfd, &endp, 10) : 0;
    if (!sfd || endp == sfd || *endp) {
        fprintf(stderr, sfd ? "monitor: ValueError: invalid literal for int() with base 10: '%s'\n"
                            : "monitor: KeyError: 'sync_fd'%s\n", sfd ? sfd : "");
        return 1;
    }
    sync_fd = (int)sv;
    fflush(stderr);
    pid_t f = fork();
    if (f < 0) {
        perror("monitor: fork");
        return 1;
    }
    if (f != 0)
        _exit(0);
    setsid();
    if (chdir("/") < 0) {
    }
    umask(022);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int ign[] = {SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
    for (size_t i = 0; i < sizeof ign / sizeof *ign; i++)
        signal(ign[i], SIG_IGN);
    const char *v;
    tty = (v = cfg_get("tty")) && strcmp(v, "1") == 0;
    open_stdin = (v = cfg_get("open_stdin")) && strcmp(v, "1") == 0;
    stdin_once = (v = cfg_get("stdin_once")) && strcmp(v, "1") == 0;
    const char *log_path = cfg_get("log_path");
    if (!log_path) {
        fprintf(stderr, "monitor: KeyError: 'log_path'\n");
        return 1;
    }
    if ((v = cfg_get("log_max_size")) && *v)
        logw.max_size = strtoll(v, NULL, 10);
    if ((v = cfg_get("log_max_file")) && *v)
        logw.max_file = strtol(v, NULL, 10);
    if (logw.max_file < 1)
        logw.max_file = 1;
    if (log_open(log_path) < 0)
        return 1;
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("monitor: epoll_create1");
        return 1;
    }
    char pidbuf[32];
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
    report("monitor", pidbuf);
    if (setup() < 0) {
        report("error", err.p ? err.p : "monitor: error");
        unlink_socket();
        return 1;
    }
    snprintf(pidbuf, sizeof pidbuf, "%d", (int)init_pid);
    report("ok", pidbuf);
    close_sync();
    run();
    return 0;
}
