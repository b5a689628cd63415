/*
 * fuzz_file.h — the fuzz targets whose code under test reads a path: the
 * input as a memory file.
 */
#ifndef ZEVAL_FUZZ_FILE_H
#define ZEVAL_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* data[0..size) in a memory file; path gets its /proc name.  The file's
 * descriptor (close it when done), or -1. */
static inline int fuzz_mem_file(const uint8_t *data, size_t size, char path[64])
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return -1;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
