"""The investigations pages, one module per page family; ``investigations/urls.py`` maps them.

Function-based views: reads through ``investigations.selectors``, writes through the services
in ``investigations.services``; htmx requests get a named partial of the page's template.
Live parts poll only while something is running and stop with HTTP 286.
"""
