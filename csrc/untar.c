/* Layer extraction: a push parser for tar streams that writes an overlayfs
 * lower directory.
 *
 * Python decompresses and hashes a layer and hands the plain tar bytes
 * here in chunks (pyns_untar_feed), so nothing is buffered beyond one
 * header: file contents go from the chunk straight into write(2). Parsing
 * tar headers and creating files costs ~0.15 ms per entry in Python's
 * tarfile; here it is the syscalls alone.
 *
 * Layers come from registries and users, so they are hostile input (see
 * src/pyns/images/unpack.py for the rules this file implements):
 *   - names are cleaned lexically; absolute names land inside the layer;
 *     a name that climbs above the root is refused;
 *   - every parent of an entry is lstat'ed (and remembered once checked):
 *     a symlink or non-directory in a parent position is refused;
 *   - the final component is removed before it is recreated, files are
 *     created O_EXCL|O_NOFOLLOW: a planted symlink is replaced, never
 *     followed;
 *   - hardlink targets must already exist inside the layer.
 * OCI whiteouts become overlayfs whiteouts (0/0 character devices, the
 * opaque xattr). Owners (when asked), modes with setuid, xattrs and
 * mtimes are restored, directory mtimes last, deepest first.
 *
 * Formats: ustar, GNU (long names 'L'/'K', base-256 numbers), PAX
 * ('x' and global 'g' records: path, linkpath, size, uid, gid, mtime,
 * atime, SCHILY.xattr.*), V7 directories ("name/" as a regular entry).
 * Reading stops at the first zero block, as tarfile and Go's archive/tar do.
 */
#include "pyns.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Messages quote entry names; one longer than the message buffer is cut, on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define BLOCK 512
#define META_MAX (16 << 20)      /* a PAX or GNU long-name record larger than this is refused */
#define PATH_BUF 8192

enum state { S_HEADER, S_META, S_DATA, S_SKIP, S_PAD, S_END };

/* A string-keyed hash table: the set of directories already checked, and
 * (in another instance) directory times to restore at the end. */
struct slot {
    char *key;               /* NULL: empty; TOMBSTONE: deleted */
    long long atime, mtime;
};
static char TOMBSTONE_KEY;
#define TOMBSTONE (&TOMBSTONE_KEY)

struct table {
    struct slot *slots;
    size_t cap, used;        /* used counts tombstones too */
};

struct kv {                  /* one PAX record: key and value (value may hold NULs) */
    char *key;
    char *val;
    size_t len;
};

struct kvlist {
    struct kv *items;
    size_t n, cap;
};

struct pyns_untar {
    char dest[PATH_BUF];
    size_t dest_len;
    int flags;
    enum state st;
    unsigned char hdr[BLOCK];
    size_t hdr_fill;
    long long offset;            /* stream offset of the current header */
    long long pos;               /* bytes consumed so far */
    unsigned long long remaining;    /* of the current data, meta record or skip */
    unsigned pad;                    /* padding after it */
    char meta_type;
    char *meta;
    size_t meta_fill;
    /* pending extensions for the next entry */
    char *long_name, *long_link;
    struct kvlist pax, global;
    /* the entry being written */
    int fd;
    char name[PATH_BUF];         /* as in the archive, for messages */
    char rel[PATH_BUF];
    char path[PATH_BUF];
    unsigned mode;
    long long uid, gid, devmajor, devminor;
    unsigned long long size;
    unsigned long long datalen;      /* data blocks that follow the current header */
    int consumed;                    /* the pending extensions belong to the entry just read */
    long long atime_ns, mtime_ns;
    struct kvlist xattrs;        /* the entry's SCHILY.xattr.* records (borrowed) */
    struct table known_dirs, dir_times;
    long long total_size, entries;
    int warnings;
    char warning[256];
};

/* -- errors ------------------------------------------------------------- */

static int fail(struct pyns_error *err, int errnum, const char *fmt, const char *a, const char *b,
                const char *c)
{
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, fmt, a, b ? b : "", c ? c : "");
    pyns_err_set(err, "untar", errnum, msg, NULL);
    return -1;
}

/* An unexpected OSError while creating an entry: "<name>: <strerror>". */
static int fail_os(struct pyns_untar *u, struct pyns_error *err)
{
    int e = errno;
    return fail(err, e, "%.300s: %s%s", u->name, strerror(e), NULL);
}

static void warn(struct pyns_untar *u, const char *what, const char *detail)
{
    u->warnings++;
    snprintf(u->warning, sizeof u->warning, "%.120s: %s %.100s", u->name, what, detail);
}

/* -- hash tables ------------------------------------------------------------ */

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].key && t->slots[i].key != TOMBSTONE)
            free(t->slots[i].key);
    free(t->slots);
    t->slots = NULL;
    t->cap = t->used = 0;
}

