/* Parse the flat plan Python writes: NUL-separated tokens, a keyword
 * followed by a fixed number of arguments. One format serves both callers
 * of the spawn code: the cffi module (plan passed as bytes) and the
 * monitor executable (plan read from a file), so there is one parser.
 * All allocation happens here, in the parent, before clone(). */
#include "pyns.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
    char *p, *end;
};

static const char *next_tok(struct cursor *c)
{
    if (c->p >= c->end)
        return NULL;
    char *t = c->p;
    char *nul = memchr(t, '\0', (size_t)(c->end - t));
    if (!nul)
        return NULL;
    c->p = nul + 1;
    return t;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *e;
    if (!s || !*s)
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (errno || *e)
        return -1;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long *out)
{
    char *e;
    if (!s || !*s)
        return -1;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || *e)
        return -1;
    *out = v;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Hex text -> freshly allocated bytes (the seccomp program). */
static int parse_hex(const char *s, unsigned char **out, size_t *len)
{
    size_t n = strlen(s), i;
    if (n % 2)
        return -1;
    unsigned char *b = malloc(n / 2 + 1);
    if (!b)
        return -1;
    for (i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return -1;
        }
        b[i] = (unsigned char)(hi << 4 | lo);
    }
    free(*out);
    *out = b;
    *len = n / 2;
    return 0;
}

static const char *opt(const char *s)
{
    return (s && *s) ? s : NULL;
}

struct pyns_plan *pyns_plan_parse(const char *buf, size_t len, struct pyns_error *err)
{
    struct pyns_plan *p = calloc(1, sizeof *p);
    size_t ntok = 0, i;
    if (!p)
        goto oom;
    p->buf = malloc(len + 1);
    if (!p->buf)
        goto oom;
    memcpy(p->buf, buf, len);
    p->buf[len] = '\0';
    for (i = 0; i < len; i++)
        if (p->buf[i] == '\0')
            ntok++;
    /* Upper bounds: every list gets room for all tokens (+1 for NULL). */
    p->ops = calloc(ntok + 1, sizeof *p->ops);
    p->masks = calloc(ntok + 1, sizeof *p->masks);
    p->readonly = calloc(ntok + 1, sizeof *p->readonly);
    p->cgroup_procs = calloc(ntok + 1, sizeof *p->cgroup_procs);
    p->cgroup_dirs = calloc(ntok + 1, sizeof *p->cgroup_dirs);
    p->rlimits = calloc(ntok + 1, sizeof *p->rlimits);
    p->groups = calloc(ntok + 1, sizeof *p->groups);
    p->env = calloc(ntok + 1, sizeof *p->env);
    p->argv = calloc(ntok + 1, sizeof *p->argv);
    p->on_exit = calloc(ntok + 1, sizeof *p->on_exit);
    p->idmaps = calloc(ntok + 1, sizeof *p->idmaps);
    p->sysctls = calloc(ntok + 1, sizeof *p->sysctls);
    if (!p->idmaps || !p->sysctls || !p->ops || !p->masks || !p->readonly || !p->cgroup_procs || !p->cgroup_dirs ||
        !p->rlimits || !p->groups || !p->env || !p->argv || !p->on_exit)
        goto oom;

