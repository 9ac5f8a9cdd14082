"""The server's authority on money: holds opened before any provider call, settled once.

``holds`` (the records), ``open_hold`` and ``settlement`` (the two transactions),
``service`` (what routes call), ``job_states`` (queued jobs to settlements), ``sweeper``.
See docs/billing.md.
"""
