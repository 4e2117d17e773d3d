"""A local stand-in for Microsoft's services: login, Graph, Management Activity API, Exchange admin API.

It speaks the documented shapes (token endpoint v2.0, ``@odata.nextLink`` and ``NextPageUri``
paging, AF* error codes, Retry-After) over TLS with a certificate from a throwaway CA, so the
tests prove the connector verifies TLS against the environment's CA bundle.
"""
