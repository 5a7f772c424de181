#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-exports: libcorral.so exports exactly the functions include/corral.h declares, and needs
# not libinih, which only the binaries' definition files need; debian/libcorral0.symbols (given as
# a third argument) lists exactly those functions, so a new export cannot first fail the package.
import re
import subprocess
import sys

lib, header = sys.argv[1], sys.argv[2]
text = re.sub(r'/\*.*?\*/', '', open(header).read(), flags=re.S)
declared = {n for n in re.findall(r'\b(corral_[a-z0-9_]+)\s*\(', text) if not n.endswith('_t')}
out = subprocess.run(['nm', '-D', '--defined-only', lib], capture_output=True, text=True, check=True).stdout
exported = {line.split()[-1].split('@')[0] for line in out.splitlines()
            if len(line.split()) == 3 and line.split()[1] in 'TtWi'}
needed = subprocess.run(['readelf', '-d', lib], capture_output=True, text=True, check=True).stdout
bad = []
if exported - declared:
    bad.append('exported but not declared in corral.h: ' + ' '.join(sorted(exported - declared)))
if declared - exported:
    bad.append('declared in corral.h but not exported: ' + ' '.join(sorted(declared - exported)))
if len(sys.argv) > 3:
    listed = set(re.findall(r'^ (corral_[a-z0-9_]+)@', open(sys.argv[3]).read(), flags=re.M))
    if exported - listed:
        bad.append('exported but not in %s: %s' % (sys.argv[3], ' '.join(sorted(exported - listed))))
    if listed - exported:
        bad.append('in %s but not exported: %s' % (sys.argv[3], ' '.join(sorted(listed - exported))))
for lib_name in ('libinih',):
    if lib_name in needed:
        bad.append('libcorral.so needs %s, which only the binaries use' % lib_name)
for b in bad:
    print('not ok - ' + b)
if not bad:
    print('ok - libcorral.so exports the %d functions of corral.h and nothing else' % len(declared))
sys.exit(1 if bad else 0)
