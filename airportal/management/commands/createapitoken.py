from django.core.management.base import BaseCommand

from airportal.roles import Role
from airportal.services import user_get_or_create
from airportal.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USERNAME (creating the user if missing) and print it as the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values, help="The user's role.")
        parser.add_argument("--name", default="", help="A label for the token.")

    def handle(self, *args, username, role, name, **options):
        user, created = user_get_or_create(username=username, role=Role(role))
        token, raw = api_token_create(user=user, name=name or "createapitoken")
        verb = "Created user" if created else "User"
        self.stderr.write(f"{verb} {username!r} with role {role}; token {token.prefix}… stored hashed.")
        self.stdout.write(raw)
