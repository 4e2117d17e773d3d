"""An identity's timeline, at the root (``/users/<upn>/``) so the UPN reads as the address.

Included by ``airportal/urls.py`` under ``users/`` without a namespace, so the page keeps its
name ``identity_timeline``. ``<path:…>``: a UPN comes from the logs and may hold a "/"; the
page of every identity must resolve.
"""

from django.urls import path

from alerts.views import timeline

urlpatterns = [
    path("<path:upn>/", timeline.identity_timeline, name="identity_timeline"),
]