static struct slot *table_find(struct table *t, const char *key)
{
    if (!t->cap)
        return NULL;
    for (size_t i = hash(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        struct slot *s = &t->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != TOMBSTONE && strcmp(s->key, key) == 0)
            return s;
    }
}

static int table_put(struct table *t, const char *key, long long atime, long long mtime);

static int table_grow(struct table *t)
{
    struct table bigger = { calloc(t->cap ? t->cap * 2 : 256, sizeof(struct slot)), t->cap ? t->cap * 2 : 256, 0 };
    if (!bigger.slots)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        struct slot *s = &t->slots[i];
        if (s->key && s->key != TOMBSTONE) {
            size_t j = hash(s->key) & (bigger.cap - 1);
            while (bigger.slots[j].key)
                j = (j + 1) & (bigger.cap - 1);
            bigger.slots[j] = *s;
            bigger.used++;
        }
    }
    free(t->slots);
    *t = bigger;
    return 0;
}

static int table_put(struct table *t, const char *key, long long atime, long long mtime)
{
    struct slot *s = table_find(t, key);
    if (s) {
        s->atime = atime;
        s->mtime = mtime;
        return 0;
    }
    if ((t->used + 1) * 2 > t->cap && table_grow(t) < 0)
        return -1;
    size_t i = hash(key) & (t->cap - 1);
    while (t->slots[i].key && t->slots[i].key != TOMBSTONE)
        i = (i + 1) & (t->cap - 1);
    if (!t->slots[i].key)
        t->used++;
    if (!(t->slots[i].key = strdup(key)))
        return -1;
    t->slots[i].atime = atime;
    t->slots[i].mtime = mtime;
    return 0;
}

static void table_del(struct table *t, const char *key)
{
    struct slot *s = table_find(t, key);
    if (s) {
        free(s->key);
        s->key = TOMBSTONE;
    }
}

/* -- PAX records -------------------------------------------------------------- */

static void kv_clear(struct kvlist *l, int owned)
{
    if (owned)
        for (size_t i = 0; i < l->n; i++) {
            free(l->items[i].key);
            free(l->items[i].val);
        }
    l->n = 0;
}

static void kv_free(struct kvlist *l, int owned)
{
    kv_clear(l, owned);
    free(l->items);
    l->items = NULL;
    l->cap = 0;
}

/* Set key (owned copies); a later record for the same key replaces the earlier one. */
static int kv_set(struct kvlist *l, const char *key, size_t klen, const char *val, size_t vlen)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->items[i].key) == klen && memcmp(l->items[i].key, key, klen) == 0) {
            char *v = malloc(vlen + 1);
            if (!v)
                return -1;
            memcpy(v, val, vlen);
            v[vlen] = '\0';
            free(l->items[i].val);
            l->items[i].val = v;
            l->items[i].len = vlen;
            return 0;
        }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct kv *items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    struct kv *it = &l->items[l->n];
    it->key = strndup(key, klen);
    it->val = malloc(vlen + 1);
    if (!it->key || !it->val) {
        free(it->key);
        free(it->val);
        return -1;
    }
    memcpy(it->val, val, vlen);
    it->val[vlen] = '\0';
    it->len = vlen;
    l->n++;
    return 0;
}

static const struct kv *kv_get(const struct kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return &l->items[i];
    return NULL;
}

/* "LEN KEY=VALUE\n" records, LEN counting the whole record. */
static int parse_pax(struct pyns_untar *u, struct kvlist *into, const char *buf, size_t n, struct pyns_error *err)
{
    char where[24];
    pyns_fmt_u64(where, sizeof where, (unsigned long long)u->offset);
    size_t pos = 0;
    while (pos < n) {
        if (buf[pos] == '\0')
            break;  /* NUL padding after the last record */
        size_t len = 0, p = pos;
        while (p < n && buf[p] >= '0' && buf[p] <= '9' && len < META_MAX)
            len = len * 10 + (size_t)(buf[p++] - '0');
        if (p == pos || p >= n || buf[p] != ' ' || len < 5 || pos + len > n || buf[pos + len - 1] != '\n')
            return fail(err, 0, "invalid tar header at offset %s: invalid pax record%s%s", where, NULL, NULL);
        const char *key = buf + p + 1, *end = buf + pos + len - 1;
        const char *eq = memchr(key, '=', (size_t)(end - key));
        if (!eq || eq == key)
            return fail(err, 0, "invalid tar header at offset %s: invalid pax record%s%s", where, NULL, NULL);
        if (kv_set(into, key, (size_t)(eq - key), eq + 1, (size_t)(end - eq - 1)) < 0)
            return fail(err, ENOMEM, "out of memory reading pax records%s%s%s", "", NULL, NULL);
        pos += len;
    }
    return 0;
}

/* -- numbers and names ---------------------------------------------------------- */

