"""Following authors and series: `/follow` and the new-release check.

`FollowService` stores who follows what; `ReleaseChecker` asks the catalog
about every followed target within a budget and queues one message per
follower for what is new; `Target` is an author or series by ASIN or name.
"""

from core.follow.check import CheckReport, ReleaseChecker, news, work_key
from core.follow.service import MAX_FOLLOWS, FollowService
from core.follow.targets import Candidate, Target, normalise_name

__all__ = [
    "MAX_FOLLOWS",
    "Candidate",
    "CheckReport",
    "FollowService",
    "ReleaseChecker",
    "Target",
    "news",
    "normalise_name",
    "work_key",
]
