/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-pause.c: the tiny sleeping backend of the scale rows: statically linked, so that its own
 * start (no dynamic loader) does not hide the supervisor's cost. */
#include <unistd.h>

int main(void) {
        for (;;)
                pause();
}
