"""End-to-end experiments that combine the rest of ganscope, as named stages with hashed caches.

- :func:`run_study`: the upsampling study (:mod:`ganscope.study.stages`, cached by
  :class:`~ganscope.study.cache.StageCache`), with its report; :func:`run_configured_study`
  runs it with the :class:`StudySettings` of ``ganscope study``.
- :data:`QUESTIONS`: the questions its report answers; add one with :func:`study_question`.
"""

from ganscope.study.pipeline import (
    StudySettings,
    run_configured_study,
    run_study,
    study_summary,
)
from ganscope.study.profiles import PROFILES, StudyDetector, StudyProfile, Variant, get_profile
from ganscope.study.questions import QUESTIONS, Answer, StudyResults, study_question

__all__ = [
    "PROFILES",
    "QUESTIONS",
    "Answer",
    "StudyDetector",
    "StudyProfile",
    "StudyResults",
    "StudySettings",
    "Variant",
    "get_profile",
    "run_configured_study",
    "run_study",
    "study_question",
    "study_summary",
]
