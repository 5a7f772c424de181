#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# varlink-names.py OUT IN...: write a C header naming each interface and each of its errors, from
# the varlink interface files themselves, so that an error's name is spelled once: in its file.
#   interface io.corral.Supervisor     -> #define VARLINK_IO_CORRAL_SUPERVISOR "io.corral.Supervisor"
#   error NoSuchBackend (name: string) -> #define VARLINK_ERROR_NO_SUCH_BACKEND "io.corral.Supervisor.NoSuchBackend"
# Two interfaces declaring errors of the same name fail the build (their macros would collide).
import re
import sys


def parse(path):
    """(interface, [methods], [errors]) of one interface file."""
    text = re.sub(r'#[^\n]*', '', open(path, encoding='utf-8').read())
    interface = re.search(r'^\s*interface\s+([A-Za-z0-9.]+)', text, re.M).group(1)
    methods = re.findall(r'^\s*method\s+([A-Z][A-Za-z0-9]*)\s*\(', text, re.M)
    errors = re.findall(r'^\s*error\s+([A-Z][A-Za-z0-9]*)\s*\(', text, re.M)
    return interface, methods, errors


def macro(name):
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', name).upper()


def main(out, paths):
    lines = ['/* Generated from %s by tools/varlink-names.py. */' % ', '.join(p.split('/')[-1] for p in paths),
             '#pragma once', '']
    seen = {}
    for path in paths:
        interface, _, errors = parse(path)
        lines.append('#define VARLINK_%s "%s"' % (macro(interface.replace('.', '_')), interface))
        for e in errors:
            if e in seen:
                sys.exit('%s: error %s is declared by %s too' % (path, e, seen[e]))
            seen[e] = interface
            lines.append('#define VARLINK_ERROR_%s "%s.%s"' % (macro(e), interface, e))
        lines.append('')
    with open(out, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