/* A numeric header field: octal text, or GNU base-256 (first byte 0x80 / 0xff). */
static int field_num(const unsigned char *f, size_t n, long long *out)
{
    if (f[0] == 0x80 || f[0] == 0xff) {
        int neg = f[0] == 0xff;
        unsigned long long v = neg ? ~0ULL : 0;
        for (size_t i = 1; i < n; i++) {
            if (n > 8 && i < n - 8) {  /* beyond 64 bits: only sign bytes */
                if (f[i] != (neg ? 0xff : 0))
                    return -1;
                continue;
            }
            v = (v << 8) | f[i];
        }
        *out = (long long)v;
        return (*out < 0) == neg ? 0 : -1;
    }
    size_t i = 0, end = 0;
    while (end < n && f[end])
        end++;
    while (i < end && (f[i] == ' ' || f[i] == '\t'))
        i++;
    while (end > i && (f[end - 1] == ' ' || f[end - 1] == '\t'))
        end--;
    unsigned long long v = 0;
    for (; i < end; i++) {
        if (f[i] < '0' || f[i] > '7' || v >> 60)
            return -1;
        v = v * 8 + (unsigned long long)(f[i] - '0');
    }
    *out = (long long)v;
    return 0;
}

/* A decimal PAX number ("123", "1700000000.123456789", maybe signed) in
 * units of 10^-scale_digits; -1 when it is not one. */
static int pax_decimal(const char *s, int scale_digits, long long *out)
{
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (*s < '0' || *s > '9')
        return -1;
    long long whole = 0, frac = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (whole > 0x7fffffffffffffffLL / 10 - 10)
            return -1;
        whole = whole * 10 + (*s - '0');
    }
    int digits = 0;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return -1;
        for (; *s >= '0' && *s <= '9'; s++)
            if (digits < scale_digits) {
                frac = frac * 10 + (*s - '0');
                digits++;
            }
    }
    if (*s)
        return -1;
    for (; digits < scale_digits; digits++)
        frac *= 10;
    long long scale = 1;
    for (int i = 0; i < scale_digits; i++)
        scale *= 10;
    if (whole > (0x7fffffffffffffffLL - frac) / scale)
        return -1;
    *out = (whole * scale + frac) * (neg ? -1 : 1);
    return 0;
}

/* Lexically clean name into rel ("" for the root); -1 if it climbs out, -2
 * if the result would not fit in size bytes. */
static int clean_name(const char *name, char *rel, size_t size)
{
    const char *parts[PATH_BUF / 2];
    size_t lens[PATH_BUF / 2];
    size_t n = 0;
    const char *p = name;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - start);
        if (len == 1 && start[0] == '.')
            continue;
        if (len == 2 && start[0] == '.' && start[1] == '.') {
            if (!n)
                return -1;
            n--;
            continue;
        }
        if (n == sizeof lens / sizeof lens[0])
            return -2;
        parts[n] = start;
        lens[n++] = len;
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out + lens[i] + 2 > size)
            return -2;
        if (i)
            rel[out++] = '/';
        memcpy(rel + out, parts[i], lens[i]);
        out += lens[i];
    }
    rel[out] = '\0';
    return 0;
}

static void join(struct pyns_untar *u, char *dst, const char *rel)
{
    pyns_strlcpy(dst, u->dest, PATH_BUF);
    if (*rel) {
        pyns_strlcat(dst, "/", PATH_BUF);
        pyns_strlcat(dst, rel, PATH_BUF);
    }
}

/* -- tree helpers ------------------------------------------------------------- */

/* Remove the directory fd's contents (never following symlinks), then close it. */
static int empty_dir(int fd)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (unlinkat(fd, e->d_name, 0) == 0)
            continue;
        if (errno != EISDIR && errno != EPERM) {
            rc = -1;
            continue;
        }
        int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 && errno == EACCES && fchmodat(fd, e->d_name, 0700, 0) == 0)
            sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 || empty_dir(sub) < 0 || unlinkat(fd, e->d_name, AT_REMOVEDIR) < 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

static int remove_tree(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES && chmod(path, 0700) == 0)
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || empty_dir(fd) < 0)
        return -1;
    return rmdir(path);
}

