"""The API's JSON parser: DRF's, plus a 400 for bodies nested too deeply to decode.

Python's decoder raises ``RecursionError`` (not ``ValueError``) past ~1,000 levels, which DRF
does not catch: ``[[[[…]]]]`` from any client was a 500.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.")
