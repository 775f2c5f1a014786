"""Dockerfile builds: a pure parser (no I/O) and the classic builder on top of it.

The parser half (``parser``, ``instructions``, ``dockerfile``, ``words``,
``buildargs``, ``patterns``, ``dockerignore``, ``commitmsg``) only turns
text into values, so it can be property-tested without root. The builder
half (``builder`` and the modules it drives) runs each step against the
image store and, for RUN, in a real container. Entry point:
:func:`pyns.build.api.build`.
"""
