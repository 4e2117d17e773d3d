"""Every read of the investigations app that views, the API, reports and tasks share, by sub-domain.

One function per question, keyword-only. The error contract is the alerts app's: a function
that fetches one row raises ``airportal.errors.NotFound`` when it is missing (views answer 404
through ``airportal.shortcuts.get_or_404``, the API's exception handler a 404 body). Every list
costs a constant number of queries whatever its length (prefetches and correlated counts, no
per-row lookups); tests pin the counts.
"""
