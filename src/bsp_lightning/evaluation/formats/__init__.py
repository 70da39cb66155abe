"""The prediction formats of docs/design.md ("Predictions on disk"), one object per task.

Each object (:data:`DETECTION`, :data:`GROUNDING`, :data:`ACTIONNESS`, :data:`PROPOSALS`; :data:`FORMATS` by name)
merges the prediction items of a head's test loop into the task's predictions object (``merge``), writes it
atomically in the official format (``write``), reads a file back (``read``) and names the task's metrics
(``metric_names``). The readers and writers are also plain functions, as users and notebooks call them:

* detection, the ActivityNet results JSON: :func:`read_detections` / :func:`write_detections`
  (:mod:`.detection`);
* grounding, a JSON list of query records: :func:`read_grounding` / :func:`write_grounding` (:mod:`.grounding`);
* actionness, ``{video_id: [score per 0.2 s segment]}``: :func:`read_actionness` / :func:`write_actionness`
  (:mod:`.actionness`);
* proposals, ``{"results": {video: [{"segment", "score"}]}}``: :func:`read_proposals` / :func:`write_proposals`
  (:mod:`.proposals`).

Writers validate what they write, write one video or query per line (grep- and diff-friendly) and replace the file
atomically, so a reader never sees half a file. Readers raise :class:`~bsp_lightning.evaluation.EvaluationInputError`
(``PATH: problem``) on unusable input and accept files *without predictions* (``"results": {}``, ``[]``, ``{}``):
scoring those is the caller's decision (``bsp-lightning evaluate`` scores them 0 and warns, as the official
ActivityNet code does).
"""

from bsp_lightning.evaluation.formats.actionness import (
    ACTIONNESS,
    PROTOCOL_KEY,
    ActionnessFormat,
    ActionnessScores,
    read_actionness,
    write_actionness,
)
from bsp_lightning.evaluation.formats.detection import (
    DETECTION,
    ActivityNetPredictions,
    DetectionFormat,
    Detections,
    read_detections,
    write_detections,
)
from bsp_lightning.evaluation.formats.grounding import (
    GROUNDING,
    GROUNDING_KEYS,
    GroundingFormat,
    read_grounding,
    read_grounding_predictions,
    write_grounding,
)
from bsp_lightning.evaluation.formats.proposals import PROPOSALS, ProposalsFormat, read_proposals, write_proposals

#: Format object by name.
FORMATS = {"detection": DETECTION, "grounding": GROUNDING, "actionness": ACTIONNESS, "proposals": PROPOSALS}
#: The tasks a head can have: the prediction format it writes.
TASKS = ("detection", "grounding", "actionness")

__all__ = [
    "ACTIONNESS",
    "DETECTION",
    "FORMATS",
    "GROUNDING",
    "GROUNDING_KEYS",
    "PROPOSALS",
    "PROTOCOL_KEY",
    "TASKS",
    "ActionnessFormat",
    "ActionnessScores",
    "ActivityNetPredictions",
    "DetectionFormat",
    "Detections",
    "GroundingFormat",
    "ProposalsFormat",
    "read_actionness",
    "read_detections",
    "read_grounding",
    "read_grounding_predictions",
    "read_proposals",
    "write_actionness",
    "write_detections",
    "write_grounding",
    "write_proposals",
]
