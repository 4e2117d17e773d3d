"""Verdict quality: a labelled synthetic tenant (``corpus``), loaded through the real pipeline and
scored (``runner``). ``bench/quality.py`` prints the figures; ``test_quality.py`` holds them to the
targets of issue 12 (marker ``quality``).
"""
