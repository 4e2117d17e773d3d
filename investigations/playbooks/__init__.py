"""Playbooks: what an investigation runs. One module per playbook; ``PLAYBOOKS`` maps names to them."""

from investigations.playbooks import compromised_user

PLAYBOOKS = {compromised_user.NAME: compromised_user}