    struct cursor c = {p->buf, p->buf + len};
    const char *k;
    while ((k = next_tok(&c)) != NULL) {
        const char *a = NULL, *b = NULL, *d = NULL, *e = NULL, *f = NULL;
        uint64_t u = 0, u2 = 0;
        long l = 0;
#define ARG(x) do { if (!((x) = next_tok(&c))) goto trunc; } while (0)
        if (!strcmp(k, "ns")) {
            ARG(a);
            if (parse_long(a, &l)) goto bad;
            p->clone_flags = (int)l;
        } else if (!strcmp(k, "cgroupns")) {
            p->cgroupns = 1;
        } else if (!strcmp(k, "lo_up")) {
            p->lo_up = 1;
        } else if (!strcmp(k, "readonly_root")) {
            p->readonly_root = 1;
        } else if (!strcmp(k, "no_pivot")) {
            p->no_pivot = 1;
        } else if (!strcmp(k, "nnp")) {
            p->nnp = 1;
        } else if (!strcmp(k, "pdeathsig")) {
            ARG(a);
            if (parse_long(a, &l)) goto bad;
            p->pdeathsig = (int)l;
        } else if (!strcmp(k, "user")) {
            ARG(a); ARG(b);
            if (parse_u64(a, &u) || parse_u64(b, &u2)) goto bad;
            p->has_user = 1;
            p->uid = (uid_t)u;
            p->gid = (gid_t)u2;
        } else if (!strcmp(k, "group")) {
            ARG(a);
            if (parse_u64(a, &u)) goto bad;
            p->groups[p->ngroups++] = (gid_t)u;
        } else if (!strcmp(k, "caps")) {
            ARG(a);
            if (parse_u64(a, &u)) goto bad;
            p->caps = u;
            p->has_caps = 1;
        } else if (!strcmp(k, "rootfs")) {
            ARG(a); p->rootfs = a;
        } else if (!strcmp(k, "overlay")) {
            ARG(a); p->overlay = a;
        } else if (!strcmp(k, "overlay_dir")) {
            ARG(a); p->overlay_dir = a;
        } else if (!strcmp(k, "hostname")) {
            ARG(a); p->hostname = a;
        } else if (!strcmp(k, "tty")) {
            p->tty = 1;
        } else if (!strcmp(k, "winsize")) {
            ARG(a); ARG(b);
            if (parse_u64(a, &u) || parse_u64(b, &u2) || u > 65535 || u2 > 65535) goto bad;
            p->rows = (unsigned short)u;
            p->cols = (unsigned short)u2;
        } else if (!strcmp(k, "open_stdin")) {
            p->open_stdin = 1;
        } else if (!strcmp(k, "attach_sock")) {
            ARG(a); p->attach_sock = a;
        } else if (!strcmp(k, "join")) {
            ARG(a);
            if (parse_long(a, &l) || l <= 0) goto bad;
            p->join_pid = (int)l;
        } else if (!strcmp(k, "netns")) {
            ARG(a); p->netns = a;
        } else if (!strcmp(k, "cwd")) {
            ARG(a); p->cwd = a;
        } else if (!strcmp(k, "log")) {
            ARG(a); p->log_path = a;
        } else if (!strcmp(k, "exit_file")) {
            ARG(a); p->exit_path = a;
        } else if (!strcmp(k, "oom_file")) {
            ARG(a); p->oom_path = a;
        } else if (!strcmp(k, "mount")) {
            struct pyns_op *op = &p->ops[p->nops++];
            ARG(a); ARG(b); ARG(d); ARG(e); ARG(f);
            if (parse_u64(e, &u)) goto bad;
            op->kind = PYNS_OP_MOUNT;
            op->src = opt(a); op->dst = b; op->fstype = opt(d); op->flags = (unsigned long)u;
            op->data = opt(f);
        } else if (!strcmp(k, "mknod")) {
            struct pyns_op *op = &p->ops[p->nops++];
            uint64_t mj, mn;
            ARG(a); ARG(b); ARG(d); ARG(e);
            if (parse_u64(b, &u) || parse_u64(d, &mj) || parse_u64(e, &mn)) goto bad;
            op->kind = PYNS_OP_MKNOD;
            op->dst = a; op->mode = (unsigned)u; op->major = (unsigned)mj; op->minor = (unsigned)mn;
        } else if (!strcmp(k, "symlink")) {
            struct pyns_op *op = &p->ops[p->nops++];
            ARG(a); ARG(b);
            op->kind = PYNS_OP_SYMLINK;
            op->src = a; op->dst = b;
        } else if (!strcmp(k, "mkdir")) {
            struct pyns_op *op = &p->ops[p->nops++];
            ARG(a); ARG(b);
            if (parse_u64(b, &u)) goto bad;
            op->kind = PYNS_OP_MKDIR;
            op->dst = a; op->mode = (unsigned)u;
        } else if (!strcmp(k, "mask")) {
            ARG(a); p->masks[p->nmasks++] = a;
        } else if (!strcmp(k, "readonly")) {
            ARG(a); p->readonly[p->nreadonly++] = a;
        } else if (!strcmp(k, "cgroup_procs")) {
            ARG(a); p->cgroup_procs[p->ncgroup_procs++] = a;
        } else if (!strcmp(k, "cgroup_dir")) {
            ARG(a); p->cgroup_dirs[p->ncgroup_dirs++] = a;
        } else if (!strcmp(k, "rlimit")) {
            struct pyns_rlimit *r = &p->rlimits[p->nrlimits++];
            ARG(a); ARG(b); ARG(d);
            if (parse_long(a, &l) || parse_u64(b, &u) || parse_u64(d, &u2)) goto bad;
            r->resource = (int)l; r->soft = u; r->hard = u2;
        } else if (!strcmp(k, "env")) {
            ARG(a); p->env[p->nenv++] = (char *)a;
        } else if (!strcmp(k, "arg")) {
            ARG(a); p->argv[p->nargv++] = (char *)a;
        } else if (!strcmp(k, "seccomp")) {
            ARG(a);
            if (parse_hex(a, &p->seccomp, &p->seccomp_len) || p->seccomp_len % 8) goto bad;
        } else if (!strcmp(k, "uid_map")) {
            ARG(a); p->uid_map = a;
        } else if (!strcmp(k, "gid_map")) {
            ARG(a); p->gid_map = a;
        } else if (!strcmp(k, "idmap")) {
            ARG(a); p->idmaps[p->nidmaps++] = a;
        } else if (!strcmp(k, "userns_root")) {
            ARG(a); ARG(b);
            if (parse_u64(a, &u) || parse_u64(b, &u2)) goto bad;
            p->has_userns_root = 1;
            p->userns_uid = (uid_t)u;
            p->userns_gid = (gid_t)u2;
        } else if (!strcmp(k, "sysctl")) {
            ARG(a); ARG(b);
            if (strchr(a, '/') || a[0] == '.' || strstr(a, "..")) goto bad;
            p->sysctls[p->nsysctls++] = a;
            p->sysctls[p->nsysctls++] = b;
        } else if (!strcmp(k, "on_exit")) {
            ARG(a); p->on_exit[p->non_exit++] = (char *)a;
        } else {
            pyns_err_set(err, "plan", EINVAL, "unknown plan keyword: ", k);
            goto fail;
        }
        continue;
bad:
        pyns_err_set(err, "plan", EINVAL, "bad value for plan keyword: ", k);
        goto fail;
trunc:
        pyns_err_set(err, "plan", EINVAL, "truncated plan at keyword: ", k);
        goto fail;
#undef ARG
    }
    if (p->nargv == 0) {
        pyns_err_set(err, "plan", EINVAL, "plan has no command", NULL);
        goto fail;
    }
    if (!p->uid_map != !p->gid_map || (p->nidmaps && !p->uid_map)) {
        pyns_err_set(err, "plan", EINVAL, "a user namespace needs uid_map and gid_map", NULL);
        goto fail;
    }
    if (!p->rootfs && !p->join_pid) {
        pyns_err_set(err, "plan", EINVAL, "plan has no rootfs", NULL);
        goto fail;
    }
    return p;
oom:
    pyns_err_set(err, "plan", ENOMEM, "out of memory parsing the plan", NULL);
fail:
    pyns_plan_free(p);
    return NULL;
}

void pyns_plan_free(struct pyns_plan *p)
{
    if (!p)
        return;
    free(p->buf);
    free(p->ops);
    free(p->masks);
    free(p->readonly);
    free(p->cgroup_procs);
    free(p->cgroup_dirs);
    free(p->rlimits);
    free(p->groups);
    free(p->env);
    free(p->argv);
    free(p->on_exit);
    free(p->idmaps);
    free(p->sysctls);
    free(p->seccomp);
    free(p);
}
