"""Every read of the alerts app that views, the API, charts and tasks share, by sub-domain.

One function per question, keyword-only. The error contract is the same everywhere: a
function that fetches one row raises ``airportal.errors.NotFound`` when it is missing, and
input the read cannot answer raises ``airportal.errors.DomainError`` with the message to
show; views turn the first into a 404, the API's exception handler both into 4xx answers.
"""
