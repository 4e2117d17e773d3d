"""Ingest, the simulated tenant's mirror and its actions lock rows in modes that never wait on
each other in a cycle (the soak once saw PostgreSQL abort a revoke_sessions for a deadlock), and
when the database does abort the simulated tenant's work, the action is retried, not failed.

PostgreSQL only: SQLite has no row locks. Each test holds a lock from another session and gives
this one a short ``lock_timeout``: a wait that the change removed would fail the test.
"""

from datetime import timedelta

import pytest
from django.db import transaction

from alerts.ingest import ingest_records
from alerts.models import Identity
from demo.models import SimulatedAccount
from demo.services import simulated_account_locked, simulated_accounts_ensure, simulated_tenant_sync
from investigations.models import Action
from investigations.services.remediation import action_execute
from tests.alerts.support.ingest import audit_logon
from tests.demo.test_simulated_remediation import act
from tests.investigations.support import T0, bec_attack, identity, signin
from tests.reliability.services import lock_timeout, row_locked

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("require_postgres")]


def test_ingest_updates_an_identity_that_another_transaction_is_referring_to():
    megan = Identity.objects.create(upn="megan@contoso.com")
    # Inserting a row that refers to the identity (an event, a simulated account) holds KEY SHARE.
    with row_locked("alerts_identity", megan.pk, "FOR KEY SHARE"), lock_timeout(500):
        result = ingest_records(source="o365-audit", records=[audit_logon("r1")])

    assert result.created == 1
    megan.refresh_from_db()
    assert megan.last_seen_at is not None


def test_the_simulated_account_is_locked_and_created_while_ingest_holds_the_identity():
    megan, adele = identity(), identity("adele.vance")
    simulated_accounts_ensure([megan.pk])
    # What ingest holds on an identity whose first/last seen it widens.
    with row_locked("alerts_identity", megan.pk, "FOR NO KEY UPDATE"), lock_timeout(500):
        with transaction.atomic():
            assert simulated_account_locked(megan.pk).identity == megan
        with row_locked("alerts_identity", adele.pk, "FOR NO KEY UPDATE"), transaction.atomic():
            assert simulated_account_locked(adele.pk).identity == adele  # created under the lock


def test_a_database_abort_in_the_simulated_tenant_is_retried_not_failed(settings):
    settings.REMEDIATION_CONNECTOR = "simulated"
    megan = identity()
    bec_attack(megan)
    signin(megan, T0 + timedelta(hours=1))
    simulated_tenant_sync(identity_ids=[megan.pk])
    account = SimulatedAccount.objects.get(identity=megan)
    action = act(megan, Action.Kind.REVOKE_SESSIONS)
    Action.objects.filter(pk=action.pk).update(status=Action.Status.APPROVED)

    with row_locked("investigations_simulatedaccount", account.pk, "FOR UPDATE"), lock_timeout(300):
        delay = action_execute(action_id=action.pk)

    action.refresh_from_db()
    assert delay is not None and delay > 0
    assert action.status == Action.Status.APPROVED  # waiting for its retry
    assert "503" in action.error and "aborted" in action.error
    assert account.sessions.filter(revoked_at__isnull=True).exists()  # nothing was applied

    action_execute(action_id=action.pk)  # the retry, with the tenant free again

    action.refresh_from_db()
    assert action.status == Action.Status.SUCCEEDED
    assert not account.sessions.filter(revoked_at__isnull=True).exists()
