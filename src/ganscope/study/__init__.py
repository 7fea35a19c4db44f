"""End-to-end experiments that combine the rest of ganscope, as named stages with hashed caches.

- :func:`run_study`: the upsampling study (:mod:`ganscope.study.stages`, cached by
  :class:`~ganscope.study.cache.StageCache`), with its report.
- :data:`QUESTIONS`: the questions its report answers; add one with :func:`study_question`.
"""

from ganscope.study.pipeline import run_study
from ganscope.study.profiles import PROFILES, StudyDetector, StudyProfile, Variant, get_profile
from ganscope.study.questions import QUESTIONS, Answer, StudyResults, study_question

__all__ = [
    "PROFILES",
    "QUESTIONS",
    "Answer",
    "StudyDetector",
    "StudyProfile",
    "StudyResults",
    "Variant",
    "get_profile",
    "run_study",
    "study_question",
]
