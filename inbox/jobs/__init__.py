"""The jobs edge: polls and other work run by the scheduler and the CLI.

It owns orchestration — leases, a session per batch, commits, outage bookkeeping — and calls
``inbox.ingest`` (parse, dedupe, thread, store, given a session) and ``inbox.services``.
Nothing below it imports it: ingest and services never reach up here.
"""