/* Check (and with create, make) each parent of rel; the parent's path goes to out. */
static int walk_parents(struct pyns_untar *u, const char *rel, const char *entry, int create, char *out,
                        struct pyns_error *err)
{
    char prefix[PATH_BUF];
    const char *slash = rel;
    prefix[0] = '\0';
    while ((slash = strchr(slash, '/'))) {
        size_t len = (size_t)(slash - rel);
        memcpy(prefix, rel, len);
        prefix[len] = '\0';
        slash++;
        if (table_find(&u->known_dirs, prefix))
            continue;
        join(u, out, prefix);
        struct stat st;
        if (lstat(out, &st) < 0) {
            if (errno != ENOENT)
                return fail(err, errno, "%.300s: %s%s", entry, strerror(errno), NULL);
            if (!create)
                return fail(err, 0, "%s: %s does not exist in the layer%s", entry, prefix, NULL);
            if (mkdir(out, 0755) < 0 || chmod(out, 0755) < 0)
                return fail(err, errno, "%.300s: %s%s", entry, strerror(errno), NULL);
        } else if (S_ISLNK(st.st_mode)) {
            return fail(err, 0, "%s: parent %s is a symlink%s", entry, prefix, NULL);
        } else if (!S_ISDIR(st.st_mode)) {
            return fail(err, 0, "%s: parent %s is not a directory%s", entry, prefix, NULL);
        }
        if (table_put(&u->known_dirs, prefix, 0, 0) < 0)
            return fail(err, ENOMEM, "%s: out of memory%s%s", entry, NULL, NULL);
    }
    join(u, out, prefix);
    return 0;
}

/* Remove whatever is at path; keep a directory if keep_dir. 1 if kept, 0 if gone, -1 on error. */
static int clear(struct pyns_untar *u, const char *path, int keep_dir, struct pyns_error *err)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return fail_os(u, err);
    }
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir)
            return 1;
        if (remove_tree(path) < 0)
            return fail_os(u, err);
        table_free(&u->known_dirs);  /* rare: forget every checked dir rather than the ones below */
        return 0;
    }
    if (unlink(path) < 0)
        return fail_os(u, err);
    return 0;
}

/* -- metadata ----------------------------------------------------------------- */

static int set_owner(struct pyns_untar *u, int fd, const char *path, struct pyns_error *err)
{
    if (!(u->flags & PYNS_UNTAR_SAME_OWNER))
        return 0;
    int rc = fd >= 0 ? fchown(fd, (uid_t)u->uid, (gid_t)u->gid)
                     : lchown(path, (uid_t)u->uid, (gid_t)u->gid);
    return rc < 0 ? fail_os(u, err) : 0;
}

static int set_xattrs(struct pyns_untar *u, int fd, const char *path, struct pyns_error *err)
{
    for (size_t i = 0; i < u->xattrs.n; i++) {
        const struct kv *x = &u->xattrs.items[i];
        const char *name = x->key + strlen("SCHILY.xattr.");
        if (!strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13)) {
            warn(u, "ignoring reserved xattr", name);
            continue;
        }
        int rc = fd >= 0 ? fsetxattr(fd, name, x->val, x->len, 0) : lsetxattr(path, name, x->val, x->len, 0);
        if (rc < 0) {
            if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP)
                return fail_os(u, err);
            warn(u, "cannot set xattr", name);
        }
    }
    return 0;
}

static void times_of(const struct pyns_untar *u, struct timespec ts[2])
{
    ts[0].tv_sec = u->atime_ns / 1000000000LL;
    ts[0].tv_nsec = u->atime_ns % 1000000000LL;
    ts[1].tv_sec = u->mtime_ns / 1000000000LL;
    ts[1].tv_nsec = u->mtime_ns % 1000000000LL;
    for (int i = 0; i < 2; i++)
        if (ts[i].tv_nsec < 0) {
            ts[i].tv_nsec += 1000000000LL;
            ts[i].tv_sec--;
        }
}

static int set_times(struct pyns_untar *u, int fd, const char *path, struct pyns_error *err)
{
    struct timespec ts[2];
    times_of(u, ts);
    int rc = fd >= 0 ? futimens(fd, ts) : utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
    return rc < 0 ? fail_os(u, err) : 0;
}

/* -- entries ------------------------------------------------------------------- */

static int finish_file(struct pyns_untar *u, struct pyns_error *err)
{
    int rc = 0;
    if (set_owner(u, u->fd, u->path, err) < 0 || (fchmod(u->fd, u->mode & 07777) < 0 && fail_os(u, err)) ||
        set_xattrs(u, u->fd, u->path, err) < 0 || set_times(u, u->fd, u->path, err) < 0)
        rc = -1;
    close(u->fd);
    u->fd = -1;
    u->total_size += (long long)u->size;
    return rc;
}

static int whiteout(struct pyns_untar *u, const char *base, struct pyns_error *err)
{
    char parent[PATH_BUF];
    if (walk_parents(u, u->rel, u->name, 1, parent, err) < 0)
        return -1;
    if (!strcmp(base, ".wh..wh..opq")) {
        const char *xattr = u->flags & PYNS_UNTAR_USER_XATTR ? "user.overlay.opaque" : "trusted.overlay.opaque";
        if (lsetxattr(parent, xattr, "y", 1, 0) < 0) {
            if (errno == EPERM)
                return fail(err, EPERM, "%s: marking an opaque directory requires root%s%s", u->name, NULL, NULL);
            return fail_os(u, err);
        }
        return 0;
    }
    if (!strncmp(base, ".wh..wh.", 8))
        return 0;  /* aufs bookkeeping (.wh..wh.plnk ...): meaningless for overlayfs */
    const char *hidden = base + 4;
    if (!*hidden || !strcmp(hidden, ".") || !strcmp(hidden, ".."))
        return fail(err, 0, "%s: invalid whiteout name%s%s", u->name, NULL, NULL);
    snprintf(u->path, sizeof u->path, "%s/%s", parent, hidden);
    if (clear(u, u->path, 0, err) < 0)
        return -1;
    if (mknod(u->path, S_IFCHR, makedev(0, 0)) < 0) {
        if (errno == EPERM)
            return fail(err, EPERM, "%s: creating whiteouts requires root%s%s", u->name, NULL, NULL);
        return fail_os(u, err);
    }
    return set_owner(u, -1, u->path, err);
}

