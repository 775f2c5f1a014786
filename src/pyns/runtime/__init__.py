"""The low-level runtime: a spec in, a process out.

Other tools can drive this layer without images or networks: build a
:class:`~pyns.runtime.spec.Spec`, turn it into a native plan and spawn it.
"""
