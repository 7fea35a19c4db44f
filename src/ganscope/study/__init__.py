"""End-to-end experiments that combine the rest of ganscope, cached and resumable."""

from ganscope.study.pipeline import run_study
from ganscope.study.profiles import PROFILES, StudyProfile, Variant, get_profile

__all__ = ["PROFILES", "StudyProfile", "Variant", "get_profile", "run_study"]