static int hardlink(struct pyns_untar *u, const char *link, struct pyns_error *err)
{
    char target_rel[PATH_BUF], target[PATH_BUF];
    int rc = clean_name(link, target_rel, PATH_BUF - u->dest_len - 1);
    if (rc == -2)
        return fail(err, ENAMETOOLONG, "%s: hardlink target too long%s%s", u->name, NULL, NULL);
    if (rc < 0)
        return fail(err, 0, "%s: hardlink target %s escapes the layer root%s", u->name, link, NULL);
    if (!*target_rel)
        return fail(err, 0, "%s: hardlink to the layer root%s%s", u->name, NULL, NULL);
    if (walk_parents(u, target_rel, u->name, 0, target, err) < 0)
        return -1;
    join(u, target, target_rel);
    struct stat st;
    if (lstat(target, &st) < 0) {
        if (errno == ENOENT)
            return fail(err, 0, "%s: hardlink target %s not found in layer%s", u->name, link, NULL);
        return fail_os(u, err);
    }
    if (S_ISDIR(st.st_mode))
        return fail(err, 0, "%s: hardlink target %s is a directory%s", u->name, link, NULL);
    return linkat(AT_FDCWD, target, AT_FDCWD, u->path, 0) < 0 ? fail_os(u, err) : 0;
}

/* The entry whose header (and extensions) were just read. Sets the next state. */
static int entry(struct pyns_untar *u, char type, const char *link, struct pyns_error *err)
{
    int regular = type == '0' || type == '\0' || type == '7';
    u->st = S_PAD;
    u->remaining = 0;
    if (regular) {  /* unless a file is opened below, its data is skipped */
        u->st = u->size ? S_SKIP : S_PAD;
        u->remaining = u->size;
    }
    /* rel is bounded so that dest "/" rel always fits a path buffer: no join is ever cut short */
    int rc = clean_name(u->name, u->rel, PATH_BUF - u->dest_len - 1);
    if (rc == -2)
        return fail(err, ENAMETOOLONG, "%.200s...: file name too long%s%s", u->name, NULL, NULL);
    if (rc < 0)
        return fail(err, 0, "%s: path escapes the layer root%s%s", u->name, NULL, NULL);
    u->entries++;
    if (!*u->rel) {
        if (type != '5')
            return fail(err, 0, "%s: the layer root must be a directory%s%s", u->name, NULL, NULL);
        return 0;  /* like docker: the root's own metadata is not applied */
    }
    const char *base = strrchr(u->rel, '/');
    base = base ? base + 1 : u->rel;
    if (!strncmp(base, ".wh.", 4))
        return whiteout(u, base, err);
    char parent[PATH_BUF];
    if (walk_parents(u, u->rel, u->name, 1, parent, err) < 0)
        return -1;
    join(u, u->path, u->rel);
    int existed = clear(u, u->path, type == '5', err);
    if (existed < 0)
        return -1;
    table_del(&u->dir_times, u->rel);
    switch (type) {
    case '0': case '\0': case '7':
        u->fd = open(u->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (u->fd < 0)
            return fail_os(u, err);
        if (!u->size)
            return finish_file(u, err);
        u->st = S_DATA;
        return 0;
    case '5':
        if (!existed && mkdir(u->path, 0700) < 0)
            return fail_os(u, err);
        if (table_put(&u->known_dirs, u->rel, 0, 0) < 0)
            return fail(err, ENOMEM, "%s: out of memory%s%s", u->name, NULL, NULL);
        if (set_owner(u, -1, u->path, err) < 0 || (chmod(u->path, u->mode & 07777) < 0 && fail_os(u, err)) ||
            set_xattrs(u, -1, u->path, err) < 0)
            return -1;
        if (table_put(&u->dir_times, u->rel, u->atime_ns, u->mtime_ns) < 0)
            return fail(err, ENOMEM, "%s: out of memory%s%s", u->name, NULL, NULL);
        return 0;
    case '2':
        if (symlink(link, u->path) < 0)
            return fail_os(u, err);
        if (set_owner(u, -1, u->path, err) < 0 || set_xattrs(u, -1, u->path, err) < 0)
            return -1;
        return set_times(u, -1, u->path, err);
    case '1':
        return hardlink(u, link, err);
    case '3': case '4': case '6':
        if (type == '6' ? mkfifo(u->path, 0600) < 0
                        : mknod(u->path, (type == '3' ? S_IFCHR : S_IFBLK) | 0600,
                                makedev((unsigned)u->devmajor, (unsigned)u->devminor)) < 0) {
            if (errno == EPERM && type != '6')
                return fail(err, EPERM, "%s: creating device nodes requires root%s%s", u->name, NULL, NULL);
            return fail_os(u, err);
        }
        if (set_owner(u, -1, u->path, err) < 0 || (chmod(u->path, u->mode & 07777) < 0 && fail_os(u, err)) ||
            set_xattrs(u, -1, u->path, err) < 0)
            return -1;
        return set_times(u, -1, u->path, err);
    default: {
        char t[8];
        snprintf(t, sizeof t, (unsigned char)type >= 32 && (unsigned char)type < 127 ? "'%c'" : "'\\x%02x'",
                 (unsigned char)type);
        return fail(err, 0, "%s: unsupported tar entry type %s%s", u->name, t, NULL);
    }
    }
}

/* -- headers -------------------------------------------------------------------- */

static size_t bounded_len(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i])
        i++;
    return i;
}

