/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-main.c: without libFuzzer, a fuzz target replays the files and directories it is given. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        FILE *f = fopen(path, "re");
        uint8_t *buf;
        long n;

        if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
                fprintf(stderr, "cannot read %s\n", path);
                if (f)
                        fclose(f);
                return 1;
        }
        buf = malloc((size_t) n + 1);
        if (!buf || fread(buf, 1, (size_t) n, f) != (size_t) n) {
                fclose(f);
                free(buf);
                return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t) n);
        free(buf);
        return 0;
}

static int run_path(const char *path) {
        struct stat st;
        struct dirent *de;
        DIR *d;
        int r = 0, n = 0;

        if (stat(path, &st) < 0)
                return fprintf(stderr, "cannot stat %s\n", path), 1;
        if (!S_ISDIR(st.st_mode))
                return run_file(path);
        d = opendir(path);
        while (d && (de = readdir(d))) {
                char p[4096];
                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
                r |= run_file(p);
                n++;
        }
        if (d)
                closedir(d);
        printf("%s: %d inputs replayed\n", path, n);
        return r;
}

int main(int argc, char **argv) {
        int r = 0;

        for (int i = 1; i < argc; i++)
                if (argv[i][0] != '-') /* libFuzzer options are ignored here */
                        r |= run_path(argv[i]);
        return r;
}
