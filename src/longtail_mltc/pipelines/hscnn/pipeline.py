"""hscnn pipeline.

Until the Hybrid-Siamese issue lands, ``kedro run --pipeline=hscnn`` runs the chain every
HSCNN run starts with (METHODS §1.6 step 1): ingestion → features → label_stats → single.
"""

from kedro.pipeline import Pipeline

from ..features import create_pipeline as features
from ..ingestion import create_pipeline as ingestion
from ..label_stats import create_pipeline as label_stats
from ..single import create_pipeline as single


def create_pipeline(**kwargs) -> Pipeline:
    return ingestion() + features() + label_stats() + single()