/* Borrow (not copy) every SCHILY.xattr.* record of the global and the entry's PAX headers. */
static int collect_xattrs(struct pyns_untar *u)
{
    const struct kvlist *lists[2] = { &u->global, &u->pax };
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < lists[l]->n; i++) {
            const struct kv *x = &lists[l]->items[i];
            if (strncmp(x->key, "SCHILY.xattr.", 13) || (l == 0 && kv_get(&u->pax, x->key)))
                continue;
            if (u->xattrs.n == u->xattrs.cap) {
                size_t cap = u->xattrs.cap ? u->xattrs.cap * 2 : 8;
                struct kv *items = realloc(u->xattrs.items, cap * sizeof *items);
                if (!items)
                    return -1;
                u->xattrs.items = items;
                u->xattrs.cap = cap;
            }
            u->xattrs.items[u->xattrs.n++] = *x;
        }
    return 0;
}

/* Forget the extensions the previous entry used. */
static void drop_extensions(struct pyns_untar *u)
{
    free(u->long_name);
    free(u->long_link);
    u->long_name = u->long_link = NULL;
    kv_clear(&u->pax, 1);
    kv_clear(&u->xattrs, 0);
    u->consumed = 0;
}

/* The entry's PAX record for key, else the global one; NULL if neither. */
static const char *pax_string(struct pyns_untar *u, const char *key)
{
    const struct kv *v = kv_get(&u->pax, key);
    if (!v)
        v = kv_get(&u->global, key);
    return v ? v->val : NULL;
}

/* A PAX number in units of 10^-scale_digits into *out, when the record exists and is valid. */
static void pax_number(struct pyns_untar *u, const char *key, int scale_digits, long long *out)
{
    const char *v = pax_string(u, key);
    long long n;
    if (v && pax_decimal(v, scale_digits, &n) == 0)
        *out = n;
}

static int bad_header(struct pyns_untar *u, const char *why, struct pyns_error *err)
{
    char where[24];
    pyns_fmt_u64(where, sizeof where, (unsigned long long)u->offset);
    return fail(err, 0, "invalid tar header at offset %s: %s%s", where, why, NULL);
}

