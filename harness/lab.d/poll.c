/* lab_poll: a fast in-guest poller of debugfs migration `state` files.
 *
 * lab_poll --now    prints CLOCK_REALTIME as seconds.nanoseconds (busybox date has no %N)
 * lab_poll OUT NAME=PATH [NAME=PATH ...]
 * Reads every PATH in turn as fast as it can and appends a line to OUT each
 * time one reads differently from its previous read:
 *   <CLOCK_REALTIME seconds.nanoseconds> <NAME> <content or errno name>
 * On SIGTERM it writes "# reads <N>" and exits. One clock with QMP's event
 * timestamps (QEMU stamps events with the real-time clock).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXF 8
static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static const char *errname(int e) {
    switch (e) {
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    case EBUSY: return "EBUSY";
    case EAGAIN: return "EAGAIN";
    default: return "EIO";
    }
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--now") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        printf("%ld.%09ld\n", (long)ts.tv_sec, ts.tv_nsec);
        return 0;
    }
    if (argc < 3 || argc - 2 > MAXF) {
        fprintf(stderr, "usage: lab_poll OUT NAME=PATH...\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out) { perror(argv[1]); return 1; }
    int n = argc - 2;
    const char *name[MAXF], *path[MAXF];
    char last[MAXF][64];
    for (int i = 0; i < n; i++) {
        char *eq = strchr(argv[i + 2], '=');
        if (!eq) { fprintf(stderr, "bad argument %s\n", argv[i + 2]); return 2; }
        *eq = 0;
        name[i] = argv[i + 2];
        path[i] = eq + 1;
        last[i][0] = 0;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    unsigned long reads = 0;
    while (!stop) {
        for (int i = 0; i < n; i++) {
            char buf[64];
            int fd = open(path[i], O_RDONLY);
            ssize_t r = -1;
            int err = 0;
            if (fd >= 0) {
                r = read(fd, buf, sizeof buf - 1);
                if (r < 0) err = errno;
                close(fd);
            } else {
                err = errno;
            }
            if (r >= 0) {
                buf[r] = 0;
                char *nl = strchr(buf, '\n');
                if (nl) *nl = 0;
            } else {
                snprintf(buf, sizeof buf, "%s", errname(err));
            }
            reads++;
            if (strcmp(buf, last[i]) != 0) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                fprintf(out, "%ld.%09ld %s %s\n", (long)ts.tv_sec, ts.tv_nsec, name[i], buf);
                fflush(out);
                snprintf(last[i], sizeof last[i], "%s", buf);
            }
        }
    }
    fprintf(out, "# reads %lu\n", reads);
    fclose(out);
    return 0;
}
