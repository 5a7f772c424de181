#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-varlink-names: every method and error name the code and the tests spell is one the
# interface files declare; and the code (src/) spells no error name at all: errors reach it only
# as the macros of varlink-names.h, generated from those files (tools/varlink-names.py). And every
# error declared is one the code uses: an error no one ever sends is a promise nobody keeps.
import importlib.util
import pathlib
import re
import sys

top = pathlib.Path(sys.argv[1])
spec = importlib.util.spec_from_file_location('varlink_names', top / 'tools/varlink-names.py')
names = importlib.util.module_from_spec(spec)
spec.loader.exec_module(names)

methods, errors = set(), set()
for f in sys.argv[2:]:
    interface, m, e = names.parse(f)
    methods |= {interface + '.' + x for x in m}
    errors |= {interface + '.' + x for x in e}
interfaces = sorted({n.rsplit('.', 1)[0] for n in methods | errors})
full = re.compile(r'(%s)\.([A-Z][A-Za-z0-9]*)' % '|'.join(re.escape(i) for i in interfaces))
# The code's short forms: IFACE "Stop", IFACE ".Stop", SERVICE ".GetInfo".
short = re.compile(r'\b(IFACE|SERVICE)\s+"\.?([A-Z][A-Za-z0-9]*)"')
prefix = {'IFACE': 'io.corral.Supervisor', 'SERVICE': 'org.varlink.service'}
# Named on purpose although no interface declares them: what an unknown method is answered with.
undeclared_on_purpose = {'io.corral.Supervisor.Frob'}
# Declared although corrald never sends them: the standard org.varlink.service interface's, as
# every service declares it.
unsent_on_purpose = {'org.varlink.service.MethodNotImplemented'}
macros = set()

bad = []
for d in ('src', 'tests'):
    for path in sorted((top / d).rglob('*')):
        if path.suffix not in ('.c', '.h') or not path.is_file():
            continue
        text = path.read_text(encoding='utf-8', errors='replace')
        used = {m.group(1) + '.' + m.group(2) for m in full.finditer(text)}
        used |= {prefix[m.group(1)] + '.' + m.group(2) for m in short.finditer(text)}
        rel = path.relative_to(top)
        for n in sorted(used - methods - errors - undeclared_on_purpose):
            bad.append('%s names %s, which no interface file declares' % (rel, n))
        if d == 'src':
            for n in sorted(used & errors):
                bad.append('%s spells the error %s: use its macro from varlink-names.h' % (rel, n))
            macros |= set(re.findall(r'\bVARLINK_ERROR_([A-Z0-9_]+)\b', text))
for n in sorted(errors - unsent_on_purpose):
    if names.macro(n.rsplit('.', 1)[1]) not in macros:
        bad.append('%s is declared, but src/ never sends it (VARLINK_ERROR_%s): send it where it '
                   'belongs or remove it from the interface' % (n, names.macro(n.rsplit('.', 1)[1])))
for b in bad:
    print('not ok - ' + b)
if not bad:
    print('ok - %d methods and %d errors declared; every name used is one of them' % (len(methods), len(errors)))
sys.exit(1 if bad else 0)
