"""``manage.py simulatedtenant``: look at the simulated tenant, refresh it, make it misbehave.

manage.py simulatedtenant show megan.bowen@contoso.com
manage.py simulatedtenant sync                      # mirror new events of every identity
manage.py simulatedtenant fault throttle --times 2 --retry-after 5 --kind revoke_sessions
manage.py simulatedtenant clear-faults
"""

from django.core.management.base import BaseCommand, CommandError

from airportal.errors import DomainError
from alerts.models import Identity
from demo.models import SimulatedFault
from demo.selectors import simulated_tenant_state
from demo.services import simulated_fault_add, simulated_faults_clear, simulated_tenant_sync


class Command(BaseCommand):
    help = "Show, refresh or rehearse failures of the simulated tenant the 'simulated' connector acts on."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        show = commands.add_parser("show", help="what the tenant holds for one user")
        show.add_argument("upn")
        sync = commands.add_parser("sync", help="mirror newly ingested events (all users, or the ones named)")
        sync.add_argument("upns", nargs="*")
        fault = commands.add_parser("fault", help="make the next calls fail or stall")
        fault.add_argument("mode", choices=SimulatedFault.Mode.values)
        fault.add_argument("--kind", default="", help="only this action kind (default: any)")
        fault.add_argument("--times", type=int, default=1)
        fault.add_argument("--retry-after", type=float, default=None, help="seconds, for throttle")
        fault.add_argument("--delay", type=float, default=0.0, help="seconds, for slow_before / slow_after")
        fault.add_argument("--message", default="")
        commands.add_parser("clear-faults", help="remove every pending fault")

    def handle(self, *args, command, **options):
        if command == "show":
            identity = Identity.objects.filter(upn=options["upn"].strip().lower()).first()
            if identity is None:
                raise CommandError(f"{options['upn']} is not a monitored identity.")
            simulated_tenant_sync(identity_ids=[identity.pk])
            for name, value in simulated_tenant_state(identity=identity).items():
                self.stdout.write(f"{name:>20}: {value}")
        elif command == "sync":
            ids = None
            if options["upns"]:
                ids = list(
                    Identity.objects.filter(upn__in=[u.lower() for u in options["upns"]]).values_list("pk", flat=True)
                )
            self.stdout.write(f"{simulated_tenant_sync(identity_ids=ids)} events mirrored.")
        elif command == "fault":
            try:
                fault = simulated_fault_add(
                    mode=options["mode"],
                    kind=options["kind"],
                    remaining=options["times"],
                    retry_after=options["retry_after"],
                    delay_seconds=options["delay"],
                    message=options["message"],
                )
            except DomainError as exc:
                raise CommandError(exc.message)
            self.stdout.write(
                f"The next {fault.remaining} call(s) of {fault.kind or 'any kind'}: {fault.get_mode_display()}."
            )
        else:
            self.stdout.write(f"{simulated_faults_clear()} fault(s) removed.")