/* A complete 512-byte header in u->hdr: 1 at the end-of-archive block, 0 or -1. */
static int header(struct pyns_untar *u, struct pyns_error *err)
{
    const unsigned char *h = u->hdr;
    size_t i;
    for (i = 0; i < BLOCK && !h[i]; i++)
        ;
    if (i == BLOCK)
        return 1;
    if (u->consumed)
        drop_extensions(u);
    long long chk, mode, size, mtime;
    if (field_num(h + 148, 8, &chk) < 0)
        return bad_header(u, "invalid header", err);
    long long usum = 256, ssum = 256;
    for (i = 0; i < BLOCK; i++)
        if (i < 148 || i >= 156) {
            usum += h[i];
            ssum += (signed char)h[i];
        }
    if (chk != usum && chk != ssum)
        return bad_header(u, "bad checksum", err);
    if (field_num(h + 100, 8, &mode) < 0 || field_num(h + 108, 8, &u->uid) < 0 ||
        field_num(h + 116, 8, &u->gid) < 0 || field_num(h + 124, 12, &size) < 0 ||
        field_num(h + 136, 12, &mtime) < 0 || field_num(h + 329, 8, &u->devmajor) < 0 ||
        field_num(h + 337, 8, &u->devminor) < 0 || size < 0)
        return bad_header(u, "invalid header", err);
    char type = (char)h[156];
    u->size = (unsigned long long)size;
    if (type == 'x' || type == 'X' || type == 'g' || type == 'L' || type == 'K') {
        if (u->size > META_MAX)
            return bad_header(u, "extended header too large", err);
        char *meta = realloc(u->meta, u->size + 1);
        if (!meta)
            return fail(err, ENOMEM, "out of memory reading a tar header%s%s%s", "", NULL, NULL);
        u->meta = meta;
        u->meta_fill = 0;
        u->meta_type = type;
        u->datalen = u->remaining = u->size;
        u->st = S_META;
        return 0;
    }
    if (type == 'S')
        return fail(err, 0, "%s: unsupported tar entry type 'S' (GNU sparse)%s%s",
                    u->long_name ? u->long_name : "?", NULL, NULL);
    /* the name: header (with the ustar prefix), a GNU long name, a PAX path */
    size_t nlen = bounded_len(h, 100), plen = bounded_len(h + 345, 155);
    char name[PATH_BUF];
    if (plen)
        snprintf(name, sizeof name, "%.*s/%.*s", (int)plen, (const char *)h + 345, (int)nlen, (const char *)h);
    else
        snprintf(name, sizeof name, "%.*s", (int)nlen, (const char *)h);
    if (type == '\0' && nlen && h[nlen - 1] == '/')
        type = '5';  /* V7: a directory is a regular entry named "dir/" */
    char link[PATH_BUF];
    snprintf(link, sizeof link, "%.*s", (int)bounded_len(h + 157, 100), (const char *)h + 157);
    const char *s;
    if ((s = pax_string(u, "path")) || (s = u->long_name)) {
        if (strlen(s) >= sizeof name)  /* longer than any path the kernel takes */
            return fail(err, ENAMETOOLONG, "%.200s...: file name too long%s%s", s, NULL, NULL);
        memcpy(name, s, strlen(s) + 1);
    }
    if ((s = pax_string(u, "linkpath")) || (s = u->long_link)) {
        if (strlen(s) >= sizeof link)
            return fail(err, ENAMETOOLONG, "%.200s...: link target too long%s%s", s, NULL, NULL);
        memcpy(link, s, strlen(s) + 1);
    }
    if (type == '5') {
        size_t n = strlen(name);
        while (n > 1 && name[n - 1] == '/')
            name[--n] = '\0';
    }
    snprintf(u->name, sizeof u->name, "%s", name);
    pax_number(u, "size", 0, &size);
    pax_number(u, "uid", 0, &u->uid);
    pax_number(u, "gid", 0, &u->gid);
    u->size = (unsigned long long)(size < 0 ? 0 : size);
    u->mode = (unsigned)mode;
    u->mtime_ns = mtime * 1000000000LL;
    pax_number(u, "mtime", 9, &u->mtime_ns);
    u->atime_ns = u->mtime_ns;
    pax_number(u, "atime", 9, &u->atime_ns);
    u->consumed = 1;
    if (collect_xattrs(u) < 0)
        return fail(err, ENOMEM, "out of memory reading a tar header%s%s%s", "", NULL, NULL);
    int regular = type == '0' || type == '\0' || type == '7';
    u->datalen = regular ? u->size : 0;
    return entry(u, type, link, err);
}

/* The extension record in u->meta is complete. */
static int meta_done(struct pyns_untar *u, struct pyns_error *err)
{
    u->meta[u->meta_fill] = '\0';
    switch (u->meta_type) {
    case 'L':
    case 'K': {
        char **slot = u->meta_type == 'L' ? &u->long_name : &u->long_link;
        free(*slot);
        if (!(*slot = strndup(u->meta, strlen(u->meta))))
            return fail(err, ENOMEM, "out of memory reading a tar header%s%s%s", "", NULL, NULL);
        return 0;
    }
    case 'g':
        return parse_pax(u, &u->global, u->meta, u->meta_fill, err);
    default:
        return parse_pax(u, &u->pax, u->meta, u->meta_fill, err);
    }
}

static void to_padding(struct pyns_untar *u)
{
    u->pad = (unsigned)((BLOCK - u->datalen % BLOCK) % BLOCK);
    u->st = u->pad ? S_PAD : S_HEADER;
}

/* -- API ------------------------------------------------------------------------- */

struct pyns_untar *pyns_untar_new(const char *dest, int flags, struct pyns_error *err)
{
    struct pyns_untar *u = calloc(1, sizeof *u);
    if (!u) {
        pyns_err_set(err, "untar", ENOMEM, "out of memory", NULL);
        return NULL;
    }
    if (strlen(dest) + 64 > sizeof u->dest) {  /* room for names below it */
        free(u);
        pyns_err_set(err, "untar", ENAMETOOLONG, "destination path too long: ", dest);
        return NULL;
    }
    snprintf(u->dest, sizeof u->dest, "%s", dest);
    u->dest_len = strlen(u->dest);
    u->flags = flags;
    u->fd = -1;
    u->st = S_HEADER;
    return u;
}

