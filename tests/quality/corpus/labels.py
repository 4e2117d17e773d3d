"""The ground truth of the corpus: what each account really is."""

from dataclasses import dataclass

COMPROMISED = "compromised"  # an attack story's victim: the verdict must be compromised
BENIGN = "benign"  # the background: the verdict must be clean (no medium/high alert, ideally)
ODD = "odd"  # benign but odd (a new country alone…): at most suspicious
IMPACTED = "impacted"  # a mailbox a compromised admin exposed: judged by neither measure


@dataclass(frozen=True)
class Label:
    upn: str
    truth: str
    story: str
