#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-client-deps.py: the corral command loads what varlink needs and no more: libsystemd, libcgroup,
# libinih (and through them libgcrypt, lzma, zstd, lz4) are corral-run's, for run and verify only;
# libcap and libseccomp are corrald's and corral-run's (corrald resolves the names corral sends); with
# client-static-jansson (meson option), not even libjansson: libc alone.
import subprocess
import sys

FORBIDDEN = ('libsystemd', 'libcgroup', 'libinih', 'libgcrypt', 'liblzma', 'libzstd', 'liblz4', 'libcap',
             'libseccomp')


def needed(path):
    out = subprocess.run(['readelf', '-d', path], check=True, capture_output=True, text=True).stdout
    return [line.split('[', 1)[1].rstrip(']') for line in out.splitlines() if '(NEEDED)' in line]


def main():
    corral, runner, jansson = sys.argv[1], sys.argv[2], sys.argv[3]
    forbidden = FORBIDDEN + (('libjansson',) if jansson == 'static-jansson' else ())
    bad = [lib for lib in needed(corral) if lib.startswith(forbidden)]
    if bad:
        print(f'{corral} needs {", ".join(bad)}: a client verb pulled in what only run/verify use')
        return 1
    if not any(lib.startswith('libsystemd') for lib in needed(runner)):
        print(f'{runner} does not need libsystemd: is it still the one that embeds libcorral?')
        return 1
    print(f'corral needs {", ".join(needed(corral))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