int pyns_untar_feed(struct pyns_untar *u, const unsigned char *buf, size_t len, struct pyns_error *err)
{
    size_t i = 0;
    while (i < len) {
        size_t left = len - i, take;
        switch (u->st) {
        case S_END:
            u->pos += (long long)left;
            return 1;
        case S_HEADER:
            if (!u->hdr_fill)
                u->offset = u->pos;
            take = left < BLOCK - u->hdr_fill ? left : BLOCK - u->hdr_fill;
            memcpy(u->hdr + u->hdr_fill, buf + i, take);
            u->hdr_fill += take;
            break;
        case S_META:
            take = left < u->remaining ? left : (size_t)u->remaining;
            memcpy(u->meta + u->meta_fill, buf + i, take);
            u->meta_fill += take;
            break;
        case S_DATA:
            take = left < u->remaining ? left : (size_t)u->remaining;
            for (size_t done = 0; done < take;) {
                ssize_t n = write(u->fd, buf + i + done, take - done);
                if (n < 0) {
                    if (errno == EINTR)
                        continue;
                    return fail_os(u, err);
                }
                done += (size_t)n;
            }
            break;
        case S_SKIP:
            take = left < u->remaining ? left : (size_t)u->remaining;
            break;
        default: /* S_PAD */
            take = left < u->pad ? left : u->pad;
            u->pad -= (unsigned)take;
            break;
        }
        i += take;
        u->pos += (long long)take;
        switch (u->st) {
        case S_HEADER:
            if (u->hdr_fill == BLOCK) {
                u->hdr_fill = 0;
                int rc = header(u, err);
                if (rc < 0)
                    return -1;
                if (rc == 1) {
                    u->st = S_END;
                    u->pos += (long long)(len - i);
                    return 1;
                }
                if (u->st == S_PAD)
                    to_padding(u);
            }
            break;
        case S_META:
        case S_DATA:
        case S_SKIP:
            u->remaining -= take;
            if (u->remaining)
                break;
            if (u->st == S_META && meta_done(u, err) < 0)
                return -1;
            if (u->st == S_DATA && finish_file(u, err) < 0)
                return -1;
            to_padding(u);
            break;
        default:
            if (!u->pad)
                u->st = S_HEADER;
            break;
        }
    }
    return u->st == S_END ? 1 : 0;
}

static int depth_desc(const void *a, const void *b)
{
    const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;
    int dx = 0, dy = 0;
    for (const char *p = x->key; *p; p++)
        dx += *p == '/';
    for (const char *p = y->key; *p; p++)
        dy += *p == '/';
    return dy - dx;
}

int pyns_untar_finish(struct pyns_untar *u, struct pyns_untar_result *res, struct pyns_error *err)
{
    if (u->st == S_HEADER && u->hdr_fill)
        return bad_header(u, "truncated header", err);
    if (u->st != S_HEADER && u->st != S_END)
        return fail(err, 0, "invalid tar stream after %s: unexpected end of data%s%s",
                    u->st == S_META ? "an extended header" : u->name, NULL, NULL);
    /* directory times, deepest first, each path re-checked to still be a real directory */
    size_t n = 0;
    struct slot **dirs = calloc(u->dir_times.cap + 1, sizeof *dirs);
    if (!dirs)
        return fail(err, ENOMEM, "out of memory%s%s%s", "", NULL, NULL);
    for (size_t i = 0; i < u->dir_times.cap; i++)
        if (u->dir_times.slots[i].key && u->dir_times.slots[i].key != TOMBSTONE)
            dirs[n++] = &u->dir_times.slots[i];
    qsort(dirs, n, sizeof *dirs, depth_desc);
    struct pyns_error ignored;
    for (size_t i = 0; i < n; i++) {
        char parent[PATH_BUF], path[PATH_BUF];
        struct stat st;
        if (walk_parents(u, dirs[i]->key, dirs[i]->key, 0, parent, &ignored) < 0)
            continue;
        join(u, path, dirs[i]->key);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            u->atime_ns = dirs[i]->atime;
            u->mtime_ns = dirs[i]->mtime;
            struct timespec ts[2];
            times_of(u, ts);
            utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
        }
    }
    free(dirs);
    res->size = u->total_size;
    res->entries = u->entries;
    res->warnings = u->warnings;
    pyns_strlcpy(res->warning, u->warning, sizeof res->warning);
    return 0;
}

void pyns_untar_free(struct pyns_untar *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    drop_extensions(u);
    kv_free(&u->pax, 1);
    kv_free(&u->global, 1);
    kv_free(&u->xattrs, 0);
    free(u->meta);
    table_free(&u->known_dirs);
    table_free(&u->dir_times);
    free(u);
}
