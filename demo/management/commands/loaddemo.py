from django.core.management.base import BaseCommand

from demo.loader import load_demo


class Command(BaseCommand):
    help = "Load a realistic demo tenant (users, activity with attacks in it) and demo console users."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="", help="Password for the demo users (default: generated).")

    def handle(self, *args, password, **options):
        report = load_demo(password=password or None, log=self.stdout.write)
        for line in report.credentials:
            self.stdout.write(self.style.SUCCESS(line))
