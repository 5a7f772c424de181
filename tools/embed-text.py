#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# embed-text.py IN OUT NAME: write a C header defining NAME as the text of IN.
import json, sys

src, out, name = sys.argv[1:4]
text = open(src, encoding="utf-8").read()
with open(out, "w", encoding="utf-8") as f:
    f.write("/* Generated from %s by tools/embed-text.py. */\n#pragma once\n" % src.split("/")[-1])
    f.write("static const char %s[] = %s;\n" % (name, json.dumps(text)))
