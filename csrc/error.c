/* One error type for the whole C side: step + errno + message.
 * No allocation, no locale: these run in the child between clone and exec. */
#include "pyns.h"
#include <string.h>

size_t pyns_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return 0;
    while (src && src[n] && n + 1 < size) {
        dst[n] = src[n];
        n++;
    }
    dst[n] = '\0';
    return n;
}

size_t pyns_strlcat(char *dst, const char *src, size_t size)
{
    size_t used = 0;
    while (used < size && dst[used])
        used++;
    if (used >= size)
        return used;
    return used + pyns_strlcpy(dst + used, src, size - used);
}

void pyns_fmt_u64(char *dst, size_t size, unsigned long long v)
{
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i < (int)sizeof tmp);
    size_t n = 0;
    while (i > 0 && n + 1 < size)
        dst[n++] = tmp[--i];
    if (size)
        dst[n] = '\0';
}

void pyns_err_set(struct pyns_error *err, const char *step, int errnum, const char *a, const char *b)
{
    if (!err)
        return;
    err->errnum = errnum;
    pyns_strlcpy(err->step, step, sizeof err->step);
    err->msg[0] = '\0';
    if (a)
        pyns_strlcat(err->msg, a, sizeof err->msg);
    if (b)
        pyns_strlcat(err->msg, b, sizeof err->msg);
}

void pyns_proc_path(char *dst, size_t size, int pid, const char *name)
{
    char num[24];
    pyns_fmt_u64(num, sizeof num, (unsigned long long)pid);
    pyns_strlcpy(dst, "/proc/", size);
    pyns_strlcat(dst, num, size);
    pyns_strlcat(dst, "/", size);
    pyns_strlcat(dst, name, size);
}
