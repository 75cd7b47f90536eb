"""ai-openness-events: a dataset of who opened or closed which AI model, when, under
which licence and according to which article, and the pipeline that builds it."""

__version__ = "0.1.0"
from pipeline.load import LoadError, load  # noqa: E402,F401  (stdlib imports only: cheap, no GiNZA)
